// Workload identity for CI against a real issuer (oidc-provider, test/helpers/oidc-issuer.ts:
// discovery and JWKS over HTTP) and a real Berth process: ID tokens like the ones GitHub Actions
// hands a job, signed with the key the issuer publishes, are the password of `podman login`. A
// job of org/app on main pushes and pulls org/app/* (the rule's grant) and gets 403 elsewhere; a
// job of another branch gets only what its rule grants; an expired token, a token for another
// audience, one of an issuer Berth does not trust and one that matches no rule are refused with
// 401 and a message naming the reason. In token mode the job trades its ID token for a Bearer
// token at /token that expires no later than the ID token.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { ContainerClients, type BuiltImage } from '../helpers/clients.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const AUDIENCE = 'berth-test';
const HOUR = 3600;

/** The claims GitHub Actions puts in a job's ID token (those the rules look at). */
function githubClaims(repository: string, ref: string): { sub: string; repository: string; ref: string } {
  return { sub: `repo:${repository}:ref:${ref}`, repository, ref };
}

function issuerConfig(issuer: OidcIssuer): string[] {
  return [
    '  workloadidentity:',
    '    issuers:',
    `      - issuer: ${issuer.url}`,
    `        audience: ${AUDIENCE}`,
    '        rules:',
    '          - claims: {repository: org/app, ref: refs/heads/main}',
    '            grant: {repositories: ["org/app/**"], actions: [pull, push]}',
    '          - claims: {repository: "org/*", ref: ["refs/heads/*", "refs/tags/v*"]}',
    '            grant: {repositories: ["org/app/**"], actions: [pull]}',
  ];
}

const now = (): number => Math.floor(Date.now() / 1000);

describe('workload identity: CI jobs sign in with their OIDC ID token', {
  concurrency: false,
  skip: testTarget === 'reference' ? 'Berth-only' : false,
}, () => {
  let issuer: OidcIssuer | undefined;
  let registry: TestRegistry | undefined;
  let clients: ContainerClients | undefined;
  let image: BuiltImage;
  let pushedDigest = '';

  const env = (): { issuer: OidcIssuer; registry: TestRegistry; clients: ContainerClients } => {
    assert.ok(issuer && registry && clients, 'before() did not finish');
    return { issuer, registry, clients };
  };
  const mint = (claims: { sub: string } & Record<string, unknown>, options: { aud?: string; exp?: number } = {}): Promise<string> =>
    env().issuer.mintToken({ ...claims, aud: options.aud ?? AUDIENCE, exp: options.exp ?? now() + HOUR });

  /** The status and error message of GET /v2/ with the token as the Basic password. */
  const signInWith = async (target: TestRegistry, token: string): Promise<{ status: number; message: string }> => {
    const response = await fetch(`${target.url}/v2/`, { headers: { Authorization: basicAuthorization('ci', token) } });
    const body = (await response.json()) as { errors?: { message?: string; detail?: { reason?: string } }[] };
    const first = body.errors?.[0];
    return { status: response.status, message: `${first?.message ?? ''} ${first?.detail?.reason ?? ''}` };
  };

  before(async () => {
    issuer = await startOidcIssuer();
    registry = await startRegistry({ extraConfig: ['auth:', ...issuerConfig(issuer)].join('\n') });
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/ci/app:1', layers: [[4096, 30_000]] });
  });

  after(async () => {
    await clients?.cleanup();
    await registry?.stop();
    await issuer?.stop();
  });

  it('lets the main branch of org/app log in with podman, push to org/app/* and pull it back', async () => {
    const { registry, clients } = env();
    const token = await mint(githubClaims('org/app', 'refs/heads/main'));
    const login = await clients.podman(['login', '--tls-verify=false', '-u', 'github-actions', '-p', token, registry.hostPort]);
    assert.match(login.stdout, /Login Succeeded/);
    const digestFile = join(clients.dir, 'digest');
    await clients.podman([
      'push',
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      image.name,
      `docker://${registry.hostPort}/org/app/api:1`,
    ]);
    pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);
    // A second job (its own storage and login) pulls the same digest and image.
    const puller = await ContainerClients.create();
    try {
      await puller.podman(['login', '--tls-verify=false', '-u', 'github-actions', '-p', token, registry.hostPort]);
      const id = await puller.podmanPull(`${registry.hostPort}/org/app/api:1`);
      assert.equal(id, image.id);
      const pulled = (
        await puller.podman(['image', 'inspect', '--format', '{{.Digest}}', `${registry.hostPort}/org/app/api:1`])
      ).stdout.trim();
      assert.equal(pulled, pushedDigest);
    } finally {
      await puller.cleanup();
    }
  });

  it('denies that job a push outside its grant with 403', async () => {
    const { registry, clients } = env();
    await assert.rejects(
      clients.podman(['push', '--tls-verify=false', image.name, `docker://${registry.hostPort}/org/other:1`]),
      (error: Error) => /denied|403|forbidden/i.test(error.message),
    );
    const token = await mint(githubClaims('org/app', 'refs/heads/main'));
    const upload = await fetch(`${registry.url}/v2/org/other/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: basicAuthorization('ci', token) },
    });
    assert.equal(upload.status, 403);
  });

  it('gives another branch only what its own rule grants: pull, no push', async () => {
    const { registry } = env();
    assert.ok(pushedDigest, 'the push did not happen');
    const token = await mint(githubClaims('org/lib', 'refs/heads/feature'));
    const authorization = basicAuthorization('ci', token);
    const manifest = await fetch(`${registry.url}/v2/org/app/api/manifests/1`, {
      headers: {
        Authorization: authorization,
        Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), pushedDigest);
    const upload = await fetch(`${registry.url}/v2/org/app/api/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: authorization },
    });
    assert.equal(upload.status, 403);
  });

  it('refuses an expired token, another audience, an unknown issuer and a token no rule matches, each with 401 and its reason', async () => {
    const { registry, clients } = env();
    const expired = await mint(githubClaims('org/app', 'refs/heads/main'), { exp: now() - 120 });
    const refusedExpired = await signInWith(registry, expired);
    assert.equal(refusedExpired.status, 401);
    assert.match(refusedExpired.message, /has expired/);
    await assert.rejects(clients.podman(['login', '--tls-verify=false', '-u', 'ci', '-p', expired, registry.hostPort]), (error: Error) =>
      /unauthorized|401|invalid/i.test(error.message),
    );

    const otherAudience = await signInWith(registry, await mint(githubClaims('org/app', 'refs/heads/main'), { aud: 'someone-else' }));
    assert.equal(otherAudience.status, 401);
    assert.match(otherAudience.message, /audience is not berth-test/);

    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ ...githubClaims('org/app', 'refs/heads/main'), aud: AUDIENCE })
      .setProtectedHeader({ alg: 'RS256', kid: 'elsewhere' })
      .setIssuer('https://token.example.com')
      .setExpirationTime(now() + HOUR)
      .sign(privateKey);
    const unknown = await signInWith(registry, foreign);
    assert.equal(unknown.status, 401);
    assert.match(unknown.message, /issuer "https:\/\/token.example.com" are not accepted here/);

    const noRule = await signInWith(registry, await mint(githubClaims('elsewhere/app', 'refs/heads/main')));
    assert.equal(noRule.status, 401);
    assert.match(noRule.message, /matches no rule/);
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const { registry, issuer } = env();
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ ...githubClaims('org/app', 'refs/heads/main'), aud: AUDIENCE })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-signing-key' })
      .setIssuer(issuer.url)
      .setExpirationTime(now() + HOUR)
      .sign(privateKey);
    const refused = await signInWith(registry, forged);
    assert.equal(refused.status, 401);
    assert.match(refused.message, /signature does not verify/);
  });

  it('in token mode, trades the ID token at /token for a Bearer token that ends no later than it, and podman pulls with it', async () => {
    const { issuer, clients } = env();
    const tokenRegistry = await startRegistry({
      extraConfig: ['auth:', '  tokenserver: {enabled: true, expiration: 1h}', ...issuerConfig(issuer)].join('\n'),
    });
    try {
      // An ID token with ten minutes left: the Bearer token (1h by configuration) ends with it.
      const idToken = await mint(githubClaims('org/app', 'refs/heads/main'), { exp: now() + 600 });
      const response = await fetch(`${tokenRegistry.url}/token?service=berth&scope=repository:org/app/api:pull,push`, {
        headers: { Authorization: basicAuthorization('ci', idToken) },
      });
      assert.equal(response.status, 200);
      const grant = (await response.json()) as { token: string; expires_in: number };
      const bearer = decodeJwt(grant.token);
      assert.ok(bearer.exp !== undefined && bearer.exp <= (decodeJwt(idToken).exp ?? 0), 'the Bearer token outlives the ID token');
      assert.ok(grant.expires_in <= 600);
      assert.equal(bearer.sub, 'repo:org/app:ref:refs/heads/main');
      assert.deepEqual(bearer.access, [{ type: 'repository', name: 'org/app/api', actions: ['pull', 'push'] }]);

      const pushed = await clients.podman(['login', '--tls-verify=false', '-u', 'ci', '-p', idToken, tokenRegistry.hostPort]);
      assert.match(pushed.stdout, /Login Succeeded/);
      await clients.podman(['push', '--tls-verify=false', image.name, `docker://${tokenRegistry.hostPort}/org/app/api:1`]);
      await clients.podmanPull(`${tokenRegistry.hostPort}/org/app/api:1`);
      await assert.rejects(
        clients.podman(['push', '--tls-verify=false', image.name, `docker://${tokenRegistry.hostPort}/org/other:1`]),
        (error: Error) => /denied|unauthorized|403/i.test(error.message),
      );
    } finally {
      await tokenRegistry.stop();
    }
  });
});
