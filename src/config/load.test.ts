// Tests for loading config.yml plus environment overrides into Config, and for the errors and
// warnings a user sees when the file is wrong or comes from CNCF Distribution.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configJsonSchema, loadConfig, parseConfig, type Config } from './index.js';

const cwd = path.resolve('/srv/berth');

/** The message of the ConfigError that parsing throws. */
function failure(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(yaml, { cwd, env, source: 'config.yml' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the configuration to be rejected');
}

const DEFAULTS: Config = {
  version: '0.1',
  log: { level: 'info', accesslog: { disabled: false, format: 'json' } },
  http: {
    addr: { host: '0.0.0.0', port: 5000 },
    host: undefined,
    secret: undefined,
    draintimeoutMs: 60_000,
    tls: undefined,
    http2: { disabled: false },
    debug: undefined,
    metrics: { access: 'open' },
  },
  auth: {
    mode: 'none',
    openAccess: false,
    htpasswd: undefined,
    tokenServer: {
      realm: undefined,
      service: 'berth',
      issuer: 'berth',
      expirationMs: 300_000,
      refreshExpirationMs: 720 * 3_600_000,
      signingKey: undefined,
    },
    externalToken: undefined,
    ldap: undefined,
    clientCertificates: undefined,
    oidc: { providers: [] },
    workloadIdentity: { issuers: [] },
    bcryptCost: 10,
    credentialCacheMs: 60_000,
    rateLimit: { attempts: 10, windowMs: 60_000 },
    access: { admins: [], rules: undefined },
  },
  proxy: { upstreams: [] },
  storage: {
    filesystem: { rootdirectory: path.join(cwd, 'data') },
    s3: undefined,
    redirect: { disable: true },
    delete: { enabled: false },
    maintenance: {
      uploadpurging: { enabled: true, ageMs: 168 * 3_600_000, intervalMs: 24 * 3_600_000, dryrun: false },
      readonly: { enabled: false },
    },
  },
  validation: { manifests: { indexes: { platforms: 'all', platformlist: [] } } },
  metadata: { sqlite: { path: path.join(cwd, 'data', 'berth.db') }, postgres: undefined },
  limits: {
    manifestMaxBytes: 4 * 1024 * 1024,
    paginationMaxEntries: 1000,
    catalogDefaultEntries: 100,
    maxTagsPerPush: 16,
    maxConcurrentRequests: 0,
    idleTimeoutMs: 120_000,
    headersTimeoutMs: 30_000,
    bodyMemoryBytes: 128 * 1024 * 1024,
    bodyTimeoutMs: 30_000,
    bodyMinRate: 1024,
  },
  immutability: [],
  ui: { enabled: true, path: '/ui', sessionLifetimeMs: 8 * 3_600_000 },
  ratelimit: {
    anonymousPulls: undefined,
    signedInPulls: undefined,
    anonymousRequests: undefined,
    signedInRequests: undefined,
    exemptUsers: [],
    exemptAddresses: [],
    trustedProxies: [],
    syncIntervalMs: 1000,
  },
  gc: { intervalMs: 0, graceMs: 3_600_000, deleteUntagged: false, dryRun: false },
  quotas: [],
  retention: { intervalMs: 0, dryRun: false, policies: [] },
  notifications: { endpoints: [], retentionMs: 168 * 3_600_000, blobPulls: false },
  audit: { enabled: true, retentionMs: 2160 * 3_600_000, pullSampling: 0 },
  warnings: [],
};

// A realistic CNCF Distribution config.yml, using most sections of its configuration reference.
const DISTRIBUTION_CONFIG = `
version: 0.1
log:
  accesslog:
    disabled: true
  level: warning
  formatter: text
  fields:
    service: registry
    environment: staging
storage:
  filesystem:
    rootdirectory: /var/lib/registry
    maxthreads: 100
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  redirect:
    disable: false
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 12h
      dryrun: false
    readonly:
      enabled: false
auth:
  htpasswd:
    realm: basic-realm
    path: /auth/htpasswd
middleware:
  registry:
    - name: ARegistryMiddleware
      options:
        foo: bar
http:
  addr: localhost:5000
  host: https://myregistryaddress.org:5000/
  secret: 0123456789
  relativeurls: false
  draintimeout: 30s
  tls:
    certificate: /path/to/x509/public
    key: /path/to/x509/private
    clientcas:
      - /path/to/ca.pem
  debug:
    addr: localhost:5001
    prometheus:
      enabled: true
      path: /metrics
  headers:
    X-Content-Type-Options: [nosniff]
  http2:
    disabled: false
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        Authorization: [Bearer abc]
      timeout: 1s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
redis:
  addr: localhost:6379
  password: asecret
  db: 0
  dialtimeout: 10ms
  pool:
    maxidle: 16
    maxactive: 64
    idletimeout: 300s
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
proxy:
  remoteurl: https://registry-1.docker.io
validation:
  disabled: false
  manifests:
    urls:
      allow:
        - ^https?://([^/]+\\.)*example\\.com/
    indexes:
      platforms: list
      platformlist:
        - architecture: amd64
          os: linux
compatibility:
  schema1:
    enabled: false
`;

describe('defaults', () => {
  it('loadConfig with no file and no env returns every default', async () => {
    assert.deepEqual(await loadConfig({ cwd }), DEFAULTS);
  });

  it('an empty file, a comment-only file and an empty document are all defaults', () => {
    for (const text of ['', '\n', '# nothing here\n', '---\n', '{}']) {
      assert.deepEqual(parseConfig(text, { cwd }), DEFAULTS, JSON.stringify(text));
    }
  });

  it('resolves relative paths against the working directory', () => {
    const config = parseConfig('storage: {filesystem: {rootdirectory: ../blobs}}\nmetadata: {sqlite: {path: db/index.sqlite}}', { cwd });
    assert.equal(config.storage.filesystem.rootdirectory, path.resolve(cwd, '../blobs'));
    assert.equal(config.metadata.sqlite.path, path.resolve(cwd, 'db/index.sqlite'));
  });

  it('puts the SQLite file inside the root directory unless told otherwise', () => {
    const config = parseConfig('storage:\n  filesystem:\n    rootdirectory: /var/lib/berth\n', { cwd });
    assert.equal(config.metadata.sqlite.path, path.join('/var/lib/berth', 'berth.db'));
    assert.equal(parseConfig('metadata: {sqlite: {path: ":memory:"}}', { cwd }).metadata.sqlite.path, ':memory:');
  });

  it('a key with no value means unset', () => {
    assert.deepEqual(parseConfig('http:\nstorage:\n  delete:\nlog:\n  level:\n', { cwd }), DEFAULTS);
  });
});

describe('a Distribution config.yml', () => {
  it('loads, keeping what Berth implements and warning about the rest', () => {
    const config = parseConfig(DISTRIBUTION_CONFIG, { cwd, source: 'config.yml' });
    assert.equal(config.log.level, 'warn');
    assert.equal(config.log.accesslog.disabled, true);
    assert.deepEqual(config.http.addr, { host: 'localhost', port: 5000 });
    assert.equal(config.http.host, 'https://myregistryaddress.org:5000');
    // YAML reads 0123456789 as a number; a string setting keeps the text as written.
    assert.equal(config.http.secret, '0123456789');
    assert.equal(config.http.draintimeoutMs, 30_000);
    assert.deepEqual(config.http.debug, { addr: { host: 'localhost', port: 5001 }, prometheus: { path: '/metrics' } });
    assert.equal(config.storage.filesystem.rootdirectory, '/var/lib/registry');
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.storage.redirect.disable, false);
    assert.deepEqual(config.storage.maintenance.uploadpurging, {
      enabled: true,
      ageMs: 72 * 3_600_000,
      intervalMs: 12 * 3_600_000,
      dryrun: false,
    });

    const ignored = config.warnings.map((warning) => /^ignored: (\S+) is not supported yet/.exec(warning)?.[1]);
    assert.deepEqual(ignored.sort(), [
      'compatibility',
      'health',
      'http.headers',
      'http.relativeurls',
      'log.fields',
      'log.formatter',
      'middleware',
      'redis',
      'storage.cache',
      'storage.filesystem.maxthreads',
      'validation.disabled',
      'validation.manifests.urls',
    ]);
    assert.deepEqual(config.validation.manifests.indexes, {
      platforms: 'list',
      platformlist: [{ architecture: 'amd64', os: 'linux' }],
    });
    // notifications.endpoints are read as Distribution writes them (docs/events.md).
    assert.deepEqual(config.notifications.endpoints, [
      {
        name: 'alistener',
        url: 'https://my.listener.com/event',
        headers: { Authorization: ['Bearer abc'] },
        timeoutMs: 1000,
        threshold: 10,
        backoffMs: 1000,
        maxBackoffMs: 300_000,
        ignoredMediaTypes: ['application/octet-stream'],
        ignoredActions: [],
        actions: undefined,
        format: 'distribution-v1',
        secret: undefined,
        allowPrivateAddresses: false,
      },
    ]);
    assert.equal(config.auth.mode, 'basic');
    assert.deepEqual(config.auth.htpasswd, { realm: 'basic-realm', path: '/auth/htpasswd' });
    assert.deepEqual(
      config.proxy.upstreams.map((upstream) => [upstream.url, upstream.namespace, upstream.hosts]),
      [['https://registry-1.docker.io', '', ['registry-1.docker.io', 'docker.io']]],
    );
    assert.deepEqual(config.http.tls, {
      certificate: '/path/to/x509/public',
      key: '/path/to/x509/private',
      clientcas: ['/path/to/ca.pem'],
      minimumtls: 'TLSv1.2',
    });
  });

  it('reads validation.manifests.indexes from the file and the environment, and rejects bad values', () => {
    const indexes = (yaml: string, env: NodeJS.ProcessEnv = {}): Config['validation']['manifests']['indexes'] =>
      parseConfig(yaml, { cwd, env }).validation.manifests.indexes;
    assert.deepEqual(indexes('validation: {manifests: {indexes: {platforms: NONE}}}'), { platforms: 'none', platformlist: [] });
    assert.deepEqual(
      indexes('', {
        REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS: 'list',
        REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST: '[{architecture: arm64, os: linux}, {os: windows, architecture: amd64}]',
      }),
      {
        platforms: 'list',
        platformlist: [
          { architecture: 'arm64', os: 'linux' },
          { architecture: 'amd64', os: 'windows' },
        ],
      },
    );
    assert.match(failure('validation: {manifests: {indexes: {platforms: some}}}'), /validation\.manifests\.indexes\.platforms/);
    assert.match(
      failure('validation: {manifests: {indexes: {platforms: list, platformlist: [{architecture: amd64}]}}}'),
      /validation\.manifests\.indexes\.platformlist/,
    );
  });

  it('maps Distribution log levels onto Berth levels, case-insensitively', () => {
    const level = (text: string): string => parseConfig(`log: {level: ${text}}`, { cwd }).log.level;
    assert.equal(level('warning'), 'warn');
    assert.equal(level('panic'), 'fatal');
    assert.equal(level('DEBUG'), 'debug');
    assert.equal(level('silent'), 'silent');
  });

  it('accepts YAML 1.1 booleans, anchors and merge keys as Go does', () => {
    const config = parseConfig(
      [
        'storage:',
        '  delete: &switches',
        '    enabled: yes',
        '  maintenance:',
        '    uploadpurging:',
        '      <<: *switches',
        '      dryrun: on',
        '      age: 1h',
      ].join('\n'),
      { cwd, source: 'config.yml' },
    );
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.storage.maintenance.uploadpurging.enabled, true);
    assert.equal(config.storage.maintenance.uploadpurging.dryrun, true);
    assert.equal(config.storage.maintenance.uploadpurging.ageMs, 3_600_000);
  });

  it('warns when a storage driver Berth lacks is configured', () => {
    const config = parseConfig('storage:\n  azure:\n    container: images\n', { cwd, source: 'config.yml' });
    assert.deepEqual(config.warnings, [
      'ignored: storage.azure is not supported yet; blobs are stored in storage.filesystem.rootdirectory (config.yml:2)',
    ]);
  });

  it('reads an S3 storage section with Distribution keys and defaults', () => {
    const config = parseConfig('storage:\n  s3:\n    bucket: images\n    region: eu-west-1\n', { cwd, source: 'config.yml' });
    assert.deepEqual(config.warnings, []);
    assert.deepEqual(config.storage.s3, {
      region: 'eu-west-1',
      regionendpoint: undefined,
      bucket: 'images',
      rootdirectory: undefined,
      accesskey: undefined,
      secretkey: undefined,
      forcepathstyle: false,
      chunksize: 10 * 1024 * 1024,
      encrypt: false,
    });
    assert.throws(() => parseConfig('storage:\n  s3:\n    region: eu-west-1\n', { cwd }), /storage\.s3\.bucket/);
    assert.throws(() => parseConfig('storage:\n  s3:\n    bucket: b1\n    chunksize: 1024\n', { cwd }), /storage\.s3\.chunksize/);
  });

  it('reads PostgreSQL metadata settings, the URL from the environment', () => {
    const config = parseConfig('', { cwd, env: { BERTH_METADATA_POSTGRES_URL: 'postgres://berth:pw@db:5432/berth' } });
    assert.deepEqual(config.metadata.postgres, {
      url: 'postgres://berth:pw@db:5432/berth',
      maxConnections: 10,
      statementTimeoutMs: 30_000,
    });
    assert.throws(() => parseConfig('', { cwd, env: { BERTH_METADATA_POSTGRES_URL: 'mysql://x' } }), /metadata\.postgres\.url/);
  });

  it('accepts the deprecated top-level loglevel with a warning', () => {
    const config = parseConfig('loglevel: debug\n', { cwd });
    assert.equal(config.log.level, 'info');
    assert.match(config.warnings[0] ?? '', /^ignored: loglevel is not supported yet; .*use log\.level/);
  });
});

describe('environment overrides', () => {
  it('REGISTRY_* names override the file, coerced to the setting type', () => {
    const config = parseConfig('http:\n  addr: localhost:5000\nstorage:\n  delete:\n    enabled: false\n', {
      cwd,
      env: {
        REGISTRY_HTTP_ADDR: ':6000',
        REGISTRY_STORAGE_DELETE_ENABLED: 'true',
        REGISTRY_LOG_LEVEL: 'debug',
        REGISTRY_HTTP_DRAINTIMEOUT: '5s',
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/data/registry',
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '2h',
        PATH: '/usr/bin',
      },
    });
    assert.deepEqual(config.http.addr, { host: '0.0.0.0', port: 6000 });
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.log.level, 'debug');
    assert.equal(config.http.draintimeoutMs, 5_000);
    assert.equal(config.storage.filesystem.rootdirectory, '/data/registry');
    assert.equal(config.metadata.sqlite.path, '/data/registry/berth.db');
    assert.equal(config.storage.maintenance.uploadpurging.enabled, false);
    assert.equal(config.storage.maintenance.uploadpurging.ageMs, 7_200_000);
    assert.deepEqual(config.warnings, []);
  });

  it('BERTH_* names set Berth keys, and either prefix works for any key', () => {
    const config = parseConfig('', {
      cwd,
      env: {
        BERTH_METADATA_SQLITE_PATH: '/var/lib/berth/meta.db',
        BERTH_LIMITS_MANIFESTMAXBYTES: '1048576',
        REGISTRY_LIMITS_PAGINATIONMAXENTRIES: '500',
        BERTH_HTTP_ADDR: '127.0.0.1:0',
        BERTH_HTTP_SECRET: '12345',
      },
    });
    assert.equal(config.metadata.sqlite.path, '/var/lib/berth/meta.db');
    assert.equal(config.limits.manifestMaxBytes, 1_048_576);
    assert.equal(config.limits.paginationMaxEntries, 500);
    assert.deepEqual(config.http.addr, { host: '127.0.0.1', port: 0 });
    assert.equal(config.http.secret, '12345');
  });

  it('accepts the usual spellings of booleans, and treats empty values as unset', () => {
    for (const [text, expected] of [
      ['TRUE', true],
      ['yes', true],
      ['on', true],
      ['False', false],
      ['no', false],
      ['off', false],
    ] as const) {
      const config = parseConfig('', { cwd, env: { REGISTRY_STORAGE_DELETE_ENABLED: text } });
      assert.equal(config.storage.delete.enabled, expected, text);
    }
    assert.deepEqual(parseConfig('', { cwd, env: { REGISTRY_HTTP_ADDR: '', REGISTRY_STORAGE_DELETE_ENABLED: '' } }), DEFAULTS);
  });

  it('warns about ignored Distribution keys set from the environment', () => {
    const config = parseConfig('', {
      cwd,
      env: { REGISTRY_AUTH_SILLY_REALM: 'x', REGISTRY_STORAGE: 'gcs', REGISTRY_HTTP_TLS_LETSENCRYPT_EMAIL: 'a@b.c' },
    });
    assert.deepEqual(config.warnings, [
      'ignored: auth.silly is not supported yet; a development-only method; use auth.htpasswd (env REGISTRY_AUTH_SILLY_REALM)',
      'ignored: http.tls.letsencrypt is not supported yet; give http.tls.certificate and http.tls.key (env REGISTRY_HTTP_TLS_LETSENCRYPT_EMAIL)',
      'ignored: storage.gcs is not supported yet; blobs are stored in storage.filesystem.rootdirectory (env REGISTRY_STORAGE)',
    ]);
    assert.deepEqual(parseConfig('', { cwd, env: { REGISTRY_STORAGE: 'filesystem' } }).warnings, []);
  });

  it('does not fail on Kubernetes service links for a service called "registry"', () => {
    const config = parseConfig('', {
      cwd,
      env: {
        REGISTRY_SERVICE_HOST: '10.0.0.7',
        REGISTRY_SERVICE_PORT: '5000',
        REGISTRY_SERVICE_PORT_HTTP: '5000',
        REGISTRY_PORT: 'tcp://10.0.0.7:5000',
        REGISTRY_PORT_5000_TCP: 'tcp://10.0.0.7:5000',
        REGISTRY_PORT_5000_TCP_PROTO: 'tcp',
        REGISTRY_PORT_5000_TCP_PORT: '5000',
        REGISTRY_PORT_5000_TCP_ADDR: '10.0.0.7',
        BERTH_UI_SERVICE_HOST: '10.0.0.8',
      },
    });
    assert.equal(config.warnings.length, 9);
    assert.ok(config.warnings.every((warning) => warning.includes('Kubernetes service link')));
    assert.deepEqual(config.http.addr, DEFAULTS.http.addr);
  });

  it('warns about REGISTRY_* variables that name no key (other programs use the prefix too) and ignores them', () => {
    const config = parseConfig('', {
      cwd,
      env: {
        // podman, skopeo and buildah read it; it is in the environment of anyone who uses them.
        REGISTRY_AUTH_FILE: '/run/user/0/containers/auth.json',
        REGISTRY_STORAGE_FILESYTEM_ROOTDIRECTORY: '/x',
        REGISTRY_HTTP_ADDR: ':6000',
      },
    });
    assert.deepEqual(config.warnings, [
      'ignored: REGISTRY_AUTH_FILE names no setting (no key "auth.file")',
      'ignored: REGISTRY_STORAGE_FILESYTEM_ROOTDIRECTORY names no setting (no key "storage.filesytem.rootdirectory"); did you mean REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY?',
    ]);
    // The variables that do name keys still apply.
    assert.equal(config.http.addr.port, 6000);
    assert.equal(config.storage.filesystem.rootdirectory, DEFAULTS.storage.filesystem.rootdirectory);
  });

  it('ignores the variables that name the configuration file', () => {
    assert.deepEqual(parseConfig('', { cwd, env: { REGISTRY_CONFIGURATION_PATH: '/etc/x.yml', BERTH_CONFIG: '/etc/y.yml' } }), DEFAULTS);
  });
});

describe('errors', () => {
  it('names the key, the bad value and the file line', () => {
    assert.equal(failure('http:\n  addr: abc\n'), 'config: http.addr: expected host:port, got "abc" (the port is missing) (config.yml:2)');
  });

  it('names the environment variable when the bad value came from there', () => {
    assert.equal(
      failure('', { REGISTRY_HTTP_ADDR: 'abc' }),
      'config: http.addr: expected host:port, got "abc" (the port is missing) (env REGISTRY_HTTP_ADDR)',
    );
    assert.equal(
      failure('storage: {delete: {enabled: true}}', { REGISTRY_STORAGE_DELETE_ENABLED: 'maybe' }),
      'config: storage.delete.enabled: expected true or false, got "maybe" (env REGISTRY_STORAGE_DELETE_ENABLED)',
    );
    assert.match(
      failure('', { BERTH_LIMITS_MANIFESTMAXBYTES: '4MiB' }),
      /^config: limits\.manifestmaxbytes: expected a whole number of bytes, at least 1, got "4MiB" \(env BERTH_LIMITS_MANIFESTMAXBYTES\)$/,
    );
  });

  it('rejects misspelled keys and suggests the right one', () => {
    assert.equal(
      failure('storage:\n  filesytem:\n    rootdirectory: /x\n'),
      'config: unknown key "storage.filesytem" (config.yml:2); did you mean "storage.filesystem"?',
    );
    assert.equal(failure('http:\n  addres: ":5000"\n'), 'config: unknown key "http.addres" (config.yml:2); did you mean "http.addr"?');
    assert.equal(
      failure('storage:\n  delete:\n    enable: true\n'),
      'config: unknown key "storage.delete.enable" (config.yml:3); did you mean "storage.delete.enabled"?',
    );
    assert.equal(failure('frobnicate: 1\n'), 'config: unknown key "frobnicate" (config.yml:1)');
    // BERTH_* is Berth's own prefix: a variable there that names no key is a misspelling.
    assert.equal(
      failure('', { BERTH_STORAGE_FILESYTEM_ROOTDIRECTORY: '/x' }),
      'config: unknown key "storage.filesytem.rootdirectory" (env BERTH_STORAGE_FILESYTEM_ROOTDIRECTORY); did you mean BERTH_STORAGE_FILESYSTEM_ROOTDIRECTORY?',
    );
    assert.match(failure('', { BERTH_HTTP_PORT: '6000' }), /unknown key "http\.port" \(env BERTH_HTTP_PORT\)/);
  });

  it('lists every problem, one per line', () => {
    const message = failure(
      [
        'version: 2',
        'log:',
        '  level: loud',
        'http:',
        '  addr: 5000',
        '  host: ftp://registry.example.com',
        '  draintimeout: 7d',
        'storage:',
        '  delete:',
        '    enabled: maybe',
        '  maintenance:',
        '    uploadpurging:',
        '      interval: 0s',
        'limits:',
        '  manifestmaxbytes: 0',
        '  catalogdefaultentries: 2.5',
        'metadata:',
        '  sqlite: /tmp/x.db',
        'colour: blue',
      ].join('\n'),
      { BERTH_LIMITS_PAGINATIONMAXENTRIES: 'lots' },
    );
    const lines = message.split('\n');
    assert.deepEqual(lines.sort(), [
      'config: http.addr: expected host:port, got "5000" (write ":5000" to listen on every interface) (config.yml:5)',
      'config: http.draintimeout: expected a Go duration such as "300ms", "60s", "5m" or "1h30m", got "7d" (unknown unit "d"; use ns, us, ms, s, m or h) (config.yml:7)',
      'config: http.host: expected an absolute http(s) URL such as https://registry.example.com, got "ftp://registry.example.com" (the scheme must be http or https) (config.yml:6)',
      'config: limits.catalogdefaultentries: expected a whole number, at least 1, got 2.5 (config.yml:16)',
      'config: limits.manifestmaxbytes: expected a whole number of bytes, at least 1, got 0 (config.yml:15)',
      'config: limits.paginationmaxentries: expected a whole number, at least 1, got "lots" (env BERTH_LIMITS_PAGINATIONMAXENTRIES)',
      'config: log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud" (config.yml:3)',
      'config: metadata.sqlite: expected a mapping of settings (key: value), got "/tmp/x.db" (config.yml:18)',
      'config: storage.delete.enabled: expected true or false, got "maybe" (config.yml:10)',
      'config: storage.maintenance.uploadpurging.interval: expected a Go duration such as "300ms", "60s", "5m" or "1h30m", at least 1ms, got "0s" (config.yml:13)',
      'config: unknown key "colour" (config.yml:19)',
      'config: version: expected "0.1", got "2" (config.yml:1)',
    ]);
  });

  it('exposes each problem as data', () => {
    try {
      parseConfig('http: {addr: abc}', { cwd, env: { BERTH_HTTP_ADR: ':1' } });
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.issues.map((issue) => [issue.kind, issue.key, issue.source]),
        [
          ['unknown-key', 'http.adr', 'env BERTH_HTTP_ADR'],
          ['invalid-value', 'http.addr', 'line 1'],
        ],
      );
    }
  });

  it('checks that the default catalog page fits the largest page', () => {
    assert.equal(
      failure('limits:\n  paginationmaxentries: 50\n'),
      'config: limits.catalogdefaultentries: expected at most limits.paginationmaxentries (50), got 100 (config.yml:1)',
    );
  });

  it('rejects bare-number durations below 1ms where a minimum applies, and warns otherwise', () => {
    assert.match(
      failure('storage: {maintenance: {uploadpurging: {interval: 24}}}'),
      /uploadpurging\.interval: .*got 24 \(a bare number is nanoseconds\)/,
    );
    const config = parseConfig('http:\n  draintimeout: 60\n', { cwd, source: 'config.yml' });
    assert.equal(config.http.draintimeoutMs, 1);
    assert.deepEqual(config.warnings, [
      'http.draintimeout: 60 is read as 60 nanoseconds (a number without a unit is nanoseconds, as in Distribution); write "60s" for seconds (config.yml:2)',
    ]);
    assert.equal(parseConfig('http: {draintimeout: 30000000000}', { cwd }).http.draintimeoutMs, 30_000);
  });

  it('reports YAML syntax errors with their position', () => {
    assert.match(failure('http:\n  addr: ":5000\n'), /^config: config\.yml:\d+:\d+: invalid YAML: /);
    assert.match(failure('http: {}\nhttp: {}\n'), /^config: config\.yml:2:1: invalid YAML: Map keys must be unique/);
    assert.equal(failure('- a\n- b\n'), 'config: config.yml must be a YAML mapping (key: value lines), got a list');
  });

  it('rejects conflicting REGISTRY_ and BERTH_ values for one key', () => {
    assert.equal(
      failure('', { REGISTRY_HTTP_ADDR: ':5000', BERTH_HTTP_ADDR: ':6000' }),
      'config: http.addr: set to different values by BERTH_HTTP_ADDR and REGISTRY_HTTP_ADDR (env REGISTRY_HTTP_ADDR)',
    );
    assert.deepEqual(parseConfig('', { cwd, env: { REGISTRY_HTTP_ADDR: ':6000', BERTH_HTTP_ADDR: ':6000' } }).http.addr.port, 6000);
  });

  it('explains that a section cannot be set from one variable', () => {
    assert.match(
      failure('', { REGISTRY_LOG: 'debug' }),
      /^config: log: a section cannot be set from the environment; set REGISTRY_LOG_LEVEL, REGISTRY_LOG_ACCESSLOG_DISABLED, REGISTRY_LOG_ACCESSLOG_FORMAT \(env REGISTRY_LOG\)$/,
    );
    assert.match(
      failure('', { REGISTRY_STORAGE: 'floppy' }),
      /^config: storage: expected a storage driver \(filesystem or s3\), got "floppy"/,
    );
  });
});

describe('loadConfig', () => {
  it('reads the file, applies env on top, and names the file in messages', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-config-'));
    try {
      const file = path.join(dir, 'config.yml');
      await writeFile(file, 'http:\n  addr: 127.0.0.1:5001\nstorage:\n  filesystem:\n    rootdirectory: blobs\n');
      const config = await loadConfig({ file, cwd: dir, env: { REGISTRY_LOG_LEVEL: 'error' } });
      assert.deepEqual(config.http.addr, { host: '127.0.0.1', port: 5001 });
      assert.equal(config.storage.filesystem.rootdirectory, path.join(dir, 'blobs'));
      assert.equal(config.log.level, 'error');

      // The file can also be named by BERTH_CONFIG or REGISTRY_CONFIGURATION_PATH.
      const fromEnv = await loadConfig({ cwd: dir, env: { REGISTRY_CONFIGURATION_PATH: 'config.yml' } });
      assert.equal(fromEnv.http.addr.port, 5001);

      await writeFile(file, 'http:\n  addr: nope\n');
      await assert.rejects(loadConfig({ file, cwd: dir }), {
        name: 'ConfigError',
        message: `config: http.addr: expected host:port, got "nope" (the port is missing) (${file}:2)`,
      });
      await assert.rejects(loadConfig({ file: path.join(dir, 'missing.yml') }), {
        name: 'ConfigError',
        message: `config: cannot read ${path.join(dir, 'missing.yml')}: no such file`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('configJsonSchema', () => {
  it('describes the YAML file, including the ignored Distribution keys', () => {
    const schema = configJsonSchema() as {
      $schema: string;
      properties: Record<string, { properties?: Record<string, { default?: unknown; type?: unknown; description?: string }> }>;
      additionalProperties: boolean;
    };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties['http']?.properties?.['addr']?.default, ':5000');
    assert.equal(schema.properties['http']?.properties?.['addr']?.type, 'string');
    assert.match(schema.properties['http']?.properties?.['headers']?.description ?? '', /accepts and ignores/);
    assert.ok(schema.properties['notifications']);
    assert.ok(JSON.stringify(schema).length > 1000);
  });
});

describe('security settings', () => {
  it('reads the tutorial variables: REGISTRY_AUTH=htpasswd and REGISTRY_HTTP_TLS_*', () => {
    const config = parseConfig('', {
      cwd,
      env: {
        REGISTRY_AUTH: 'htpasswd',
        REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm',
        REGISTRY_AUTH_HTPASSWD_PATH: 'auth/htpasswd',
        REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/domain.crt',
        REGISTRY_HTTP_TLS_KEY: '/certs/domain.key',
        REGISTRY_HTTP_TLS_CLIENTCAS: '/certs/a.pem, /certs/b.pem',
      },
    });
    assert.equal(config.auth.mode, 'basic');
    assert.deepEqual(config.auth.htpasswd, { realm: 'Registry Realm', path: path.join(cwd, 'auth/htpasswd') });
    assert.deepEqual(config.http.tls?.clientcas, ['/certs/a.pem', '/certs/b.pem']);
    assert.match(failure('', { REGISTRY_AUTH: 'ldap' }), /auth: expected an authentication method \(htpasswd or token\), got "ldap"/);
  });

  it('reads access rules from YAML and from an environment variable holding YAML', () => {
    const yaml =
      'auth:\n  tokenserver: {enabled: true}\n  access:\n    admins: [root]\n    rules:\n      - repository: "public/**"\n        anonymous: [pull]\n        users: {alice: ["*"]}\n';
    const config = parseConfig(yaml, { cwd });
    assert.equal(config.auth.mode, 'token');
    assert.deepEqual(config.auth.access, {
      admins: ['root'],
      rules: [{ repository: 'public/**', anonymous: ['pull'], authenticated: [], users: { alice: ['pull', 'push', 'delete'] }, teams: {} }],
    });
    const fromEnv = parseConfig('', { cwd, env: { BERTH_AUTH_ACCESS_RULES: '[{repository: "a/*", teams: {dev: [push]}}]' } });
    assert.deepEqual(fromEnv.auth.access.rules, [
      { repository: 'a/*', anonymous: [], authenticated: [], users: {}, teams: { dev: ['push'] } },
    ]);
    assert.match(failure('auth: {access: {rules: [{repository: x, anonymous: [steal]}]}}'), /auth\.access\.rules/);
  });

  it('refuses an external token server without keys, or together with the built-in one', () => {
    const token = 'auth:\n  token: {realm: "https://auth.example.com/token", service: registry, issuer: auth}\n';
    assert.match(failure(token), /auth.token needs rootcertbundle or jwks/);
    assert.match(
      failure(`${token.replace('issuer: auth}', 'issuer: auth, jwks: /k.json}')}  tokenserver: {enabled: true}\n`),
      /cannot both be set/,
    );
    assert.equal(parseConfig(token.replace('issuer: auth}', 'issuer: auth, rootcertbundle: /r.pem}'), { cwd }).auth.mode, 'external-token');
  });

  it('takes auth.openaccess only with authentication off', () => {
    assert.equal(parseConfig('auth: {openaccess: true}', { cwd }).auth.openAccess, true);
    assert.equal(parseConfig('', { cwd, env: { BERTH_AUTH_OPENACCESS: 'true' } }).auth.openAccess, true);
    assert.match(
      failure('auth: {openaccess: true, tokenserver: {enabled: true}}'),
      /^config: auth\.openaccess: auth\.openaccess serves everything openly: it cannot be set together with authentication/,
    );
    assert.match(failure('auth: {openaccess: true, htpasswd: {path: /h}}'), /auth\.openaccess/);
  });
});

describe('proxy settings', () => {
  it('reads several upstreams, with defaults, and refuses duplicates and half credentials', () => {
    const yaml = [
      'proxy:',
      '  upstreams:',
      '    - {name: hub, url: "https://registry-1.docker.io/", namespace: docker.io}',
      '    - {name: ghcr, url: "https://ghcr.io", namespace: ghcr.io, tagttl: 1h, offline: false, username: u, password: p, maxage: 720h, maxsize: 50GiB}',
    ].join('\n');
    const config = parseConfig(yaml, { cwd });
    assert.deepEqual(config.proxy.upstreams, [
      {
        name: 'hub',
        url: 'https://registry-1.docker.io',
        username: undefined,
        password: undefined,
        namespace: 'docker.io',
        hosts: ['registry-1.docker.io', 'docker.io'],
        tagTtlMs: 300_000,
        offline: true,
        allowPrivateAddresses: false,
        maxAgeMs: 0,
        maxBytes: undefined,
      },
      {
        name: 'ghcr',
        url: 'https://ghcr.io',
        username: 'u',
        password: 'p',
        namespace: 'ghcr.io',
        hosts: ['ghcr.io'],
        tagTtlMs: 3_600_000,
        offline: false,
        allowPrivateAddresses: false,
        maxAgeMs: 720 * 3_600_000,
        maxBytes: 50 * 2 ** 30,
      },
    ]);
    assert.match(failure('proxy: {upstreams: [{name: a, url: "https://x.io", maxsize: lots}]}'), /maxsize[\s\S]*a number of bytes/);
    assert.match(failure('proxy: {upstreams: [{name: a, url: "https://x.io", maxage: soon}]}'), /maxage/);
    assert.match(
      failure('proxy: {upstreams: [{name: a, url: "https://x.io"}, {name: a, url: "https://y.io"}]}'),
      /upstream name "a" is used twice/,
    );
    assert.match(failure('proxy: {upstreams: [{name: a, url: "https://x.io", username: u}]}'), /give both username and password/);
    assert.match(failure('proxy: {upstreams: [{name: a, url: "ftp://x.io"}]}'), /proxy\.upstreams/);
  });
});
