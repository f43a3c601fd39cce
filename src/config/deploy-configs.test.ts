// The configurations shipped in deploy/ (Compose and the Kubernetes ConfigMap) must load as
// they are, with the secrets the deployments put in the environment, and must select the
// scale-out backends: blobs in S3, metadata in PostgreSQL.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ConfigError, parseConfig, type Config } from './index.js';

const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));
const docsDir = fileURLToPath(new URL('../../docs/', import.meta.url));

/** What compose.yml and the Kubernetes Secret set; placeholders, never real secrets. */
const secretsEnv: NodeJS.ProcessEnv = {
  REGISTRY_STORAGE_S3_ACCESSKEY: 'placeholder-access-key',
  REGISTRY_STORAGE_S3_SECRETKEY: 'placeholder-secret-key',
  BERTH_METADATA_POSTGRES_URL: 'postgres://berth:placeholder@postgres:5432/berth',
  REGISTRY_HTTP_SECRET: 'placeholder-http-secret',
};

async function composeConfigText(): Promise<string> {
  return readFile(`${deployDir}compose/berth.yml`, 'utf8');
}

/** The config.yml embedded in the ConfigMap of deploy/kubernetes/berth.yaml. */
async function kubernetesConfigText(): Promise<string> {
  const text = await readFile(`${deployDir}kubernetes/berth.yaml`, 'utf8');
  const documents = parseAllDocuments(text);
  for (const document of documents) assert.deepEqual(document.errors, [], 'berth.yaml parses');
  const objects = documents.map((document) => document.toJS() as { kind?: string; data?: Record<string, string> });
  const configMap = objects.find((object) => object.kind === 'ConfigMap');
  const embedded = configMap?.data?.['config.yml'];
  assert.equal(typeof embedded, 'string', 'the ConfigMap holds config.yml');
  return embedded as string;
}

function assertScaleOut(config: Config): void {
  assert.deepEqual(config.warnings, []);
  assert.ok(config.storage.s3, 'storage.s3 selects the S3 driver');
  assert.equal(config.storage.s3.bucket, 'berth');
  assert.equal(config.storage.s3.forcepathstyle, true);
  assert.equal(config.storage.s3.accesskey, secretsEnv.REGISTRY_STORAGE_S3_ACCESSKEY);
  assert.equal(config.storage.s3.secretkey, secretsEnv.REGISTRY_STORAGE_S3_SECRETKEY);
  assert.ok(config.metadata.postgres, 'metadata.postgres selects PostgreSQL');
  assert.equal(config.metadata.postgres.url, secretsEnv.BERTH_METADATA_POSTGRES_URL);
  assert.equal(config.http.secret, secretsEnv.REGISTRY_HTTP_SECRET);
  assert.equal(config.storage.delete.enabled, true);
  assert.equal(config.storage.redirect.disable, true);
  assert.deepEqual(config.http.addr, { host: '0.0.0.0', port: 5000 });
}

/** Finds the numeric value of a YAML line "key: N" in the Deployment, for cross-checks. */
function deploymentNumber(text: string, key: string): number {
  const match = new RegExp(`^\\s*${key}: (\\d+)`, 'm').exec(text);
  assert.ok(match, `${key} is set`);
  return Number(match[1]);
}

describe('deploy/ configurations', () => {
  it('compose/berth.yml is valid and selects S3 and PostgreSQL', async () => {
    const config = parseConfig(await composeConfigText(), { env: secretsEnv, source: 'compose/berth.yml' });
    assertScaleOut(config);
    assert.equal(config.http.host, 'http://localhost:5000');
    assert.equal(config.storage.s3?.regionendpoint, 'http://minio:9000');
  });

  it('the Kubernetes ConfigMap config is valid and selects S3 and PostgreSQL', async () => {
    const config = parseConfig(await kubernetesConfigText(), { env: secretsEnv, source: 'kubernetes/berth.yaml' });
    assertScaleOut(config);
    assert.match(config.http.host ?? '', /^https?:\/\//);
  });

  it('neither file holds a secret: without the environment the PostgreSQL URL is missing', async () => {
    for (const text of [await composeConfigText(), await kubernetesConfigText()]) {
      assert.throws(
        () => parseConfig(text, { env: {} }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /metadata\.postgres\.url/);
          return true;
        },
      );
    }
  });

  it('Kubernetes gives a pod longer to stop than the preStop sleep plus http.draintimeout', async () => {
    const manifest = await readFile(`${deployDir}kubernetes/berth.yaml`, 'utf8');
    const config = parseConfig(await kubernetesConfigText(), { env: secretsEnv });
    const grace = deploymentNumber(manifest, 'terminationGracePeriodSeconds');
    const preStop = /command: \["sleep", "(\d+)"\]/.exec(manifest);
    assert.ok(preStop, 'a preStop sleep is set');
    assert.ok(grace * 1000 > Number(preStop[1]) * 1000 + config.http.draintimeoutMs);
  });

  it('every secret variable compose.yml passes is one the config reads', async () => {
    const compose = await readFile(`${deployDir}compose/compose.yml`, 'utf8');
    for (const name of Object.keys(secretsEnv)) assert.match(compose, new RegExp(`^\\s+${name}: `, 'm'));
    assert.match(compose, /^\s+stop_grace_period: 45s$/m);
    const config = parseConfig(await composeConfigText(), { env: secretsEnv });
    assert.ok(45_000 > config.http.draintimeoutMs);
  });

  it('docs/scale-out.md and deploy/README.md mention only keys that docs/configuration.md lists', async () => {
    const keyPattern = /`((?:version|log|http|storage|metadata|limits)(?:\.[a-z0-9]+)+)`/g;
    const keysIn = (text: string): Set<string> => new Set([...text.matchAll(keyPattern)].map((match) => match[1] as string));
    const documented = [...keysIn(await readFile(`${docsDir}configuration.md`, 'utf8'))];
    for (const file of [`${docsDir}scale-out.md`, `${deployDir}README.md`]) {
      const mentioned = keysIn(await readFile(file, 'utf8'));
      assert.ok(mentioned.size > 0);
      for (const key of mentioned) {
        const known = documented.some((doc) => doc === key || doc.startsWith(`${key}.`));
        assert.ok(known, `${file} mentions \`${key}\`, which docs/configuration.md does not list`);
      }
    }
  });
});
