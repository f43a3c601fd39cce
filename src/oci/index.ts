// The pure domain: digests, names, media types, descriptors, manifests, byte ranges, and the
// access actions and roles every layer names. No I/O.
export * from './digest.js';
export * from './names.js';
export * from './media-types.js';
export * from './descriptor.js';
export * from './manifest.js';
export * from './range.js';
export * from './access.js';
