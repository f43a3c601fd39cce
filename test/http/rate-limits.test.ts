// Request rate limits against a real server (ratelimit in the config): anonymous pulls beyond the
// limit get 429 TOOMANYREQUESTS with Retry-After and Docker Hub's RateLimit headers, the remaining
// count goes down pull by pull, each client address and each signed-in user has its own count,
// pulls and other requests are counted apart, exempt users and addresses are never limited, and
// X-Forwarded-For is believed only from a trusted proxy. With no limit configured (the default)
// no RateLimit header is sent.
//
// The registry trusts 127.0.0.1 as a proxy, so the tests play several clients by sending
// X-Forwarded-For. Windows are aligned to the epoch; 87600h (ten years) puts the next window
// boundary in December 2029, so no test run sees a count start again halfway.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { callRegistry, type RegistryAnswer } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, ociManifest, sha256, uniqueRepo, type Descriptor } from './support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'rate limits are Berth-only' : false };
const WINDOW_SECONDS = 87600 * 3600;
const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-1', robot: 'robot-secret-1' } as const;
const auth = (user: keyof typeof PASSWORDS): string => basicAuthorization(user, PASSWORDS[user]);
const from = (address: string): { headers: Record<string, string> } => ({ headers: { 'x-forwarded-for': address } });

async function writeHtpasswd(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'berth-ratelimit-')), 'htpasswd');
  const lines = Object.entries(PASSWORDS).map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Pushes a one-layer image in three requests (two monolithic blob uploads, the manifest); returns its path. */
async function pushImage(registry: TestRegistry, authorization: string | undefined, repo: string): Promise<string> {
  const blob = async (data: Buffer, mediaType: string): Promise<Descriptor> => {
    const digest = sha256(data);
    const answer = await callRegistry(registry, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, authorization, { body: data });
    assert.equal(answer.status, 201, answer.text);
    return { mediaType, digest, size: data.length };
  };
  const config = await blob(Buffer.from('{"architecture":"amd64","os":"linux"}'), MEDIA.ociConfig);
  const layer = await blob(Buffer.from(`layer of ${repo}`), MEDIA.ociLayer);
  const manifest = ociManifest(config, [layer]);
  const put = await callRegistry(registry, 'PUT', `/v2/${repo}/manifests/1.0`, authorization, {
    body: manifest.bytes,
    headers: { 'content-type': manifest.mediaType },
  });
  assert.equal(put.status, 201, put.text);
  return `/v2/${repo}/manifests/1.0`;
}

const pull = (registry: TestRegistry, path: string, authorization?: string, address = '192.0.2.1'): Promise<RegistryAnswer> =>
  callRegistry(registry, 'GET', path, authorization, { headers: { ...from(address).headers, accept: MEDIA.ociManifest } });

function remaining(answer: RegistryAnswer): string | null {
  return answer.headers.get('ratelimit-remaining');
}

describe('request rate limits', berthOnly, () => {
  let registry: TestRegistry;
  let image: string;

  before(async () => {
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  htpasswd:',
        '    realm: test-realm',
        `    path: ${JSON.stringify(await writeHtpasswd())}`,
        '  access:',
        '    rules:',
        '      - repository: "**"',
        '        anonymous: [pull]',
        '        authenticated: [pull, push]',
        'ratelimit:',
        '  anonymouspulls: {limit: 3, window: 87600h}',
        '  signedinpulls: {limit: 5, window: 87600h}',
        '  signedinrequests: {limit: 12, window: 87600h}',
        '  exemptusers: [robot]',
        '  exemptaddresses: [10.0.0.0/8]',
        '  trustedproxies: [127.0.0.1]',
      ].join('\n'),
    });
    // alice pushes (other requests: counted apart from her pulls).
    image = await pushImage(registry, auth('alice'), uniqueRepo('ratelimit'));
  });
  after(() => registry?.stop());

  it('gives anonymous pulls beyond the limit 429 TOOMANYREQUESTS with Retry-After, the remaining count going down', async () => {
    const answers = [await pull(registry, image), await pull(registry, image), await pull(registry, image)];
    assert.deepEqual(
      answers.map((a) => [a.status, a.headers.get('ratelimit-limit'), remaining(a), a.headers.get('docker-ratelimit-source')]),
      [
        [200, `3;w=${WINDOW_SECONDS}`, `2;w=${WINDOW_SECONDS}`, '192.0.2.1'],
        [200, `3;w=${WINDOW_SECONDS}`, `1;w=${WINDOW_SECONDS}`, '192.0.2.1'],
        [200, `3;w=${WINDOW_SECONDS}`, `0;w=${WINDOW_SECONDS}`, '192.0.2.1'],
      ],
    );
    const refused = await pull(registry, image);
    assert.equal(refused.status, 429);
    const body = JSON.parse(refused.text) as { errors: { code: string; message: string; detail: { limit: number } }[] };
    assert.equal(body.errors[0]?.code, 'TOOMANYREQUESTS');
    assert.match(body.errors[0]?.message ?? '', /^pull rate limit reached: 3 pulls per 87600h0m0s per client address; retry after /);
    assert.equal(body.errors[0]?.detail.limit, 3);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= WINDOW_SECONDS, `Retry-After ${retryAfter}`);
    assert.equal(remaining(refused), `0;w=${WINDOW_SECONDS}`);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/json/);

    // A HEAD shows where the caller stands without spending a pull.
    const head = await callRegistry(registry, 'HEAD', image, undefined, from('192.0.2.1'));
    assert.equal(head.status, 200);
    assert.equal(remaining(head), `0;w=${WINDOW_SECONDS}`);
    // Another client address has its own count.
    const other = await pull(registry, image, undefined, '192.0.2.2');
    assert.equal(other.status, 200);
    assert.equal(remaining(other), `2;w=${WINDOW_SECONDS}`);
  });

  it('counts a signed-in user apart from the address, and pulls apart from other requests', async () => {
    // From the address whose anonymous pulls are spent; alice's pushes did not touch her pulls.
    const first = await pull(registry, image, auth('alice'), '192.0.2.1');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('ratelimit-limit'), `5;w=${WINDOW_SECONDS}`);
    assert.equal(remaining(first), `4;w=${WINDOW_SECONDS}`);
    assert.equal(first.headers.get('docker-ratelimit-source'), 'alice');
    // bob's other requests run out (12: the push's three, then nine tag lists) while his pulls do not.
    const repo = uniqueRepo('ratelimit-bob');
    await pushImage(registry, auth('bob'), repo);
    const statuses = new Set<number>();
    for (let i = 0; i < 9; i++) statuses.add((await callRegistry(registry, 'GET', `/v2/${repo}/tags/list`, auth('bob'))).status);
    const refused = await callRegistry(registry, 'GET', `/v2/${repo}/tags/list`, auth('bob'));
    assert.deepEqual([...statuses], [200]);
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.text, /"code":"TOOMANYREQUESTS".*request rate limit reached: 12 requests per 87600h0m0s per user/);
    assert.equal(refused.headers.get('ratelimit-limit'), `12;w=${WINDOW_SECONDS}`);
    const bobPulls = await pull(registry, `/v2/${repo}/manifests/1.0`, auth('bob'));
    assert.equal(bobPulls.status, 200, bobPulls.text);
    assert.equal(remaining(bobPulls), `4;w=${WINDOW_SECONDS}`);
    // Anonymous other requests have no limit configured: no 429 for them.
    assert.equal((await callRegistry(registry, 'GET', `/v2/${repo}/tags/list`, undefined, from('192.0.2.1'))).status, 200);
  });

  it('never limits exempt users or exempt addresses, and sends them no RateLimit headers', async () => {
    for (let i = 0; i < 8; i++) {
      const robot = await pull(registry, image, auth('robot'), '192.0.2.1');
      assert.equal(robot.status, 200, robot.text);
      assert.equal(robot.headers.get('ratelimit-limit'), null);
      const inside = await pull(registry, image, undefined, '10.20.30.40');
      assert.equal(inside.status, 200, inside.text);
      assert.equal(remaining(inside), null);
    }
  });

  it('believes X-Forwarded-For only as far as the trusted proxies go', async () => {
    // The client wrote an address of its own to the left; the proxy (127.0.0.1, trusted)
    // appended the one it saw. The address the proxy saw is counted.
    const answer = await pull(registry, image, undefined, '10.0.0.1, 198.51.100.7');
    assert.equal(answer.headers.get('docker-ratelimit-source'), '198.51.100.7');
    assert.equal(remaining(answer), `2;w=${WINDOW_SECONDS}`);
  });
});

describe('request rate limits off (the default)', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  it('sends no RateLimit headers and refuses nothing', async () => {
    const repo = uniqueRepo('ratelimit-off');
    const path = await pushImage(registry, undefined, repo);
    for (let i = 0; i < 5; i++) {
      const answer = await callRegistry(registry, 'GET', path, undefined, { headers: { accept: MEDIA.ociManifest } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('ratelimit-limit'), null);
      assert.equal(answer.headers.get('ratelimit-remaining'), null);
    }
  });
});
