// Content descriptors (OCI image spec, descriptor.md): validated from untrusted JSON.
import { Digest } from './digest.js';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: Platform;
}

export class DescriptorError extends Error {
  override name = 'DescriptorError';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates one descriptor; `where` names it in errors ("layers[2]"). */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isPlainObject(value)) throw new DescriptorError(`${where} must be an object`);
  const { mediaType, digest, size, urls, annotations, artifactType, platform } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    throw new DescriptorError(`${where}.mediaType must be a non-empty string`);
  }
  if (typeof digest !== 'string') throw new DescriptorError(`${where}.digest must be a string`);
  const parsedDigest = Digest.tryParse(digest);
  if (typeof parsedDigest === 'string') throw new DescriptorError(`${where}.digest: ${parsedDigest}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new DescriptorError(`${where}.size must be a non-negative integer`);
  }
  const descriptor: {
    mediaType: string;
    digest: Digest;
    size: number;
    urls?: string[];
    annotations?: Record<string, string>;
    artifactType?: string;
    platform?: Platform;
  } = { mediaType, digest: parsedDigest, size };
  if (urls !== undefined) {
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) {
      throw new DescriptorError(`${where}.urls must be an array of strings`);
    }
    descriptor.urls = urls as string[];
  }
  if (annotations !== undefined) descriptor.annotations = parseAnnotations(annotations, `${where}.annotations`);
  if (artifactType !== undefined) {
    if (typeof artifactType !== 'string') throw new DescriptorError(`${where}.artifactType must be a string`);
    descriptor.artifactType = artifactType;
  }
  if (platform !== undefined) {
    if (!isPlainObject(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw new DescriptorError(`${where}.platform must have string architecture and os`);
    }
    descriptor.platform = {
      architecture: platform.architecture,
      os: platform.os,
      ...(typeof platform.variant === 'string' ? { variant: platform.variant } : {}),
    };
  }
  return descriptor;
}

export function parseAnnotations(value: unknown, where: string): Record<string, string> {
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new DescriptorError(`${where} must be a map of strings`);
  }
  return value as Record<string, string>;
}
