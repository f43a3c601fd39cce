// The access matrix once per sign-in method (issue 19, item 5): whatever signed a caller in, the
// same grants give the same answers, and a user's rights are the union of the grants to the user
// and to their teams. Each method gets its own Berth process with the same namespaces and grants:
// `public` is public, team `builders` holds the push role on `team`, the member holds the pull
// role on `own` themselves, `private` grants nobody anything. The member signs in by the method:
// a database password; an LDAP password whose directory group maps to the team; a client
// certificate under mutual TLS naming a database user; an OpenID Connect sign-in whose groups
// claim maps to the team, as the web UI session cookie and as a personal API token made from it;
// a CI job's ID token whose issuer rules grant the same (pull and push on team/**, pull on
// own/**). One table gives the exact status of every cell for all of them: pull, push and delete
// on the four repositories, the catalog (exactly the repositories the member may pull) and the
// admin API (who am I: 200; managing users: 403). Every registry runs the token server too, and
// the matrix runs again with a Bearer token issued at /token for each credential that can be
// traded for one (all but the certificate and the session cookie): the same cells, with 401
// instead of 403 on repositories. The workload registry also checks that the OAuth2 password
// grant takes the ID token as the password and issues no refresh token, and that refused ID
// tokens count against the failed-login limit by client address.
import assert from 'node:assert/strict';
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { createCertificateAuthority, issueCertificate, writeDevCertificates } from '../../src/server/dev-cert.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { browserFetch, CookieJar, signInThroughIssuer, startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';
import { freePort } from '../helpers/ports.js';
import { startRegistry, testTarget, type TestRegistry, type TestTlsOptions } from '../helpers/registry.js';
import { GROUPS_DN, ldapConfigLines, startSlapd, type Slapd } from '../helpers/slapd.js';
import { MEDIA, ociManifest, sha256 } from '../http/support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'sign-in methods are Berth-only' : false };

const ADMIN = { user: 'root', password: 'root-password-1' };
const TEAM = 'builders';
const REPOSITORIES = { public: 'public/tool', team: 'team/app', user: 'own/app', private: 'private/app' } as const;
type Place = keyof typeof REPOSITORIES;
const AUDIENCE = 'berth-matrix';
const HOUR = 3600;

/** How a caller presents itself: headers (credentials, cookie), a TLS agent, a CSRF token for a session. */
interface Caller {
  readonly headers: Readonly<Record<string, string>>;
  readonly agent?: HttpAgent;
  /** The web UI session's CSRF token, sent with requests that change something. */
  readonly csrf?: string;
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** One request with node:http(s), so a client certificate can be presented through the agent. */
function send(registry: TestRegistry, method: string, path: string, caller: Caller, body?: Buffer | string): Promise<Answer> {
  const url = new URL(path, registry.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...caller.headers };
  if (caller.csrf !== undefined && method !== 'GET' && method !== 'HEAD') headers['x-berth-csrf'] = caller.csrf;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent: caller.agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const json = (value: unknown): { body: string; headers: Record<string, string> } => ({
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/json' },
});

/** An admin API call as the administrator; asserts the status. */
async function asAdmin(registry: TestRegistry, admin: Caller, method: string, path: string, value: unknown, status: number): Promise<void> {
  const { body, headers } = json(value);
  const answer = await send(registry, method, path, { ...admin, headers: { ...admin.headers, ...headers } }, body);
  assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
}

/** The namespaces, team and grant every method's registry has, and an image (tags v1 and del) in each repository. */
async function prepare(registry: TestRegistry, admin: Caller): Promise<void> {
  await asAdmin(registry, admin, 'POST', '/api/v1/teams', { name: TEAM }, 201);
  await asAdmin(registry, admin, 'PUT', '/api/v1/namespaces/public', { visibility: 'public' }, 200);
  await asAdmin(registry, admin, 'PUT', `/api/v1/namespaces/team/grants/team/${TEAM}`, { role: 'push' }, 200);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(300);
  const manifest = ociManifest({ mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length }, [
    { mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length },
  ]).bytes;
  for (const repository of Object.values(REPOSITORIES)) {
    for (const blob of [config, layer]) {
      const pushed = await send(registry, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, admin, blob);
      assert.equal(pushed.status, 201, pushed.text);
    }
    for (const tag of ['v1', 'del']) {
      const put = await send(
        registry,
        'PUT',
        `/v2/${repository}/manifests/${tag}`,
        { ...admin, headers: { ...admin.headers, 'content-type': MEDIA.ociManifest } },
        manifest,
      );
      assert.equal(put.status, 201, put.text);
    }
  }
}

/** The cells, each with the status every method's member must get. */
const CELLS: readonly { name: string; expected: number; run: (registry: TestRegistry, caller: Caller) => Promise<Answer> }[] = [
  ...(Object.keys(REPOSITORIES) as Place[]).flatMap((place) => {
    const repository = REPOSITORIES[place];
    const granted = {
      public: { pull: 200, push: 403, delete: 403 },
      team: { pull: 200, push: 202, delete: 403 },
      user: { pull: 200, push: 403, delete: 403 },
      private: {},
    }[place];
    return [
      {
        name: `pull ${place}`,
        expected: granted.pull ?? 403,
        run: (registry: TestRegistry, caller: Caller) =>
          send(registry, 'GET', `/v2/${repository}/manifests/v1`, { ...caller, headers: { ...caller.headers, accept: MEDIA.ociManifest } }),
      },
      {
        name: `push ${place}`,
        expected: granted.push ?? 403,
        run: (registry: TestRegistry, caller: Caller) => send(registry, 'POST', `/v2/${repository}/blobs/uploads/`, caller),
      },
      {
        name: `delete ${place}`,
        expected: granted.delete ?? 403,
        run: (registry: TestRegistry, caller: Caller) => send(registry, 'DELETE', `/v2/${repository}/manifests/del`, caller),
      },
    ];
  }),
  { name: 'catalog', expected: 200, run: (registry, caller) => send(registry, 'GET', '/v2/_catalog', caller) },
  { name: 'admin API: who am I', expected: 200, run: (registry, caller) => send(registry, 'GET', '/api/v1/me', caller) },
  { name: 'admin API: list users', expected: 403, run: (registry, caller) => send(registry, 'GET', '/api/v1/users', caller) },
];

const REPOSITORY_CELL = /^(pull|push|delete) /;

/** Runs every cell at once for the caller; reports all mismatches together. */
async function runMatrix(registry: TestRegistry, caller: Caller, options: { bearer?: boolean } = {}): Promise<void> {
  const answers = await Promise.all(CELLS.map((cell) => cell.run(registry, caller)));
  const mismatches: string[] = [];
  CELLS.forEach((cell, index) => {
    const answer = answers[index] as Answer;
    // With a Bearer token, what it does not grant on a repository is 401 (fetch a better token), not 403.
    const expected = options.bearer && cell.expected === 403 && REPOSITORY_CELL.test(cell.name) ? 401 : cell.expected;
    if (answer.status !== expected) mismatches.push(`${cell.name}: ${answer.status}, expected ${expected} ${answer.text.slice(0, 200)}`);
    if (answer.status >= 400 && !Array.isArray((JSON.parse(answer.text || '{}') as { errors?: unknown }).errors))
      mismatches.push(`${cell.name}: no error body`);
  });
  const catalog = answers[CELLS.findIndex((cell) => cell.name === 'catalog')] as Answer;
  if (catalog.status === 200) {
    const listed = (JSON.parse(catalog.text) as { repositories: string[] }).repositories;
    assert.deepEqual(listed, [REPOSITORIES.user, REPOSITORIES.public, REPOSITORIES.team]);
  }
  assert.deepEqual(mismatches, []);
}

/** A Bearer token of the registry's token server for every repository of the matrix and the catalog, signed in with `authorization`. */
async function bearerFor(registry: TestRegistry, authorization: string): Promise<Caller> {
  const query = new URLSearchParams({ service: 'berth' });
  for (const repository of Object.values(REPOSITORIES)) query.append('scope', `repository:${repository}:pull,push,delete`);
  query.append('scope', 'registry:catalog:*');
  const issued = await send(registry, 'GET', `/token?${query}`, { headers: { authorization } });
  assert.equal(issued.status, 200, issued.text);
  return { headers: { authorization: `Bearer ${(JSON.parse(issued.text) as { token: string }).token}` } };
}

/** The member's own grant (the team's is made by prepare); the user must exist. */
async function grantToMember(registry: TestRegistry, admin: Caller, name: string): Promise<void> {
  await asAdmin(registry, admin, 'PUT', `/api/v1/namespaces/own/grants/user/${name}`, { role: 'pull' }, 200);
}

/** The access section every method's registry has: the administrator, and no rule beyond the database's grants. */
const ACCESS_LINES = ['  access:', `    admins: [${ADMIN.user}]`, '    rules: []'];

async function writeAdminHtpasswd(dir: string): Promise<string> {
  const file = join(dir, 'htpasswd');
  await writeFile(file, `${ADMIN.user}:${bcrypt.hashSync(ADMIN.password, 4).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  return file;
}

/** A registry for one method: the administrator in htpasswd, the method's auth lines, the shared grants. */
async function startMatrixRegistry(
  dir: string,
  authLines: readonly string[],
  options: { tls?: TestTlsOptions; adminAgent?: HttpAgent } = {},
): Promise<{ registry: TestRegistry; admin: Caller }> {
  const htpasswd = await writeAdminHtpasswd(dir);
  const registry = await startRegistry({
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    extraConfig: [
      'auth:',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      // Token mode too: Basic credentials still work directly, and /token trades them for Bearer tokens.
      '  tokenserver: {enabled: true, service: berth, expiration: 1h}',
      ...authLines,
      ...ACCESS_LINES,
    ].join('\n'),
  });
  const admin: Caller = {
    headers: { authorization: basicAuthorization(ADMIN.user, ADMIN.password) },
    ...(options.adminAgent === undefined ? {} : { agent: options.adminAgent }),
  };
  await prepare(registry, admin);
  return { registry, admin };
}

/** A temporary directory per describe, removed after it. */
function temporaryDirectory(): { path: () => string } {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-matrix-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });
  return { path: () => dir };
}

describe('access matrix per sign-in method: a database password (the baseline)', berthOnly, () => {
  const dir = temporaryDirectory();
  let registry: TestRegistry | undefined;

  before(async () => {
    const started = await startMatrixRegistry(dir.path(), []);
    registry = started.registry;
    await asAdmin(registry, started.admin, 'POST', '/api/v1/users', { name: 'pat', password: 'pat-password-1' }, 201);
    await asAdmin(registry, started.admin, 'PUT', `/api/v1/teams/${TEAM}/members/pat`, {}, 200);
    await grantToMember(registry, started.admin, 'pat');
  });
  after(() => registry?.stop());

  it('gives the member the union of the team grant and their own, no more', async () => {
    assert.ok(registry);
    await runMatrix(registry, { headers: { authorization: basicAuthorization('pat', 'pat-password-1') } });
  });

  it('gives a Bearer token issued at /token for the password the same cells', async () => {
    assert.ok(registry);
    await runMatrix(registry, await bearerFor(registry, basicAuthorization('pat', 'pat-password-1')), { bearer: true });
  });
});

describe('access matrix per sign-in method: an LDAP password, the directory group mapped to the team', berthOnly, () => {
  const dir = temporaryDirectory();
  let registry: TestRegistry | undefined;
  let slapd: Slapd | undefined;
  const LEE = { uid: 'lee', password: 'lee-directory-pw' };

  before(async () => {
    slapd = await startSlapd({ users: [LEE], groups: { 'build-group': [LEE.uid] } });
    const ldap = ldapConfigLines(slapd.url, [
      `groupbasedn: "${GROUPS_DN}"`,
      'groupfilter: "(member={dn})"',
      `teams: {build-group: ${TEAM}}`,
    ]);
    const started = await startMatrixRegistry(dir.path(), ldap);
    registry = started.registry;
    // The directory creates the account at the first sign-in; a grant needs it to exist.
    const lee = { headers: { authorization: basicAuthorization(LEE.uid, LEE.password) } };
    assert.equal((await send(registry, 'GET', '/v2/', lee)).status, 200);
    await grantToMember(registry, started.admin, LEE.uid);
  });
  after(async () => {
    await registry?.stop();
    await slapd?.destroy();
  });

  it('gives the directory user the union of the team grant and their own, no more', async () => {
    assert.ok(registry);
    await runMatrix(registry, { headers: { authorization: basicAuthorization(LEE.uid, LEE.password) } });
  });

  it('gives a Bearer token issued at /token for the directory password the same cells', async () => {
    assert.ok(registry);
    await runMatrix(registry, await bearerFor(registry, basicAuthorization(LEE.uid, LEE.password)), { bearer: true });
  });
});

describe('access matrix per sign-in method: a client certificate under mutual TLS', berthOnly, () => {
  const dir = temporaryDirectory();
  let registry: TestRegistry | undefined;
  let admin: Caller | undefined;
  let machine: HttpsAgent | undefined;
  let administrator: HttpsAgent | undefined;

  before(async () => {
    const certs = await writeDevCertificates({ hosts: ['127.0.0.1'], outDir: join(dir.path(), 'certs'), days: 2 });
    const serverCa = await readFile(certs.caCert, 'utf8');
    const clientCa = createCertificateAuthority({ days: 2, commonName: 'machines CA' });
    const clientCaFile = join(dir.path(), 'machines-ca.crt');
    await writeFile(clientCaFile, clientCa.cert);
    const adminAgent = new HttpsAgent({ ca: serverCa });
    const started = await startMatrixRegistry(dir.path(), ['  clientcertificates: {usernamefrom: cn}'], {
      tls: { certificate: certs.serverCert, key: certs.serverKey, clientcas: [clientCaFile], http2Disabled: true },
      adminAgent,
    });
    registry = started.registry;
    admin = started.admin;
    // The machine's user exists with a password nobody uses; the certificate signs it in.
    await asAdmin(registry, admin, 'POST', '/api/v1/users', { name: 'machine', password: randomBytes(16).toString('hex') }, 201);
    await asAdmin(registry, admin, 'PUT', `/api/v1/teams/${TEAM}/members/machine`, {}, 200);
    await grantToMember(registry, admin, 'machine');
    const client = issueCertificate(clientCa, { hosts: ['machine'], days: 2, usage: 'client' });
    machine = new HttpsAgent({ ca: serverCa, cert: client.cert, key: client.key });
    const adminCertificate = issueCertificate(clientCa, { hosts: [ADMIN.user], days: 2, usage: 'client' });
    administrator = new HttpsAgent({ ca: serverCa, cert: adminCertificate.cert, key: adminCertificate.key });
  });
  after(async () => {
    machine?.destroy();
    administrator?.destroy();
    await registry?.stop();
  });

  it('gives the user the certificate names the union of the team grant and their own, no more', async () => {
    assert.ok(registry && machine);
    await runMatrix(registry, { headers: {}, agent: machine });
  });

  it('lets a certificate naming an administrator use the admin API as the password would', async () => {
    assert.ok(registry && administrator);
    const users = await send(registry, 'GET', '/api/v1/users', { headers: {}, agent: administrator });
    assert.equal(users.status, 200, users.text);
    const names = (JSON.parse(users.text) as { users: { name: string }[] }).users.map((user) => user.name);
    assert.ok(names.includes('machine'), names.join(', '));
  });

  it('does not sign in a change a browser says another site sent (the certificate is ambient, like a cookie)', async () => {
    assert.ok(registry && administrator);
    const team = json({ name: 'forged' });
    for (const site of ['cross-site', 'same-site']) {
      const forged = await send(
        registry,
        'POST',
        '/api/v1/teams',
        { headers: { ...team.headers, 'sec-fetch-site': site }, agent: administrator },
        team.body,
      );
      assert.equal(forged.status, 401, `${site}: ${forged.text}`);
    }
    const read = await send(registry, 'GET', '/api/v1/users', { headers: { 'sec-fetch-site': 'cross-site' }, agent: administrator });
    assert.equal(read.status, 200, 'reads are not changes');
    const own = await send(
      registry,
      'POST',
      '/api/v1/teams',
      { headers: { ...team.headers, 'sec-fetch-site': 'same-origin' }, agent: administrator },
      team.body,
    );
    assert.equal(own.status, 201, own.text);
  });
});

describe('access matrix per sign-in method: an OpenID Connect user, the groups claim mapped to the team', berthOnly, () => {
  const dir = temporaryDirectory();
  let registry: TestRegistry | undefined;
  let issuer: OidcIssuer | undefined;
  let session: Caller | undefined;

  before(async () => {
    issuer = await startOidcIssuer({ people: { olive: { preferred_username: 'olive', groups: ['idp-builders'] } } });
    const started = await startMatrixRegistry(dir.path(), [
      '  oidc:',
      '    providers:',
      '      - name: corp',
      `        issuer: ${issuer.url}`,
      '        clientid: berth',
      '        clientsecret: berth-test-secret',
      '        scopes: [openid, profile, groups]',
      '        groupsclaim: groups',
      `        teams: {idp-builders: ${TEAM}}`,
    ]);
    registry = started.registry;
    issuer.allowRedirect(`${registry.url}/api/v1/session/oidc/callback`);
    const jar = new CookieJar();
    const callback = await signInThroughIssuer(jar, `${registry.url}/api/v1/session/oidc/start?provider=corp`, registry.url, {
      login: 'olive',
    });
    assert.equal((await browserFetch(jar, callback)).status, 303);
    const { csrfToken, user } = (await (await browserFetch(jar, `${registry.url}/api/v1/session`)).json()) as {
      csrfToken: string;
      user: { name: string } | null;
    };
    assert.equal(user?.name, 'olive');
    await grantToMember(registry, started.admin, 'olive');
    session = { headers: { cookie: jar.header(registry.url) }, csrf: csrfToken };
  });
  after(async () => {
    await registry?.stop();
    await issuer?.stop();
  });

  it('gives the web UI session of the signed-in person the union of the team grant and their own, no more', async () => {
    assert.ok(registry && session);
    await runMatrix(registry, session);
  });

  it('gives a personal API token they made after signing in, and a Bearer token issued for it, the same cells', async () => {
    assert.ok(registry && session);
    const { body, headers } = json({
      name: 'matrix',
      scopes: [{ repository: '**', actions: ['pull', 'push', 'delete'] }],
      expiresIn: '1h',
    });
    const created = await send(registry, 'POST', '/api/v1/tokens', { ...session, headers: { ...session.headers, ...headers } }, body);
    assert.equal(created.status, 201, created.text);
    const { token } = JSON.parse(created.text) as { token: string };
    await runMatrix(registry, { headers: { authorization: basicAuthorization('olive', token) } });
    await runMatrix(registry, await bearerFor(registry, basicAuthorization('olive', token)), { bearer: true });
  });
});

describe('access matrix per sign-in method: a CI job with its OIDC ID token (workload identity)', berthOnly, () => {
  const dir = temporaryDirectory();
  let registry: TestRegistry | undefined;
  let issuer: OidcIssuer | undefined;
  let downIssuer = '';
  const now = (): number => Math.floor(Date.now() / 1000);
  const mint = (claims: { sub: string; repository: string }, exp = now() + HOUR): Promise<string> => {
    assert.ok(issuer);
    // A jti of its own: two tokens minted in the same second with the same claims would be one token.
    return issuer.mintToken({ ...claims, aud: AUDIENCE, exp, jti: randomBytes(8).toString('hex') });
  };
  const JOB = { sub: 'repo:org/app:ref:refs/heads/main', repository: 'org/app' };
  const ATTEMPTS = 3;

  const tokenForm = (fields: Record<string, string>): Promise<Answer> => {
    assert.ok(registry);
    const body = new URLSearchParams({ service: 'berth', client_id: 'docker', ...fields }).toString();
    return send(registry, 'POST', '/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }, body);
  };

  before(async () => {
    issuer = await startOidcIssuer();
    // Nothing listens there: an issuer that is down.
    downIssuer = `http://127.0.0.1:${await freePort()}`;
    registry = (
      await startMatrixRegistry(dir.path(), [
        `  ratelimit: {attempts: ${ATTEMPTS}, window: 10m}`,
        '  workloadidentity:',
        '    issuers:',
        `      - issuer: ${issuer.url}`,
        `        audience: ${AUDIENCE}`,
        '        rules:',
        '          - claims: {repository: org/app}',
        '            grant: {repositories: ["team/**"], actions: [pull, push]}',
        '          - claims: {repository: "org/*"}',
        '            grant: {repositories: ["own/**"], actions: [pull]}',
        `      - issuer: ${downIssuer}`,
        `        audience: ${AUDIENCE}`,
        '        rules: [{claims: {repository: org/app}, grant: {repositories: ["team/**"], actions: [pull]}}]',
      ])
    ).registry;
  });
  after(async () => {
    await registry?.stop();
    await issuer?.stop();
  });

  it('gives the job the same cells through its issuer rules', async () => {
    assert.ok(registry);
    await runMatrix(registry, { headers: { authorization: basicAuthorization('ci', await mint(JOB)) } });
  });

  it('gives a Bearer token issued at GET /token for the ID token the same cells', async () => {
    assert.ok(registry);
    await runMatrix(registry, await bearerFor(registry, basicAuthorization('ci', await mint(JOB))), { bearer: true });
  });

  it('takes the ID token as the password of the OAuth2 password grant, with no refresh token, ending no later than it', async () => {
    assert.ok(registry);
    const idToken = await mint(JOB, now() + 600);
    const answer = await tokenForm({
      grant_type: 'password',
      username: 'ci',
      password: idToken,
      access_type: 'offline',
      scope: `repository:${REPOSITORIES.team}:pull,push repository:${REPOSITORIES.private}:pull`,
    });
    assert.equal(answer.status, 200, answer.text);
    const grant = JSON.parse(answer.text) as { access_token: string; refresh_token?: string; scope: string; expires_in: number };
    assert.equal(grant.refresh_token, undefined, 'a refresh token would outlive the ID token');
    assert.equal(grant.scope, `repository:${REPOSITORIES.team}:pull,push`);
    assert.ok(grant.expires_in <= 600, `expires_in ${grant.expires_in}`);
    const claims = decodeJwt(grant.access_token);
    assert.ok(claims.exp !== undefined && claims.exp <= (decodeJwt(idToken).exp ?? 0), 'the access token outlives the ID token');
    assert.equal(claims.sub, JOB.sub);
    const bearer = { headers: { authorization: `Bearer ${grant.access_token}`, accept: MEDIA.ociManifest } };
    assert.equal((await send(registry, 'GET', `/v2/${REPOSITORIES.team}/manifests/v1`, bearer)).status, 200);
    assert.equal((await send(registry, 'GET', `/v2/${REPOSITORIES.private}/manifests/v1`, bearer)).status, 401);
    // An expired ID token is refused at the password grant as at Basic.
    const expired = await tokenForm({ grant_type: 'password', username: 'ci', password: await mint(JOB, now() - 120) });
    assert.equal(expired.status, 401, expired.text);
    assert.match(expired.text, /has expired/);
  });

  it('does not count tokens of an issuer that cannot be reached against the limit: that is no wrong credential', async () => {
    assert.ok(registry);
    const { privateKey } = await generateKeyPair('RS256');
    for (let attempt = 0; attempt <= ATTEMPTS; attempt++) {
      const token = await new SignJWT({ ...JOB, aud: AUDIENCE })
        .setProtectedHeader({ alg: 'RS256', kid: 'down' })
        .setIssuer(downIssuer)
        .setExpirationTime(now() + HOUR)
        .sign(privateKey);
      const answer = await send(registry, 'GET', '/v2/', { headers: { authorization: basicAuthorization('ci', token) } });
      assert.equal(answer.status, 401, answer.text);
      assert.match(answer.text, /cannot read the discovery document/);
    }
  });

  // Last: it leaves this client address over its allowance for workload tokens.
  it('counts refused ID tokens against the failed-login limit by client address, not held against tokens already verified', async () => {
    assert.ok(registry);
    const verified = basicAuthorization('ci', await mint(JOB));
    assert.equal((await send(registry, 'GET', '/v2/', { headers: { authorization: verified } })).status, 200);
    // Refused tokens of different jobs and user names count together (a token names no user);
    // the expired one of the password grant above may already have counted.
    let refusals = 0;
    let limited: Answer | undefined;
    while (limited === undefined && refusals <= ATTEMPTS) {
      const refused = basicAuthorization(`ci-${refusals}`, await mint({ sub: `job-${refusals}`, repository: 'elsewhere/app' }));
      const answer = await send(registry, 'GET', '/v2/', { headers: { authorization: refused } });
      if (answer.status === 429) limited = answer;
      else assert.equal(answer.status, 401, answer.text);
      refusals++;
    }
    assert.ok(limited, `no 429 after ${refusals} refused ID tokens`);
    assert.ok(refusals >= 2, 'the limit applied before any refusal of this test');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((JSON.parse(limited.text) as { errors: { code: string }[] }).errors[0]?.code, 'TOOMANYREQUESTS');
    // A valid token not seen before is held up too: the limit is the client address's.
    const fresh = await send(registry, 'GET', '/v2/', { headers: { authorization: basicAuthorization('ci', await mint(JOB)) } });
    assert.equal(fresh.status, 429, fresh.text);
    const atToken = await tokenForm({ grant_type: 'password', username: 'ci', password: await mint(JOB) });
    assert.equal(atToken.status, 429, atToken.text);
    // The token verified before still works, and so does a password from the same address.
    assert.equal((await send(registry, 'GET', '/v2/', { headers: { authorization: verified } })).status, 200);
    const password = basicAuthorization(ADMIN.user, ADMIN.password);
    assert.equal((await send(registry, 'GET', '/v2/', { headers: { authorization: password } })).status, 200);
  });
});
