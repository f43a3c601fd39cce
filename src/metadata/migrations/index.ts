// The numbered migrations, in order. Add a file NNNN-name.ts and list it here; never edit one
// that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';
import * as manifestAnnotations from './0002-manifest-annotations.js';
import * as byteOrderCollation from './0003-byte-order-collation.js';
import * as accounts from './0004-accounts.js';
import * as pullThroughCache from './0005-pull-through-cache.js';
import * as storageLifecycle from './0006-storage-lifecycle.js';
import * as rateLimits from './0007-rate-limits.js';
import * as events from './0008-events.js';
import * as eventClaimOrder from './0009-event-claim-order.js';
import * as pullEventBatches from './0010-pull-event-batches.js';

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-manifest-annotations': manifestAnnotations,
  '0003-byte-order-collation': byteOrderCollation,
  '0004-accounts': accounts,
  '0005-pull-through-cache': pullThroughCache,
  '0006-storage-lifecycle': storageLifecycle,
  '0007-rate-limits': rateLimits,
  '0008-events': events,
  '0009-event-claim-order': eventClaimOrder,
  '0010-pull-event-batches': pullEventBatches,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
