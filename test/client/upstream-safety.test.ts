// What a hostile, broken or slow upstream cannot make the client do. Tiny node:http servers on
// loopback play an upstream whose token realm or blob redirect points at another loopback port
// (refused unless allowPrivateAddresses; the configured upstream itself always allowed; the
// redirect target never sees Authorization), plus token refresh, protocol errors, timeouts,
// connection resets, aborts and backpressure. Real registries are in registry-client.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { RegistryClient, UpstreamError, type UpstreamEndpoint } from '../../src/client/index.js';

const USER = 'bob';
const PASSWORD = 's3cret-password-never-shown';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [MANIFEST_TYPE, 'application/vnd.oci.image.index.v1+json'];
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

interface TinyServer {
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: TinyServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse, server: TinyServer) => void): Promise<TinyServer> {
  const seen: Seen[] = [];
  const http = createServer((request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    handler(request, response, server);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  let closed = false;
  const server: TinyServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      http.closeAllConnections();
      return new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  servers.push(server);
  return server;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, layers: [] }));
const manifestDigest = sha256(manifest);

function sendManifest(response: ServerResponse, headers: Record<string, string> = {}): void {
  response.writeHead(200, {
    'content-type': MANIFEST_TYPE,
    'docker-content-digest': manifestDigest,
    'content-length': manifest.length,
    ...headers,
  });
  response.end(manifest);
}

function endpoint(server: TinyServer, extra: Partial<UpstreamEndpoint> = {}): UpstreamEndpoint {
  return { name: 'tiny', url: server.url, username: USER, password: PASSWORD, allowPrivateAddresses: false, ...extra };
}

async function expectError(
  promise: Promise<unknown>,
  kind: UpstreamError['kind'],
  secrets: readonly string[] = [],
): Promise<UpstreamError> {
  const error = await promise.then(
    () => assert.fail(`expected UpstreamError ${kind}`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  for (const secret of [PASSWORD, BASIC.slice(6), ...secrets])
    assert.ok(!error.message.includes(secret), `message leaks a secret: ${error.message}`);
  return error;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A token server: issues tok-1, tok-2, ...; records what it saw in `seen`. */
async function tokenServer(): Promise<TinyServer & { issued: string[] }> {
  const issued: string[] = [];
  const server = await serve((_request, response) => {
    const token = `tok-${issued.length + 1}-${randomBytes(4).toString('hex')}`;
    issued.push(token);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ token, expires_in: 300 }));
  });
  return Object.assign(server, { issued });
}

/** An upstream that asks for Bearer tokens from `realm` and accepts the ones `accepted` allows. */
async function bearerUpstream(realm: () => string, accepted: (token: string) => boolean): Promise<TinyServer> {
  return serve((request, response) => {
    const authorization = request.headers.authorization ?? '';
    if (authorization.startsWith('Bearer ') && accepted(authorization.slice(7))) {
      sendManifest(response);
      return;
    }
    response.writeHead(401, {
      'www-authenticate': `Bearer realm="${realm()}",service="tiny",scope="repository:team/app:pull"`,
      'content-type': 'application/json',
    });
    response.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  });
}

describe('token realm on another host', () => {
  it('is refused on loopback unless allowPrivateAddresses; then it gets the credentials, the upstream only the token', async () => {
    const realm = await tokenServer();
    const upstream = await bearerUpstream(
      () => `${realm.url}/token`,
      (token) => realm.issued.includes(token),
    );

    const strict = new RegistryClient(endpoint(upstream));
    await expectError(strict.getManifest('team/app', 'v1', ACCEPT), 'refused');
    await strict.close();
    assert.equal(realm.seen.length, 0, 'the refused realm must not be contacted');

    const lenient = new RegistryClient(endpoint(upstream, { allowPrivateAddresses: true }));
    const answer = await lenient.getManifest('team/app', 'v1', ACCEPT);
    await lenient.close();
    assert.ok(answer?.body.equals(manifest));
    assert.equal(realm.seen.length, 1);
    const tokenRequest = realm.seen[0];
    assert.equal(tokenRequest?.headers.authorization, BASIC);
    const query = new URL(tokenRequest?.url ?? '', realm.url).searchParams;
    assert.equal(query.get('service'), 'tiny');
    assert.deepEqual(query.getAll('scope'), ['repository:team/app:pull']);
    // The upstream saw no credentials, only the token.
    assert.ok(upstream.seen.every((request) => !request.headers.authorization?.startsWith('Basic')));
    assert.equal(upstream.seen.at(-1)?.headers.authorization, `Bearer ${realm.issued[0]}`);
  });

  it('checks the resolved address of a realm given by name (localhost), at connect time', async () => {
    const realm = await tokenServer();
    const upstream = await bearerUpstream(
      () => `http://localhost:${realm.port}/token`,
      () => false,
    );
    const client = new RegistryClient(endpoint(upstream));
    const error = await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'refused');
    assert.match(error.message, /loopback/);
    await client.close();
    assert.equal(realm.seen.length, 0);
  });

  it('refuses realms with other schemes, and invalid realm URLs are protocol errors', async () => {
    let realm = 'file:///etc/passwd';
    const upstream = await bearerUpstream(
      () => realm,
      () => false,
    );
    const client = new RegistryClient(endpoint(upstream, { allowPrivateAddresses: true }));
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'refused');
    realm = 'not a url';
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    await client.close();
  });

  it('anonymous token flow: the realm gets no Authorization when no credentials are configured', async () => {
    const realm = await tokenServer();
    const upstream = await bearerUpstream(
      () => `${realm.url}/token`,
      (token) => realm.issued.includes(token),
    );
    const client = new RegistryClient({ name: 'anon', url: upstream.url, allowPrivateAddresses: true });
    assert.ok(await client.getManifest('team/app', 'v1', ACCEPT));
    await client.close();
    assert.equal(realm.seen.length, 1);
    assert.equal(realm.seen[0]?.headers.authorization, undefined);
  });
});

describe('token refresh', () => {
  it('replaces a cached token the upstream rejects, once, and then gives up as unauthorized', async () => {
    const issued: string[] = [];
    let acceptAny = true;
    const revoked = new Set<string>();
    // Realm on the upstream's own host and port: allowed without allowPrivateAddresses.
    const upstream = await serve((request, response, self) => {
      if (request.url?.startsWith('/token')) {
        const token = `tok-${issued.length + 1}-${randomBytes(4).toString('hex')}`;
        issued.push(token);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ access_token: token }));
        return;
      }
      const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      if (acceptAny && issued.includes(token) && !revoked.has(token)) {
        sendManifest(response);
        return;
      }
      response.writeHead(401, { 'www-authenticate': `Bearer realm="${self.url}/token",service="tiny"` });
      response.end();
    });
    const client = new RegistryClient(endpoint(upstream));
    assert.ok(await client.getManifest('team/app', 'v1', ACCEPT));
    assert.ok(await client.headManifest('team/app', 'v1', ACCEPT));
    assert.equal(issued.length, 1, 'the token is cached');
    const scope = new URL(upstream.seen.find((r) => r.url.startsWith('/token'))?.url ?? '', upstream.url).searchParams.get('scope');
    assert.equal(scope, 'repository:team/app:pull', 'without a scope in the challenge, the pull scope is built');

    revoked.add(issued[0] ?? '');
    assert.ok(await client.getManifest('team/app', 'v1', ACCEPT));
    assert.equal(issued.length, 2, 'a rejected cached token is replaced');

    acceptAny = false;
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'unauthorized', issued);
    assert.equal(issued.length, 3, 'only one new token per request');
    await client.close();
  });

  it('turns a realm answer that is not JSON, or a refusal, into protocol and unauthorized errors', async () => {
    let mode: 'garbage' | 'refuse' | 'down' = 'garbage';
    const upstream = await serve((request, response, self) => {
      if (request.url?.startsWith('/token')) {
        if (mode === 'garbage') {
          response.writeHead(200, { 'content-type': 'text/html' });
          response.end('<html>login</html>');
        } else {
          response.writeHead(mode === 'refuse' ? 401 : 503);
          response.end();
        }
        return;
      }
      response.writeHead(401, { 'www-authenticate': `Bearer realm="${self.url}/token"` });
      response.end();
    });
    const client = new RegistryClient(endpoint(upstream));
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'refuse';
    assert.equal((await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'unauthorized')).status, 401);
    mode = 'down';
    assert.equal((await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'unreachable')).status, 503);
    await client.close();
  });
});

describe('blob redirects', () => {
  const blob = randomBytes(256 * 1024 + 7);
  const blobDigest = sha256(blob);

  /** The blob's bytes, as S3 or a CDN would serve them after the redirect. */
  async function storage(): Promise<TinyServer> {
    return serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
      response.end(blob);
    });
  }

  /** Basic auth; the blob GET redirects to location(). */
  async function redirectingUpstream(location: () => string, status = 307): Promise<TinyServer> {
    return serve((request, response) => {
      if (request.headers.authorization !== BASIC) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="tiny"' });
        response.end();
        return;
      }
      if (request.url?.startsWith('/elsewhere')) {
        response.writeHead(200, { 'content-length': blob.length });
        response.end(blob);
        return;
      }
      response.writeHead(status, { location: location() });
      response.end();
    });
  }

  it('refuses a redirect to another loopback port unless allowPrivateAddresses; then never forwards Authorization', async () => {
    const target = await storage();
    const upstream = await redirectingUpstream(() => `${target.url}/bucket/blob?X-Amz-Signature=abc`);

    const strict = new RegistryClient(endpoint(upstream));
    await expectError(strict.getBlob('team/app', blobDigest), 'refused');
    await expectError(strict.headBlob('team/app', blobDigest), 'refused');
    await strict.close();
    assert.equal(target.seen.length, 0, 'the refused target must not be contacted');

    const lenient = new RegistryClient(endpoint(upstream, { allowPrivateAddresses: true }));
    const answer = await lenient.getBlob('team/app', blobDigest);
    assert.ok(answer);
    assert.equal(answer.size, blob.length);
    assert.ok((await readAll(answer.stream)).equals(blob));
    assert.deepEqual(await lenient.headBlob('team/app', blobDigest), { size: blob.length });
    await lenient.close();

    assert.equal(target.seen.length, 2);
    for (const request of target.seen) {
      assert.equal(request.headers.authorization, undefined, 'the redirect target must not receive Authorization');
      assert.equal(request.url, '/bucket/blob?X-Amz-Signature=abc');
    }
    // The upstream itself did get the credentials, and the digest's colon stays in the path.
    const authenticated = upstream.seen.filter((request) => request.headers.authorization === BASIC);
    assert.ok(authenticated.length >= 2);
    assert.ok(authenticated.every((request) => request.url === `/v2/team/app/blobs/${blobDigest}`));
  });

  it('sizes a blob with GET when the redirect target refuses HEAD (URLs presigned for GET)', async () => {
    const target = await serve((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(403);
        response.end();
        return;
      }
      response.writeHead(200, { 'content-length': blob.length });
      response.end(blob);
    });
    const upstream = await redirectingUpstream(() => `${target.url}/signed-for-get`);
    const client = new RegistryClient(endpoint(upstream, { allowPrivateAddresses: true }));
    assert.deepEqual(await client.headBlob('team/app', blobDigest), { size: blob.length });
    await client.close();
    assert.deepEqual(
      target.seen.map((request) => request.method),
      ['HEAD', 'GET'],
    );
  });

  it('checks the resolved address of a redirect target given by name, and refuses non-http schemes', async () => {
    const target = await storage();
    let location = `http://localhost:${target.port}/blob`;
    const upstream = await redirectingUpstream(() => location);
    const client = new RegistryClient(endpoint(upstream));
    await expectError(client.getBlob('team/app', blobDigest), 'refused');
    location = 'file:///etc/passwd';
    await expectError(client.getBlob('team/app', blobDigest), 'refused');
    location = 'http://169.254.169.254/latest/meta-data/';
    await expectError(client.getBlob('team/app', blobDigest), 'refused');
    await client.close();
    assert.equal(target.seen.length, 0);
  });

  it('follows a same-origin redirect with the credentials, and gives up after five redirects', async () => {
    const upstream = await redirectingUpstream(() => '/elsewhere/blob', 302);
    const client = new RegistryClient(endpoint(upstream));
    const answer = await client.getBlob('team/app', blobDigest);
    assert.ok(answer && (await readAll(answer.stream)).equals(blob));
    await client.close();

    const looping = await redirectingUpstream(() => '/v2/team/app/blobs/loop');
    const loopClient = new RegistryClient(endpoint(looping));
    await expectError(loopClient.getBlob('team/app', blobDigest), 'protocol');
    await loopClient.close();
    // The first request, its authenticated retry and five redirects.
    assert.equal(looping.seen.length, 7);
  });
});

describe('answers that break the protocol', () => {
  it('protocol errors: manifest too large (declared or streamed), no Content-Type, bytes not matching the digest', async () => {
    let mode: 'large' | 'large-chunked' | 'no-type' | 'wrong-digest' | 'redirect-without-location' | 'teapot' = 'large';
    const upstream = await serve((_request, response) => {
      const big = Buffer.alloc(2048, 0x20);
      switch (mode) {
        case 'large':
          response.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': big.length });
          response.end(big);
          return;
        case 'large-chunked':
          response.writeHead(200, { 'content-type': MANIFEST_TYPE });
          response.write(big.subarray(0, 1000));
          response.end(big.subarray(1000));
          return;
        case 'no-type':
          response.writeHead(200, { 'content-length': manifest.length });
          response.end(manifest);
          return;
        case 'wrong-digest':
          sendManifest(response, { 'docker-content-digest': sha256(Buffer.from('other')) });
          return;
        case 'redirect-without-location':
          response.writeHead(302);
          response.end();
          return;
        case 'teapot':
          response.writeHead(418);
          response.end();
          return;
      }
    });
    const client = new RegistryClient(endpoint(upstream), { maxManifestBytes: 1024 });
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'large-chunked';
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'no-type';
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    await expectError(client.headManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'wrong-digest';
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'redirect-without-location';
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol');
    mode = 'teapot';
    assert.equal((await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'protocol')).status, 418);
    await client.close();
  });

  it('pull by digest: the bytes must match the digest asked for', async () => {
    const upstream = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': MANIFEST_TYPE });
      response.end(manifest);
    });
    const client = new RegistryClient(endpoint(upstream));
    const answer = await client.getManifest('team/app', manifestDigest, ACCEPT);
    assert.ok(answer);
    assert.ok(answer.body.equals(manifest));
    assert.equal(answer.digest, undefined);
    await expectError(client.getManifest('team/app', sha256(Buffer.from('x')), ACCEPT), 'protocol');
    await client.close();
  });

  it('5xx and 429 are unreachable, with the status', async () => {
    let status = 500;
    const upstream = await serve((_request, response) => {
      response.writeHead(status);
      response.end('oops');
    });
    const client = new RegistryClient(endpoint(upstream));
    for (const code of [500, 502, 503, 429]) {
      status = code;
      const error = await expectError(client.getBlob('team/app', manifestDigest), 'unreachable');
      assert.equal(error.status, code);
    }
    await client.close();
  });
});

describe('the wire', () => {
  it('sends User-Agent berth/<version>, the Accept list, and keeps slashes of nested names', async () => {
    const upstream = await serve((_request, response) => sendManifest(response));
    const client = new RegistryClient(endpoint(upstream));
    assert.ok(await client.getManifest('org/team/app', 'v1', ACCEPT));
    await client.close();
    const request = upstream.seen[0];
    assert.equal(request?.headers['user-agent'], `berth/${VERSION}`);
    assert.equal(request?.headers.accept, ACCEPT.join(', '));
    assert.equal(request?.url, '/v2/org/team/app/manifests/v1');
    // No challenge yet, so no credentials were sent unasked.
    assert.equal(request?.headers.authorization, undefined);
  });

  it('retries a GET once when the connection is reset before the response', async () => {
    let resets = 1;
    const upstream = await serve((request, response) => {
      if (resets > 0) {
        resets -= 1;
        request.socket.destroy();
        return;
      }
      sendManifest(response);
    });
    const client = new RegistryClient(endpoint(upstream));
    assert.ok(await client.getManifest('team/app', 'v1', ACCEPT));
    assert.equal(upstream.seen.length, 2);
    resets = 5;
    await expectError(client.headManifest('team/app', 'v1', ACCEPT), 'unreachable');
    assert.equal(upstream.seen.length, 4, 'one retry only');
    await client.close();
  });

  it('times out an upstream that never answers, and honours the caller abort signal', async () => {
    const upstream = await serve(() => {
      // never answers
    });
    const client = new RegistryClient(endpoint(upstream), { timeoutMs: 200 });
    await expectError(client.getManifest('team/app', 'v1', ACCEPT), 'unreachable');
    const controller = new AbortController();
    const pending = client.getBlob('team/app', manifestDigest, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, (error: unknown) => error instanceof Error && error.name === 'AbortError');
    await client.close();
  });

  it('a blob body cut short is an error on the stream', async () => {
    const upstream = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': 1024 * 1024 });
      response.write(Buffer.alloc(100 * 1024));
      setTimeout(() => response.socket?.destroy(), 50);
    });
    const client = new RegistryClient(endpoint(upstream));
    const answer = await client.getBlob('team/app', manifestDigest);
    assert.ok(answer);
    assert.equal(answer.size, 1024 * 1024);
    await expectError(readAll(answer.stream), 'unreachable');
    await client.close();
  });

  it('streams blobs with backpressure: an unread stream holds the upstream back', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let written = 0;
    const upstream = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': total });
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      pump();
    });
    const client = new RegistryClient(endpoint(upstream));
    const answer = await client.getBlob('team/app', manifestDigest);
    assert.ok(answer);
    // Give the upstream every chance to push more than the socket buffers hold.
    // (until it has written nothing more for three looks in a row).
    let previous = -1;
    let unchanged = 0;
    for (let i = 0; i < 60 && unchanged < 3; i += 1) {
      unchanged = written === previous ? unchanged + 1 : 0;
      previous = written;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(written < total / 2, `the upstream wrote ${written} of ${total} bytes into a stream nobody read`);
    let received = 0;
    for await (const part of answer.stream) received += (part as Buffer).length;
    assert.equal(received, total);
    await client.close();
  });
});
