// Enforces the layer table of docs/architecture.md: each layer imports only the layers below it.
const allowed = {
  oci: ['oci'],
  errors: ['errors', 'oci'],
  config: ['config', 'oci', 'errors'],
  storage: ['storage', 'errors'],
  metadata: ['metadata', 'oci', 'errors'],
  registry: ['registry', 'oci', 'errors', 'storage', 'metadata'],
  client: ['client', 'oci', 'errors'],
  auth: ['auth', 'oci', 'errors', 'metadata'],
  proxy: ['proxy', 'registry', 'client', 'oci', 'errors'],
  // events joins when it exists.
  jobs: ['jobs', 'registry', 'metadata', 'storage', 'oci', 'errors'],
  http: ['http', 'oci', 'errors', 'registry', 'auth', 'proxy'],
  server: ['server', 'oci', 'errors', 'config', 'storage', 'metadata', 'registry', 'client', 'auth', 'proxy', 'jobs', 'http'],
  cli: ['cli', 'config', 'server', 'auth', 'metadata', 'oci', 'errors'],
};

module.exports = {
  forbidden: [
    ...Object.entries(allowed).map(([layer, layers]) => ({
      name: `layer-${layer}`,
      comment: `src/${layer} may import only: ${layers.join(', ')}`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: { path: '^src/', pathNot: `^src/(${layers.join('|')})/` },
    })),
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
