// A Registry composed in-process over a temporary filesystem store and SQLite file, with the
// pull-through cache's ledger over the same, for the tests of layers above the registry (the
// pull-through cache) that may not name concrete drivers themselves. Removed with its directory
// on close().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataStore, openSqlite } from '../../metadata/index.js';
import { PullThroughLedgerService } from '../pull-through-ledger.js';
import { Registry } from '../registry.js';
import { FilesystemDriver } from '../../storage/filesystem/filesystem-driver.js';

export interface LocalRegistry {
  readonly registry: Registry;
  readonly ledger: PullThroughLedgerService;
  close(): Promise<void>;
}

export async function localRegistry(options: { deleteEnabled?: boolean } = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-local-registry-'));
  const metadata = new MetadataStore(openSqlite(join(dir, 'metadata.db')));
  await metadata.migrate();
  const storage = new FilesystemDriver({ rootDirectory: join(dir, 'blobs') });
  const registry = new Registry(storage, metadata, { deleteEnabled: options.deleteEnabled ?? true });
  return {
    registry,
    ledger: new PullThroughLedgerService(storage, metadata),
    async close() {
      await metadata.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
