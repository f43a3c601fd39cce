// The metadata section of the configuration schema: the index in a SQLite file (by default
// beside the blobs) or in PostgreSQL.
import path from 'node:path';
import { z } from 'zod';
import { duration, section, setting } from './setting.js';

export interface MetadataConfig {
  sqlite: { path: string };
  /** Present when the metadata index lives in PostgreSQL instead of SQLite. */
  postgres: { url: string; maxConnections: number; statementTimeoutMs: number } | undefined;
}

export const metadataSection = section({
  sqlite: section({
    path: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description:
        'SQLite database file for the metadata index; a relative path is resolved against the working directory. ":memory:" keeps it in memory (tests only).',
      expected: 'a file path',
      defaultText: '<storage.filesystem.rootdirectory>/berth.db',
    }),
  }),
  postgres: z
    .strictObject({
      url: setting(z.string().regex(/^postgres(ql)?:\/\//), {
        kind: 'string',
        origin: 'berth',
        description:
          'PostgreSQL connection URL; when set, the metadata index lives in PostgreSQL (required for several replicas). Keep the password out of the file: use BERTH_METADATA_POSTGRES_URL.',
        expected: 'a URL such as postgres://berth:secret@db:5432/berth',
        defaultText: 'none',
      }),
      maxconnections: setting(z.int().min(1).default(10), {
        kind: 'integer',
        origin: 'berth',
        description: 'Connections in the pool of each replica.',
        expected: 'a whole number, at least 1',
        defaultText: '10',
      }),
      statementtimeout: duration({
        defaultText: '30s',
        minMs: 1,
        minText: '1ms',
        info: { origin: 'berth', description: 'A query running longer than this is cancelled.' },
      }),
    })
    .optional(),
});

/** The SQLite file defaults to berth.db in the (resolved) blob root; other paths resolve against the working directory. */
export function toMetadataConfig(metadata: z.output<typeof metadataSection>, cwd: string, rootdirectory: string): MetadataConfig {
  const sqlitePath = metadata.sqlite.path;
  return {
    sqlite: {
      path:
        sqlitePath === undefined
          ? path.join(rootdirectory, 'berth.db')
          : sqlitePath === ':memory:'
            ? sqlitePath
            : path.resolve(cwd, sqlitePath),
    },
    postgres: metadata.postgres && {
      url: metadata.postgres.url,
      maxConnections: metadata.postgres.maxconnections,
      statementTimeoutMs: metadata.postgres.statementtimeout,
    },
  };
}
