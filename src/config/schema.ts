// The one configuration schema: every key Berth reads, its type, default, and whether it is
// CNCF Distribution's key or Berth's own. The YAML loader, the environment overrides, the JSON
// Schema export and the docs test all walk this schema, so a key added here is known everywhere.
import path from 'node:path';
import { z } from 'zod';
import { ALL_INTERFACES, parseListenAddress } from './addr.js';
import { proxyIssues, proxySection, toProxyConfig, type ProxyConfig } from './proxy-schema.js';
import { authIssues, authSection, http2Section, tlsSection, toAuthConfig, toTlsConfig, type AuthConfig, type TlsConfig } from './security-schema.js';
import { duration, expectedGot, section, setting, settingInfo, type SettingInfo } from './setting.js';

export { describeValue, expectedGot, settingInfo, type SettingInfo, type SettingKind } from './setting.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** The validated configuration the rest of Berth uses. */
export interface Config {
  version: string;
  log: { level: LogLevel; accesslog: { disabled: boolean } };
  http: {
    addr: { host: string; port: number };
    host: string | undefined;
    secret: string | undefined;
    draintimeoutMs: number;
    /** Present when the registry serves HTTPS. */
    tls: TlsConfig | undefined;
    http2: { disabled: boolean };
  };
  auth: AuthConfig;
  /** Upstream registries cached by the pull-through cache; none: a plain registry. */
  proxy: ProxyConfig;
  storage: {
    filesystem: { rootdirectory: string };
    /** Present when blobs live in S3-compatible object storage instead of the filesystem. */
    s3: S3StorageConfig | undefined;
    redirect: { disable: boolean };
    delete: { enabled: boolean };
    maintenance: { uploadpurging: { enabled: boolean; ageMs: number; intervalMs: number; dryrun: boolean } };
  };
  validation: {
    manifests: { indexes: { platforms: IndexPlatforms; platformlist: { architecture: string; os: string }[] } };
  };
  metadata: {
    sqlite: { path: string };
    /** Present when the metadata index lives in PostgreSQL instead of SQLite. */
    postgres: { url: string; maxConnections: number; statementTimeoutMs: number } | undefined;
  };
  limits: {
    manifestMaxBytes: number;
    paginationMaxEntries: number;
    catalogDefaultEntries: number;
    maxTagsPerPush: number;
    maxConcurrentRequests: number;
    idleTimeoutMs: number;
    headersTimeoutMs: number;
    bodyMemoryBytes: number;
    bodyTimeoutMs: number;
    bodyMinRate: number;
  };
  /** Accepted-but-ignored Distribution keys and other non-fatal remarks, one line each. */
  warnings: string[];
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

/** validation.manifests.indexes.platforms: which child manifests of a pushed index must exist. */
export type IndexPlatforms = 'all' | 'none' | 'list';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic', 'silent'] as const;
// Distribution (logrus) spells two levels differently from pino.
const LOG_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { warning: 'warn', panic: 'fatal' };

const HTTP_HOST_EXPECTED = 'an absolute http(s) URL such as https://registry.example.com';

const fileSchema = z.strictObject({
  version: setting(
    z
      .union([z.literal('0.1'), z.literal(0.1)])
      .transform(() => '0.1')
      .prefault('0.1'),
    {
      kind: 'string',
      origin: 'distribution',
      description: 'Configuration format version. Only "0.1" exists.',
      expected: '"0.1"',
      defaultText: '0.1',
    },
  ),
  log: section({
    level: setting(
      z
        .enum(LOG_LEVELS)
        .transform((level): LogLevel => LOG_LEVEL_ALIASES[level] ?? (level as LogLevel))
        .prefault('info'),
      {
        kind: 'enum',
        origin: 'distribution',
        description:
          'Least severe level that is logged: trace, debug, info, warn, error, fatal or silent ("warning" and "panic" are accepted as Distribution writes them).',
        expected: 'one of trace, debug, info, warn, error, fatal, silent',
        defaultText: 'info',
      },
    ),
    accesslog: section({
      disabled: setting(z.boolean().default(false), {
        kind: 'boolean',
        origin: 'distribution',
        description: 'Turns off the access log line written for every request.',
        expected: 'true or false',
        defaultText: 'false',
      }),
    }),
  }),
  http: section({
    addr: setting(
      z
        .string()
        .transform((text, ctx) => {
          const parsed = parseListenAddress(text);
          if ('error' in parsed) {
            ctx.issues.push({ code: 'custom', input: text, message: expectedGot('host:port', text, parsed.error) });
            return z.NEVER;
          }
          return parsed;
        })
        .prefault(':5000'),
      {
        kind: 'string',
        origin: 'distribution',
        description: `Address to listen on, "host:port". ":5000" listens on every interface (${ALL_INTERFACES}); port 0 picks a free port.`,
        expected: 'host:port',
        defaultText: ':5000',
      },
    ),
    host: setting(
      z
        .string()
        .transform((text, ctx) => {
          const url = URL.canParse(text) ? new URL(text) : undefined;
          const problem =
            url === undefined
              ? undefined
              : url.protocol !== 'http:' && url.protocol !== 'https:'
                ? 'the scheme must be http or https'
                : url.search !== '' || url.hash !== ''
                  ? 'a query or fragment is not allowed'
                  : url.username !== '' || url.password !== ''
                    ? 'credentials are not allowed'
                    : null;
          if (url === undefined || problem !== null) {
            ctx.issues.push({ code: 'custom', input: text, message: expectedGot(HTTP_HOST_EXPECTED, text, problem ?? undefined) });
            return z.NEVER;
          }
          // Without a trailing slash, so callers can append "/v2/...".
          return text.replace(/\/+$/, '');
        })
        .optional(),
      {
        kind: 'string',
        origin: 'distribution',
        description:
          'External base URL of the registry, used to build absolute URLs (such as Location headers) when Berth runs behind a proxy or load balancer.',
        expected: HTTP_HOST_EXPECTED,
        defaultText: 'none',
      },
    ),
    secret: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'distribution',
      description:
        'Secret for signing data that clients hand back to the registry (Distribution signs upload state with it). Give every replica the same value.',
      expected: 'a non-empty string',
      defaultText: 'none',
    }),
    draintimeout: duration({
      defaultText: '60s',
      minMs: 0,
      minText: '0s',
      info: {
        origin: 'distribution',
        description: 'On SIGTERM, how long to wait for requests in flight to finish before closing connections.',
      },
    }),
    tls: tlsSection,
    http2: http2Section,
  }),
  auth: authSection,
  proxy: proxySection,
  storage: section({
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
        chunksize: setting(z.int().min(5 * 1024 * 1024).default(10 * 1024 * 1024), {
          kind: 'integer',
          origin: 'distribution',
          description: 'Multipart upload part size in bytes (at least 5 MiB); also bounds the memory each upload uses.',
          expected: 'a whole number of bytes, at least 5242880',
          defaultText: '10485760',
        }),
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
    }),
  }),
  validation: section({
    manifests: section({
      indexes: section({
        platforms: setting(z.enum(['all', 'none', 'list']).prefault('all'), {
          kind: 'enum',
          origin: 'distribution',
          description:
            'Which child manifests of a pushed index (or Docker manifest list) must already be in the repository: all; none (an index may name children the registry does not hold, as a mirror that keeps only some platforms needs); or list (only children whose platform matches an entry of validation.manifests.indexes.platformlist; an empty list means all, as in Distribution). A pull of a child that is not there gets 404.',
          expected: 'one of all, none, list',
          defaultText: 'all',
        }),
        platformlist: setting(
          z.array(z.strictObject({ architecture: z.string().min(1), os: z.string().min(1) })).default([]),
          {
            kind: 'structured',
            origin: 'distribution',
            description:
              'With platforms: list, the platforms whose children must exist, each {architecture, os} (compared with the child descriptor\'s platform; a variant is not compared, and a child without a platform is not required).',
            expected: 'a list such as [{architecture: amd64, os: linux}]',
            defaultText: 'none',
          },
        ),
      }),
    }),
  }),
  metadata: section({
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
  }),
  limits: z
    .strictObject({
      manifestmaxbytes: setting(z.int().min(1).default(4 * 1024 * 1024), {
        kind: 'integer',
        origin: 'berth',
        description: 'Largest manifest accepted on push, in bytes; a larger manifest is refused.',
        expected: 'a whole number of bytes, at least 1',
        defaultText: '4194304',
      }),
      paginationmaxentries: setting(z.int().min(1).default(1000), {
        kind: 'integer',
        origin: 'berth',
        description: 'Largest page size (n) a client may ask for on the catalog and tag list; a larger n gets 400.',
        expected: 'a whole number, at least 1',
        defaultText: '1000',
      }),
      catalogdefaultentries: setting(z.int().min(1).default(100), {
        kind: 'integer',
        origin: 'berth',
        description: 'Page size of the catalog when the client gives no n.',
        expected: 'a whole number, at least 1',
        defaultText: '100',
      }),
      maxtagsperpush: setting(z.int().min(1).max(1000).default(16), {
        kind: 'integer',
        origin: 'berth',
        description: 'Most tags one manifest PUT may set with ?tag= parameters; more get 400.',
        expected: 'a whole number from 1 to 1000',
        defaultText: '16',
      }),
      maxconcurrentrequests: setting(z.int().min(0).default(0), {
        kind: 'integer',
        origin: 'berth',
        description:
          'Requests served at once; more get 429 TOOMANYREQUESTS with Retry-After, so an overloaded replica sheds load instead of queueing. 0 means no limit.',
        expected: 'a whole number, 0 for no limit',
        defaultText: '0',
      }),
      idletimeout: duration({
        defaultText: '2m',
        minMs: 1,
        minText: '1ms',
        info: {
          origin: 'berth',
          description:
            'A connection on which nothing is sent or received for this long is closed, so stalled clients do not hold uploads and sockets forever.',
        },
      }),
      headerstimeout: duration({
        defaultText: '30s',
        minMs: 1,
        minText: '1ms',
        info: { origin: 'berth', description: 'Time a client has to send the complete request headers.' },
      }),
      bodymemory: setting(z.int().min(1024 * 1024).default(128 * 1024 * 1024), {
        kind: 'integer',
        origin: 'berth',
        description:
          'Most bytes the registry holds in memory for requests at once, all requests together: manifests and admin or token bodies being received, chunks checked before they are stored, upload staging buffers. A request that needs more gets 429 TOOMANYREQUESTS with Retry-After.',
        expected: 'a whole number of bytes, at least 1048576 and at least limits.manifestmaxbytes',
        defaultText: '134217728',
      }),
      bodytimeout: duration({
        defaultText: '30s',
        minMs: 1,
        minText: '1ms',
        info: {
          origin: 'berth',
          description:
            'Period over which a request body must keep arriving at limits.bodyminrate; a slower body is cut off with 408 and its connection closed.',
        },
      }),
      bodyminrate: setting(z.int().min(0).default(1024), {
        kind: 'integer',
        origin: 'berth',
        description: 'Bytes a second a request body must average over each limits.bodytimeout; 0: any byte in the period will do.',
        expected: 'a whole number of bytes a second, 0 or more',
        defaultText: '1024',
      }),
    })
    .superRefine((limits, ctx) => {
      if (limits.bodymemory < limits.manifestmaxbytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['bodymemory'],
          input: limits.bodymemory,
          message: expectedGot(`at least limits.manifestmaxbytes (${limits.manifestmaxbytes})`, limits.bodymemory),
        });
      }
      if (limits.catalogdefaultentries > limits.paginationmaxentries) {
        ctx.addIssue({
          code: 'custom',
          path: ['catalogdefaultentries'],
          input: limits.catalogdefaultentries,
          message: expectedGot(
            `at most limits.paginationmaxentries (${limits.paginationmaxentries})`,
            limits.catalogdefaultentries,
          ),
        });
      }
    })
    .prefault({}),
}).superRefine((file, ctx) => {
  for (const issue of [...authIssues(file.auth), ...proxyIssues(file.proxy)]) {
    ctx.addIssue({ code: 'custom', path: issue.path, input: undefined, message: issue.message });
  }
});

/** The configuration file's schema (input: what YAML holds; output: validated, defaults applied). */
export const configFileSchema = fileSchema;
export type ConfigFile = z.output<typeof fileSchema>;

/**
 * Distribution keys that Berth accepts but does not implement yet. A key listed here, and
 * anything below it, is dropped with a warning instead of failing start-up, so an existing
 * registry:2 config.yml still loads. The note says what the user should know about it.
 */
export const IGNORED_KEYS: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ['loglevel', 'deprecated in Distribution; use log.level'],
  ['log.formatter', 'logs are JSON lines'],
  ['log.fields', undefined],
  ['log.hooks', undefined],
  ['log.reportcaller', undefined],
  ['auth.silly', 'a development-only method; use auth.htpasswd'],
  ['auth.token.autoredirect', undefined],
  ['auth.token.autoredirectpath', undefined],
  ['auth.token.signingalgorithms', 'ES256, ES384, RS256, RS384, RS512, PS256 and EdDSA are accepted, pinned to the key type'],
  ['middleware', undefined],
  ['reporting', undefined],
  ['notifications', 'no webhooks are sent'],
  ['redis', undefined],
  ['health', undefined],
  ['validation.enabled', 'manifests are always validated; for index children see validation.manifests.indexes'],
  ['validation.disabled', 'manifests are always validated; for index children see validation.manifests.indexes'],
  ['validation.manifests.urls', undefined],
  ['compatibility', undefined],
  ['catalog', 'use limits.paginationmaxentries'],
  ['http.net', 'Berth listens on TCP'],
  ['http.prefix', undefined],
  ['http.relativeurls', undefined],
  ['http.tls.ciphersuites', "Node.js's default cipher suites are used"],
  ['http.tls.letsencrypt', 'give http.tls.certificate and http.tls.key'],
  ['http.debug', undefined],
  ['http.headers', undefined],
  ['http.h2c', undefined],
  ['storage.cache', undefined],
  ['storage.tag', undefined],
  ['storage.filesystem.maxthreads', undefined],
  ['storage.maintenance.readonly', 'the registry accepts pushes'],
  ['storage.azure', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.gcs', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.swift', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.oss', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.inmemory', 'blobs are stored in storage.filesystem.rootdirectory'],
]);

export function ignoredWarning(key: string, source: string | undefined): string {
  const note = IGNORED_KEYS.get(key);
  return `ignored: ${key} is not supported yet${note === undefined ? '' : `; ${note}`}${source === undefined ? '' : ` (${source})`}`;
}

// ---- Walking the schema --------------------------------------------------------------------

export interface SettingNode {
  type: 'setting';
  path: readonly string[];
  /** Dotted key path as written in docs and messages, e.g. "http.addr". */
  key: string;
  info: SettingInfo;
}

export interface SectionNode {
  type: 'section';
  path: readonly string[];
  key: string;
  children: ReadonlyMap<string, SchemaNode>;
}

export type SchemaNode = SettingNode | SectionNode;

function unwrapToObject(schema: z.ZodType): z.ZodObject | undefined {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodObject) return current;
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
      current = current.unwrap() as z.ZodType;
    } else {
      return undefined;
    }
  }
}

function buildNode(schema: z.ZodType, nodePath: readonly string[]): SchemaNode {
  const key = nodePath.join('.');
  const info = settingInfo.get(schema);
  if (info !== undefined) return { type: 'setting', path: nodePath, key, info };
  const object = unwrapToObject(schema);
  if (object === undefined) throw new Error(`config schema: ${key} is neither a setting nor a section`);
  const children = new Map<string, SchemaNode>();
  for (const [name, child] of Object.entries(object.shape)) {
    children.set(name, buildNode(child as z.ZodType, [...nodePath, name]));
  }
  return { type: 'section', path: nodePath, key, children };
}

let rootNode: SectionNode | undefined;

/** The schema as a tree of sections and settings (built once). */
export function schemaTree(): SectionNode {
  if (rootNode === undefined) {
    const node = buildNode(fileSchema, []);
    if (node.type !== 'section') throw new Error('config schema: the root must be a section');
    rootNode = node;
  }
  return rootNode;
}

/** Every setting (leaf key) in schema order. */
export function listSettings(): SettingNode[] {
  const out: SettingNode[] = [];
  const visit = (node: SchemaNode): void => {
    if (node.type === 'setting') out.push(node);
    else for (const child of node.children.values()) visit(child);
  };
  visit(schemaTree());
  return out;
}

/** Finds the node at a key path, or undefined. */
export function findNode(keyPath: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode = schemaTree();
  for (const part of keyPath) {
    if (node.type !== 'section') return undefined;
    const next = node.children.get(part);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

/** The ignored key that covers this path (the path itself or an ancestor), if any. */
export function ignoredKeyFor(keyPath: readonly string[]): string | undefined {
  for (let length = 1; length <= keyPath.length; length++) {
    const candidate = keyPath.slice(0, length).join('.');
    if (IGNORED_KEYS.has(candidate)) return candidate;
  }
  return undefined;
}

// ---- From the validated file to Config ----------------------------------------------------

/** Applies the defaults that depend on other keys or on the working directory. */
export function toConfig(file: ConfigFile, cwd: string, warnings: string[]): Config {
  const rootdirectory = path.resolve(cwd, file.storage.filesystem.rootdirectory);
  const sqlitePath = file.metadata.sqlite.path;
  const purging = file.storage.maintenance.uploadpurging;
  return {
    version: file.version,
    log: { level: file.log.level, accesslog: { disabled: file.log.accesslog.disabled } },
    http: {
      addr: file.http.addr,
      host: file.http.host,
      secret: file.http.secret,
      draintimeoutMs: file.http.draintimeout,
      tls: toTlsConfig(file.http.tls, cwd),
      http2: { disabled: file.http.http2.disabled },
    },
    auth: toAuthConfig(file.auth, cwd),
    proxy: toProxyConfig(file.proxy),
    storage: {
      filesystem: { rootdirectory },
      s3: file.storage.s3 && {
        region: file.storage.s3.region,
        regionendpoint: file.storage.s3.regionendpoint,
        bucket: file.storage.s3.bucket,
        rootdirectory: file.storage.s3.rootdirectory,
        accesskey: file.storage.s3.accesskey,
        secretkey: file.storage.s3.secretkey,
        forcepathstyle: file.storage.s3.forcepathstyle,
        chunksize: file.storage.s3.chunksize,
        encrypt: file.storage.s3.encrypt,
      },
      redirect: { disable: file.storage.redirect.disable },
      delete: { enabled: file.storage.delete.enabled },
      maintenance: {
        uploadpurging: {
          enabled: purging.enabled,
          ageMs: purging.age,
          intervalMs: purging.interval,
          dryrun: purging.dryrun,
        },
      },
    },
    validation: {
      manifests: {
        indexes: {
          platforms: file.validation.manifests.indexes.platforms,
          platformlist: file.validation.manifests.indexes.platformlist.map(({ architecture, os }) => ({ architecture, os })),
        },
      },
    },
    metadata: {
      sqlite: {
        path:
          sqlitePath === undefined
            ? path.join(rootdirectory, 'berth.db')
            : sqlitePath === ':memory:'
              ? sqlitePath
              : path.resolve(cwd, sqlitePath),
      },
      postgres: file.metadata.postgres && {
        url: file.metadata.postgres.url,
        maxConnections: file.metadata.postgres.maxconnections,
        statementTimeoutMs: file.metadata.postgres.statementtimeout,
      },
    },
    limits: {
      manifestMaxBytes: file.limits.manifestmaxbytes,
      paginationMaxEntries: file.limits.paginationmaxentries,
      catalogDefaultEntries: file.limits.catalogdefaultentries,
      maxTagsPerPush: file.limits.maxtagsperpush,
      maxConcurrentRequests: file.limits.maxconcurrentrequests,
      idleTimeoutMs: file.limits.idletimeout,
      headersTimeoutMs: file.limits.headerstimeout,
      bodyMemoryBytes: file.limits.bodymemory,
      bodyTimeoutMs: file.limits.bodytimeout,
      bodyMinRate: file.limits.bodyminrate,
    },
    warnings,
  };
}

// ---- JSON Schema ----------------------------------------------------------------------------

type JsonObject = { [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON Schema (draft 2020-12) of the YAML file, for editors and `berth config check`. Ignored
 * Distribution keys are listed as allowed (any value) so that editors do not flag them.
 */
export function configJsonSchema(): object {
  const generated: JsonObject = z.toJSONSchema(fileSchema, { io: 'input', target: 'draft-2020-12' });
  const schema: JsonObject = { $schema: generated['$schema'], title: 'Berth configuration', ...generated };
  for (const key of IGNORED_KEYS.keys()) {
    const parts = key.split('.');
    const name = parts.pop();
    let node: unknown = schema;
    for (const part of parts) {
      const properties: unknown = isJsonObject(node) ? node['properties'] : undefined;
      node = isJsonObject(properties) ? properties[part] : undefined;
    }
    const properties: unknown = isJsonObject(node) ? node['properties'] : undefined;
    if (name !== undefined && isJsonObject(properties)) {
      properties[name] = {
        description: `CNCF Distribution setting that Berth accepts and ignores (not supported yet).${
          IGNORED_KEYS.get(key) === undefined ? '' : ` Note: ${IGNORED_KEYS.get(key)}.`
        }`,
      };
    }
  }
  return schema;
}
