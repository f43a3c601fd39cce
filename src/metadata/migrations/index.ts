// The numbered migrations, in order. Add a file NNNN-name.ts and list it here; never edit one
// that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
