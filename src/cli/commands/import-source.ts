// Where `berth import distribution` finds the Distribution tree: a folder (Distribution's root
// directory, or its docker/registry/v2 folder), or Distribution's config.yml. The config.yml is
// Distribution's, not Berth's: it may hold keys Berth does not take (notifications, redis,
// storage.s3.secure, v4auth, ...), so only storage.filesystem and storage.s3 are read from it,
// as Distribution reads them, and everything else is ignored. The environment is not applied:
// REGISTRY_* variables configure Berth (they are its names too) and must not move the source.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DISTRIBUTION_BASE } from '../../registry/import/distribution-tree.js';
import type { StorageDriver } from '../../storage/driver.js';
import { FilesystemDriver } from '../../storage/filesystem/filesystem-driver.js';
import { CliError } from './cli-error.js';

/** Distribution's default storage.filesystem.rootdirectory. */
const DISTRIBUTION_DEFAULT_ROOT = '/var/lib/registry';

export interface S3Place {
  readonly bucket: string;
  readonly endpoint: string | undefined;
  /** The key prefix without leading, trailing or doubled slashes. */
  readonly root: string;
}

/** The tree: a driver rooted at Distribution's root directory, and how to name it. */
export interface DistributionSource {
  readonly storage: StorageDriver;
  /** "filesystem /var/lib/registry" or "s3 endpoint bucket/root": shown, and hashed into the source id. */
  readonly description: string;
  /** Where Berth's storage root must be for an in-place import: the tree's docker/registry/v2. */
  readonly inPlaceRoot: { readonly kind: 'filesystem'; readonly path: string } | { readonly kind: 's3'; readonly s3: S3Place };
}

export async function openDistributionSource(pathOrConfig: string): Promise<DistributionSource> {
  const info = await stat(pathOrConfig).catch(() => undefined);
  if (!info) throw new CliError(`${pathOrConfig}: no such file or folder`);
  if (info.isDirectory()) {
    let root = resolve(pathOrConfig);
    if (root.endsWith(`/${DISTRIBUTION_BASE}`)) root = dirname(dirname(dirname(root)));
    else if (basename(root) === 'docker' && (await isDirectory(join(root, 'registry', 'v2')))) root = dirname(root);
    return filesystemSource(root);
  }
  let document: unknown;
  try {
    document = parseYaml(await readFile(pathOrConfig, 'utf8'));
  } catch (error) {
    throw new CliError(`${pathOrConfig}: not a YAML configuration (${error instanceof Error ? error.message : String(error)})`);
  }
  const storage = field(document, 'storage');
  const s3 = field(storage, 's3');
  if (s3 !== undefined) return s3Source(pathOrConfig, s3);
  const root = field(field(storage, 'filesystem'), 'rootdirectory');
  if (root !== undefined && typeof root !== 'string')
    throw new CliError(`${pathOrConfig}: storage.filesystem.rootdirectory must be a string`);
  // Relative to the working directory, as Distribution would take it.
  return filesystemSource(resolve(root ?? DISTRIBUTION_DEFAULT_ROOT));
}

function filesystemSource(root: string): DistributionSource {
  return {
    storage: new FilesystemDriver({ rootDirectory: root }),
    description: `filesystem ${root}`,
    inPlaceRoot: { kind: 'filesystem', path: join(root, DISTRIBUTION_BASE) },
  };
}

/** storage.s3 of a Distribution config.yml (2.8 or 3.0), opened with Berth's S3 driver. */
async function s3Source(file: string, s3: unknown): Promise<DistributionSource> {
  const text = (key: string): string | undefined => {
    const value = field(s3, key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new CliError(`${file}: storage.s3.${key} must be a string`);
    return value;
  };
  const flag = (key: string): boolean | undefined => {
    const value = field(s3, key);
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new CliError(`${file}: storage.s3.${key} must be true or false`);
  };
  const bucket = text('bucket');
  if (bucket === undefined) throw new CliError(`${file}: storage.s3.bucket is missing`);
  const region = text('region') ?? 'us-east-1';
  let endpoint = text('regionendpoint');
  // Distribution takes "host:port" too, with http or https from `secure` (default true).
  if (endpoint !== undefined && !endpoint.includes('://')) endpoint = `${(flag('secure') ?? true) ? 'https' : 'http'}://${endpoint}`;
  // 2.8 always used path-style URLs with a regionendpoint; 3.0 has forcepathstyle.
  const forcePathStyle = flag('forcepathstyle') ?? endpoint !== undefined;
  const root = normalizeS3Root(text('rootdirectory') ?? '');
  const accessKeyId = text('accesskey');
  const secretAccessKey = text('secretkey');
  const { S3Driver } = await import('../../storage/s3/s3-driver.js');
  const storage = new S3Driver({
    bucket,
    region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    forcePathStyle,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : {}),
    ...(root !== '' ? { rootDirectory: root } : {}),
  });
  return {
    storage,
    description: `s3 ${endpoint ?? region} ${bucket}/${root}`,
    inPlaceRoot: { kind: 's3', s3: { bucket, endpoint, root: normalizeS3Root(`${root}/${DISTRIBUTION_BASE}`) } },
  };
}

/** "/registry//v2/" and "registry/v2" name the same S3 prefix. */
export function normalizeS3Root(root: string): string {
  return root.split('/').filter(Boolean).join('/');
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
