// `berth migrate`: copies a whole registry from one configuration to another (typically a
// single node on filesystem + SQLite to S3 + PostgreSQL). Blobs first, streamed from the source
// driver to the target driver and hashed on the way, so a corrupt or truncated source blob stops
// the migration naming its digest; blobs already in the target with the right size are skipped,
// so an interrupted run can be repeated. Then the index, with copyMetadata, in one transaction
// on an empty target. The source must not take pushes meanwhile (stopped or read-only).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { PathNotFoundError } from '../errors/index.js';
import { assertEmptyTarget, copyMetadata, type CopiedTable, type RowCounts } from '../metadata/copy.js';
import { MetadataStore, openSqlite, type MetadataDatabase } from '../metadata/index.js';
import { Digest } from '../oci/index.js';
import { blobKey } from '../registry/paths.js';
import type { StorageDriver } from '../storage/driver.js';
import { openStorage } from './build-app.js';

export type MigrateProgress =
  | {
      readonly phase: 'blobs';
      /** Blobs finished (copied or skipped) so far, of total. */
      readonly done: number;
      readonly total: number;
      /** Bytes of finished blobs and of the blob in progress, of totalBytes. */
      readonly bytes: number;
      readonly totalBytes: number;
    }
  | { readonly phase: 'metadata'; readonly table: CopiedTable; readonly copied: number; readonly total: number };

export interface MigrateOptions {
  /** Hash every blob while copying it and compare with its digest (size is always compared). */
  readonly verify: boolean;
  readonly onProgress?: ((progress: MigrateProgress) => void) | undefined;
}

export interface MigrateSummary {
  readonly blobsCopied: number;
  /** Blobs already in the target with the right size (an earlier, interrupted run). */
  readonly blobsSkipped: number;
  /** Bytes copied (skipped blobs not counted). */
  readonly bytesCopied: number;
  readonly rows: RowCounts;
  readonly seconds: number;
}

/** A source blob whose bytes do not match its digest or size; nothing of it is left in the target. */
export class BlobVerificationError extends Error {
  constructor(
    readonly digest: string,
    detail: string,
  ) {
    super(`blob ${digest} in the source does not match its index entry: ${detail}; migration aborted`);
    this.name = 'BlobVerificationError';
  }
}

const BATCH = 500;

/** The metadata database of a configuration, opened as buildApp opens it. */
async function openMetadata(config: Config): Promise<MetadataDatabase> {
  const postgres = config.metadata.postgres;
  if (postgres) {
    const { openPostgres } = await import('../metadata/postgres.js');
    return openPostgres(postgres.url, { max: postgres.maxConnections, statementTimeoutMs: postgres.statementTimeoutMs });
  }
  return openSqlite(config.metadata.sqlite.path);
}

function describeStorage(config: Config): string {
  const s3 = config.storage.s3;
  return s3
    ? `s3 ${s3.regionendpoint ?? ''} ${s3.bucket}/${s3.rootdirectory ?? ''}`
    : `filesystem ${resolve(config.storage.filesystem.rootdirectory)}`;
}

function describeMetadata(config: Config): string {
  const postgres = config.metadata.postgres;
  return postgres ? `postgres ${postgres.url}` : `sqlite ${resolve(config.metadata.sqlite.path)}`;
}

function checkConfigs(from: Config, to: Config): void {
  if (describeStorage(from) === describeStorage(to)) throw new Error('--from and --to name the same blob storage');
  if (describeMetadata(from) === describeMetadata(to)) throw new Error('--from and --to name the same metadata database');
  const sqlite = from.metadata.sqlite.path;
  // openSqlite would create an empty database, and the migration would copy nothing.
  if (!from.metadata.postgres && (sqlite === ':memory:' || !existsSync(sqlite))) {
    throw new Error(`the source metadata database ${sqlite} does not exist`);
  }
}

async function existingSize(driver: StorageDriver, key: string): Promise<number | undefined> {
  try {
    const info = await driver.stat(key);
    return info.isDirectory ? undefined : info.size;
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/**
 * Streams one blob from source to target, hashing it. The target writer is committed only when
 * the bytes match the digest (with verify) and the size; otherwise it is cancelled, so the
 * target never keeps bytes that do not match their address.
 */
async function copyBlob(
  source: StorageDriver,
  target: StorageDriver,
  digest: Digest,
  size: number,
  verify: boolean,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const key = blobKey(digest);
  const name = digest.toString();
  let reader: Awaited<ReturnType<typeof source.reader>>;
  try {
    reader = await source.reader(key);
  } catch (error) {
    if (error instanceof PathNotFoundError) throw new BlobVerificationError(name, 'its bytes are missing from the source storage');
    throw error;
  }
  const hash = verify ? createHash(digest.algorithm) : undefined;
  const writer = await target.writer(key, { append: false });
  let written = 0;
  try {
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      hash?.update(chunk);
      await writer.write(chunk);
      written += chunk.length;
      onBytes(written);
    }
    if (written !== size) throw new BlobVerificationError(name, `read ${written} bytes, the index says ${size}`);
    if (hash) {
      const actual = Digest.fromHash(digest.algorithm, hash);
      if (!actual.equals(digest)) throw new BlobVerificationError(name, `its bytes hash to ${actual.toString()}`);
    }
    await writer.commit();
  } catch (error) {
    reader.destroy();
    await writer.cancel().catch(() => undefined);
    throw error;
  }
  const stored = await existingSize(target, key);
  if (stored !== size)
    throw new Error(`blob ${name}: the target storage holds ${stored ?? 'nothing'} bytes after the copy, expected ${size}`);
}

/** Copies the blobs and the index of `from` into `to`; see the module comment. */
export async function migrate(from: Config, to: Config, options: MigrateOptions): Promise<MigrateSummary> {
  const started = performance.now();
  checkConfigs(from, to);
  const onProgress = options.onProgress ?? (() => undefined);
  const sourceStorage = await openStorage(from);
  const targetStorage = await openStorage(to);
  const sourceDb = await openMetadata(from);
  let targetDb: MetadataDatabase | undefined;
  try {
    targetDb = await openMetadata(to);
    // Before any byte is copied: a target that cannot be migrated, or already holds a registry,
    // fails now rather than after hours of blobs.
    await new MetadataStore(targetDb).migrate();
    await assertEmptyTarget(targetDb);

    const totals = await sourceDb
      .selectFrom('blobs')
      .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.sum<number | string | null>('size').as('bytes')])
      .executeTakeFirstOrThrow();
    const total = Number(totals.count);
    const totalBytes = Number(totals.bytes ?? 0);
    let done = 0;
    let bytes = 0;
    let blobsCopied = 0;
    let blobsSkipped = 0;
    let bytesCopied = 0;
    onProgress({ phase: 'blobs', done, total, bytes, totalBytes });
    let after: string | undefined;
    for (;;) {
      let query = sourceDb.selectFrom('blobs').select(['digest', 'size']).orderBy('digest').limit(BATCH);
      if (after !== undefined) query = query.where('digest', '>', after);
      const rows = await query.execute();
      for (const row of rows) {
        const size = Number(row.size);
        const parsed = Digest.tryParse(row.digest);
        if (typeof parsed === 'string') throw new Error(`the source index has an invalid blob digest "${row.digest}": ${parsed}`);
        if ((await existingSize(targetStorage, blobKey(parsed))) === size) {
          blobsSkipped++;
        } else {
          await copyBlob(sourceStorage, targetStorage, parsed, size, options.verify, (written) =>
            onProgress({ phase: 'blobs', done, total, bytes: bytes + written, totalBytes }),
          );
          blobsCopied++;
          bytesCopied += size;
        }
        done++;
        bytes += size;
        onProgress({ phase: 'blobs', done, total, bytes, totalBytes });
      }
      const last = rows.at(-1);
      if (!last || rows.length < BATCH) break;
      after = last.digest;
    }

    const rows = await copyMetadata(sourceDb, targetDb, {
      batchSize: BATCH,
      onProgress: (progress) => onProgress({ phase: 'metadata', ...progress }),
    });
    return { blobsCopied, blobsSkipped, bytesCopied, rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await sourceDb.destroy().catch(() => undefined);
    await targetDb?.destroy().catch(() => undefined);
  }
}
