// Tag immutability with real clients against a real server (SQLite, htpasswd): a rule in the
// configuration file protects e2e/** tags v* except v*-dev. skopeo and podman push a protected tag
// once, push the same manifest to it again, and are refused when they push another manifest to it,
// printing the registry's message; new tags and unprotected tags push as usual; deleting a
// protected tag (skopeo delete resolves it to its digest) is refused, by tag over HTTP too.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { ClientCommandError, ContainerClients, dockerRef, type BuiltImage } from '../helpers/clients.js';
import { callRegistry } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const berthOnly = { skip: testTarget === 'reference' ? 'immutability rules are Berth’s own' : false, concurrency: false };
const DEV = basicAuthorization('dev', 'dev-password');
const REPO = 'e2e/immutable';

/** The message the registry sends, as the clients print it after their own prefix. */
const refusedMove = (tag: string): RegExp =>
  new RegExp(`denied: tag ${tag} of ${REPO} is immutable: it cannot be overwritten or deleted; push a new tag instead`);

/** The line of a client's output that carries the registry's answer. */
const answerLine = (output: string): string => output.split('\n').find((line) => /denied|immutable/.test(line)) ?? output;

/** Runs a client command that must fail; returns what it printed. */
async function refused(command: Promise<unknown>): Promise<string> {
  try {
    await command;
  } catch (error) {
    if (error instanceof ClientCommandError) return error.stderr + error.stdout;
    throw error;
  }
  assert.fail('the command succeeded');
}

describe('tag immutability with skopeo and podman', berthOnly, () => {
  let dir = '';
  let registry: TestRegistry;
  let clients: ContainerClients;
  let first: BuiltImage;
  let second: BuiltImage;
  let firstDigest = '';

  const ref = (tag: string): string => dockerRef(registry.hostPort, REPO, tag);
  const creds = ['--dest-creds', 'dev:dev-password', '--dest-tls-verify=false'];
  const copy = (image: BuiltImage, tag: string) => clients.skopeo(['copy', ...creds, clients.storageRef(image.name), ref(tag)]);
  const podmanPush = (image: BuiltImage, tag: string) =>
    clients.podman(['push', '--tls-verify=false', '--creds', 'dev:dev-password', image.name, `${registry.hostPort}/${REPO}:${tag}`]);
  const digestOf = async (tag: string): Promise<string> => {
    const out = await clients.skopeo(['inspect', '--tls-verify=false', '--creds', 'dev:dev-password', '--format', '{{.Digest}}', ref(tag)]);
    return out.stdout.trim();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-immutability-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `root:${bcrypt.hashSync('root-password', 4)}\ndev:${bcrypt.hashSync('dev-password', 4)}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  access:',
        '    admins: [root]',
        'immutability:',
        '  - repositories: "e2e/**"',
        '    tags: ["v*"]',
        '    except: ["v*-dev"]',
      ].join('\n'),
    });
    clients = await ContainerClients.create();
    first = await clients.buildImage({ name: 'localhost/e2e/immutable:first', layers: [[64, 2048]] });
    second = await clients.buildImage({ name: 'localhost/e2e/immutable:second', layers: [[96, 4096]] });
  });

  after(async () => {
    await clients?.cleanup();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a new protected tag, and the same manifest to it again', async () => {
    await copy(first, 'v1');
    firstDigest = await digestOf('v1');
    assert.match(firstDigest, /^sha256:[0-9a-f]{64}$/);
    // A re-push of the very same manifest, as a CI job that runs twice does.
    await clients.skopeo(['copy', '--src-tls-verify=false', '--src-creds', 'dev:dev-password', ...creds, ref('v1'), ref('v1')]);
    assert.equal(await digestOf('v1'), firstDigest);
  });

  it('refuses another manifest on the protected tag, and skopeo and podman print why', async () => {
    const skopeoOutput = await refused(copy(second, 'v1'));
    console.log(`# skopeo printed: ${answerLine(skopeoOutput)}`);
    assert.match(skopeoOutput, refusedMove('v1'));
    const podmanOutput = await refused(podmanPush(second, 'v1'));
    console.log(`# podman printed: ${answerLine(podmanOutput)}`);
    assert.match(podmanOutput, refusedMove('v1'));
    assert.equal(await digestOf('v1'), firstDigest, 'v1 still names the first manifest');
  });

  it('pushes new protected tags, excepted tags and unprotected tags as usual', async () => {
    await podmanPush(second, 'v2');
    for (const tag of ['v1-dev', 'latest']) {
      await copy(first, tag);
      await copy(second, tag);
    }
    const secondDigest = await digestOf('v2');
    assert.notEqual(secondDigest, firstDigest);
    assert.equal(await digestOf('v1-dev'), secondDigest, 'v1-dev is excepted: it moved');
    assert.equal(await digestOf('latest'), secondDigest, 'latest is not protected: it moved');
  });

  it('refuses to delete a protected tag, by tag and by the digest it names', async () => {
    // skopeo delete resolves the tag and deletes the manifest by digest.
    const output = await refused(clients.skopeo(['delete', '--tls-verify=false', '--creds', 'dev:dev-password', ref('v1')]));
    console.log(`# skopeo delete printed: ${answerLine(output)}`);
    // skopeo prints the answer's body as it came, with the status.
    assert.ok(output.includes(`manifest ${firstDigest} is tagged v1, which is immutable in ${REPO}: it cannot be deleted`), output);
    assert.match(output, /\(403 Forbidden\)/);
    const byTag = await callRegistry(registry, 'DELETE', `/v2/${REPO}/manifests/v1`, DEV);
    assert.equal(byTag.status, 403, byTag.text);
    assert.deepEqual(JSON.parse(byTag.text).errors[0].code, 'DENIED');
    assert.equal(await digestOf('v1'), firstDigest);
    // An unprotected tag deletes as before.
    assert.equal((await callRegistry(registry, 'DELETE', `/v2/${REPO}/manifests/latest`, DEV)).status, 202);
  });
});
