// The pure OCI domain: digests, names, media types, descriptors and manifests. No I/O.
export * from './digest.js';
export * from './names.js';
export * from './media-types.js';
export * from './descriptor.js';
export * from './manifest.js';
export * from './range.js';
