// Enforces the architecture of DESIGN.md (and docs/architecture.md): each layer imports only the
// layers its row names, and the packages that tie code to one technology stay in the layer that
// owns it. test/lint/layers.test.ts shows the rules catching a forbidden import.

// The rows of DESIGN.md, plus each layer itself. events and jobs may import errors too (the
// catalogue every layer throws from). http has no row there: it takes the registry (whose
// interfaces the pull-through cache decorates, so http never names the cache) and auth, nothing
// else. server is the composition root and cli sits on top: every layer below.
const allowed = {
  oci: [],
  errors: ['oci'],
  config: ['oci', 'errors'],
  storage: ['errors'],
  metadata: ['oci', 'errors'],
  registry: ['oci', 'errors', 'storage', 'metadata'],
  client: ['oci', 'errors'],
  auth: ['oci', 'errors', 'metadata'],
  proxy: ['registry', 'client', 'oci', 'errors'],
  events: ['registry', 'metadata', 'oci', 'errors'],
  jobs: ['registry', 'events', 'metadata', 'storage', 'oci', 'errors'],
  http: ['oci', 'errors', 'registry', 'auth'],
  server: ['oci', 'errors', 'config', 'storage', 'metadata', 'registry', 'client', 'auth', 'proxy', 'events', 'jobs', 'http'],
  cli: ['oci', 'errors', 'config', 'storage', 'metadata', 'registry', 'client', 'auth', 'proxy', 'events', 'jobs', 'http', 'server'],
};

// Packages that belong to one layer: the web framework to http (and server, which builds and
// listens), the database drivers and query builder to metadata, the AWS SDK to the S3 driver.
// node-forge was replaced by node:crypto and @peculiar/asn1-x509 and may not come back.
const packages = [
  { name: 'fastify', modules: ['fastify', '@fastify'], only: ['http', 'server'] },
  { name: 'kysely', modules: ['kysely'], only: ['metadata'] },
  { name: 'better-sqlite3', modules: ['better-sqlite3'], only: ['metadata'] },
  { name: 'pg', modules: ['pg', 'pg-pool', 'pg-protocol', 'pg-types', 'pg-cursor'], only: ['metadata'] },
  { name: 'aws-sdk', modules: ['@aws-sdk', '@smithy'], only: ['storage/s3'] },
  { name: 'node-forge', modules: ['node-forge'], only: [] },
];

// A package as dependency-cruiser names it: resolved into node_modules (or its @types), or,
// when it cannot be resolved, by the name imported. (Scopes such as @aws-sdk stand for all theirs.)
const packagePaths = (modules) => [`(^|/)node_modules/(@types/)?(${modules.join('|')})/`, `^(${modules.join('|')})(/|$)`];

module.exports = {
  forbidden: [
    ...Object.entries(allowed).map(([layer, layers]) => ({
      name: `layer-${layer}`,
      comment: `src/${layer} may import only: ${[layer, ...layers].join(', ')}`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: { path: '^src/', pathNot: `^src/(${[layer, ...layers].join('|')})/` },
    })),
    ...packages.map(({ name, modules, only }) => ({
      name: `package-${name}`,
      comment: only.length === 0 ? `${name} is not used` : `${name} only in ${only.map((dir) => `src/${dir}`).join(', ')}`,
      severity: 'error',
      from: only.length === 0 ? { path: '^src/' } : { path: '^src/', pathNot: `^src/(${only.join('|')})/` },
      to: { path: packagePaths(modules) },
    })),
    {
      name: 'registry-interfaces-only',
      comment:
        'the pull-through cache and events decorate the registry interfaces (src/registry/interfaces.ts); only server assembles the registry itself (tests and testing/ may)',
      severity: 'error',
      from: { path: '^src/(proxy|events)/', pathNot: '\\.test\\.ts$|/testing/' },
      to: { path: '^src/registry/', pathNot: '^src/registry/interfaces\\.ts$' },
    },
    {
      name: 'registry-storage-contract',
      comment: 'the registry uses the storage driver contract; only server names a driver (tests and testing/ may)',
      severity: 'error',
      from: { path: '^src/registry/', pathNot: '\\.test\\.ts$|/testing/' },
      to: { path: '^src/storage/(filesystem|s3)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-code-not-from-tests',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$|/testing/' },
      to: { path: '\\.test\\.ts$|/testing/|^test/' },
    },
    {
      name: 'testing-not-from-test-helpers',
      comment: 'shared test code under src/ (testing/) stands on src/ alone; test/helpers start processes for test/',
      severity: 'error',
      from: { path: '^src/.*/testing/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
