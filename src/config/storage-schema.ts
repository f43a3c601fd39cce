// The storage section of the configuration schema: where blobs live (the filesystem, or
// S3-compatible object storage), redirects, deletes, the upload purge and read-only mode.
import path from 'node:path';
import { z } from 'zod';
import { duration, section, setting } from './setting.js';

export interface StorageConfig {
  filesystem: { rootdirectory: string };
  /** Present when blobs live in S3-compatible object storage instead of the filesystem. */
  s3: S3StorageConfig | undefined;
  redirect: { disable: boolean };
  delete: { enabled: boolean };
  maintenance: {
    uploadpurging: { enabled: boolean; ageMs: number; intervalMs: number; dryrun: boolean };
    /** Read-only mode from the file: writes refused whatever the runtime switch says. */
    readonly: { enabled: boolean };
  };
}

export interface S3StorageConfig {
  region: string;
  regionendpoint: string | undefined;
  bucket: string;
  rootdirectory: string | undefined;
  accesskey: string | undefined;
  secretkey: string | undefined;
  forcepathstyle: boolean;
  chunksize: number;
  encrypt: boolean;
}

export const storageSection = section({
  filesystem: section({
    rootdirectory: setting(z.string().min(1).default('./data'), {
      kind: 'string',
      origin: 'distribution',
      description: 'Directory that holds blobs and upload data; a relative path is resolved against the working directory.',
      expected: 'a directory path',
      defaultText: './data',
    }),
  }),
  s3: z
    .strictObject({
      region: setting(z.string().min(1).default('us-east-1'), {
        kind: 'string',
        origin: 'distribution',
        description: 'AWS region of the bucket (any value for most S3-compatible services).',
        expected: 'a region name',
        defaultText: 'us-east-1',
      }),
      regionendpoint: setting(z.url().optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'Endpoint URL of an S3-compatible service (Ceph RGW, MinIO, ...); unset for AWS S3.',
        expected: 'a URL such as http://127.0.0.1:7480',
        defaultText: 'none',
      }),
      bucket: setting(z.string().min(3), {
        kind: 'string',
        origin: 'distribution',
        description: 'Bucket that holds the blobs (required when storage.s3 is used).',
        expected: 'a bucket name',
        defaultText: 'none (required)',
      }),
      rootdirectory: setting(z.string().optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'Key prefix inside the bucket, so several registries can share one bucket.',
        expected: 'a key prefix such as registry/',
        defaultText: 'none',
      }),
      accesskey: setting(z.string().min(1).optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'Access key id; unset to use the AWS SDK default chain (AWS_ACCESS_KEY_ID, profiles, instance roles).',
        expected: 'an access key id',
        defaultText: 'none',
      }),
      secretkey: setting(z.string().min(1).optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'Secret access key; unset to use the AWS SDK default chain.',
        expected: 'a secret key',
        defaultText: 'none',
      }),
      forcepathstyle: setting(z.boolean().default(false), {
        kind: 'boolean',
        origin: 'distribution',
        description: 'Path-style URLs (endpoint/bucket/key) instead of virtual-host style; most S3-compatible services need true.',
        expected: 'true or false',
        defaultText: 'false',
      }),
      chunksize: setting(
        z
          .int()
          .min(5 * 1024 * 1024)
          .default(10 * 1024 * 1024),
        {
          kind: 'integer',
          origin: 'distribution',
          description: 'Multipart upload part size in bytes (at least 5 MiB); also bounds the memory each upload uses.',
          expected: 'a whole number of bytes, at least 5242880',
          defaultText: '10485760',
        },
      ),
      encrypt: setting(z.boolean().default(false), {
        kind: 'boolean',
        origin: 'distribution',
        description: 'Server-side encryption (SSE-S3, AES256) of every object written.',
        expected: 'true or false',
        defaultText: 'false',
      }),
    })
    .optional(),
  redirect: section({
    disable: setting(z.boolean().default(true), {
      kind: 'boolean',
      origin: 'distribution',
      description:
        'When false and blobs are in S3, blob GETs are answered with a redirect to a short-lived pre-signed URL, so clients download from the object store (or a CDN in front of it) directly. Unlike Distribution, Berth redirects only when asked.',
      expected: 'true or false',
      defaultText: 'true',
    }),
  }),
  delete: section({
    enabled: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'distribution',
      description: 'Allows deleting manifests, tags and blobs through the API; when false those requests get 405.',
      expected: 'true or false',
      defaultText: 'false',
    }),
  }),
  maintenance: section({
    uploadpurging: section({
      enabled: setting(z.boolean().default(true), {
        kind: 'boolean',
        origin: 'distribution',
        description: 'Periodically removes upload sessions that were started but not finished.',
        expected: 'true or false',
        defaultText: 'true',
      }),
      age: duration({
        defaultText: '168h',
        minMs: 1,
        minText: '1ms',
        info: { origin: 'distribution', description: 'An unfinished upload older than this is removed.' },
      }),
      interval: duration({
        defaultText: '24h',
        minMs: 1,
        minText: '1ms',
        info: { origin: 'distribution', description: 'How often the purge runs.' },
      }),
      dryrun: setting(z.boolean().default(false), {
        kind: 'boolean',
        origin: 'distribution',
        description: 'Logs what the purge would remove without removing it.',
        expected: 'true or false',
        defaultText: 'false',
      }),
    }),
    readonly: section({
      enabled: setting(z.boolean().default(false), {
        kind: 'boolean',
        origin: 'distribution',
        description:
          'Read-only mode: pulls work, every write to /v2/ gets 405 UNSUPPORTED. True here keeps the registry read-only whatever the runtime switch (`berth maintenance readonly`, the admin API) says; false leaves it to that switch.',
        expected: 'true or false',
        defaultText: 'false',
      }),
    }),
  }),
});

/** With the blob root resolved against the working directory. */
export function toStorageConfig(storage: z.output<typeof storageSection>, cwd: string): StorageConfig {
  const purging = storage.maintenance.uploadpurging;
  return {
    filesystem: { rootdirectory: path.resolve(cwd, storage.filesystem.rootdirectory) },
    s3: storage.s3 && {
      region: storage.s3.region,
      regionendpoint: storage.s3.regionendpoint,
      bucket: storage.s3.bucket,
      rootdirectory: storage.s3.rootdirectory,
      accesskey: storage.s3.accesskey,
      secretkey: storage.s3.secretkey,
      forcepathstyle: storage.s3.forcepathstyle,
      chunksize: storage.s3.chunksize,
      encrypt: storage.s3.encrypt,
    },
    redirect: { disable: storage.redirect.disable },
    delete: { enabled: storage.delete.enabled },
    maintenance: {
      uploadpurging: {
        enabled: purging.enabled,
        ageMs: purging.age,
        intervalMs: purging.interval,
        dryrun: purging.dryrun,
      },
      readonly: { enabled: storage.maintenance.readonly.enabled },
    },
  };
}
