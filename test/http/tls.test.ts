// HTTPS and HTTP/2: Berth started with a development certificate (http.tls) on a random loopback
// port. Over HTTP/1.1 and HTTP/2 (ALPN h2) the registry API works end to end: chunked and
// monolithic blob uploads with streamed bodies of unknown length, blob reads (whole, ranged,
// HEAD), manifests, OCI error bodies; untrusted clients are refused; http.http2.disabled offers
// HTTP/1.1 only; client CAs require a client certificate; a renewed certificate is picked up
// without a restart; REGISTRY_HTTP_TLS_* variables work; shutdown drains HTTP/2 sessions.
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect as http2Connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  createCertificateAuthority,
  issueCertificate,
  writeDevCertificates,
  type DevCertResult,
  type KeyAndCertificate,
} from '../../src/server/dev-cert.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, sha256, uniqueRepo } from './support.js';

const skip = testTarget === 'reference' ? 'TLS tests start Berth with its own dev certificates' : false;

interface H2Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * One HTTP/2 request. A body given as an array is streamed part by part without
 * content-length (the HTTP/2 form of a chunked body); a Buffer is sent with its length.
 */
function h2(
  session: ClientHttp2Session,
  method: string,
  path: string,
  headers: Readonly<Record<string, string | number>> = {},
  body?: Buffer | readonly Buffer[],
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const lengthHeader = Buffer.isBuffer(body) ? { 'content-length': body.length } : {};
    const stream = session.request({ ':method': method, ':path': path, ...lengthHeader, ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks) }));
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body !== undefined) {
      void (async () => {
        for (const part of body) {
          if (!stream.write(part)) await new Promise((r) => stream.once('drain', r));
          // Separate DATA frames arriving over time, as a client streaming from a file would send.
          await new Promise((r) => setImmediate(r));
        }
        stream.end();
      })();
    }
  });
}

function header(response: H2Response, name: string): string {
  const value = response.headers[name];
  assert.equal(typeof value, 'string', `header ${name}`);
  return String(value);
}

/** An HTTPS/1.1 GET; rejects on a TLS error. */
function httpsGet(
  url: string,
  options: { ca?: string; cert?: string; key?: string } = {},
): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ...options, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const socket = response.socket as { alpnProtocol?: string | false | null };
        resolve({ status: response.statusCode ?? 0, body, alpn: socket.alpnProtocol ?? null });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** Opens a TLS connection and reports the negotiated ALPN protocol and the server certificate. */
function tlsHandshake(hostPort: string, options: ConnectionOptions): Promise<{ alpn: string | false; fingerprint: string }> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port: Number(port), servername: undefined, ...options }, () => {
      const alpn = socket.alpnProtocol ?? false;
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve({ alpn, fingerprint });
    });
    socket.on('error', reject);
  });
}

function openH2(url: string, ca: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(url, { ca });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function closeH2(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) resolve();
    else session.close(() => resolve());
  });
}

describe('HTTPS and HTTP/2', { skip, concurrency: false }, () => {
  let dir = '';
  let certs: DevCertResult;
  let ca = '';
  let registry: TestRegistry | undefined;
  let session: ClientHttp2Session | undefined;
  const repo = uniqueRepo('tls');

  const env = (): { registry: TestRegistry; session: ClientHttp2Session } => {
    assert.ok(registry && session, 'before() did not finish');
    return { registry, session };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tls-'));
    certs = await writeDevCertificates({ hosts: [], outDir: join(dir, 'certs'), days: 2 });
    ca = await readFile(certs.caCert, 'utf8');
    registry = await startRegistry({ tls: { certificate: certs.serverCert, key: certs.serverKey } });
    session = await openH2(registry.url, ca);
  });

  after(async () => {
    if (session) await closeH2(session);
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves https:// and answers /v2/ to a client that trusts the CA, over HTTP/1.1 too', async () => {
    const { registry } = env();
    assert.match(registry.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await httpsGet(`${registry.url}/v2/`, { ca });
    assert.equal(response.status, 200);
    assert.equal(response.alpn, false, 'node:https offers no ALPN: the server falls back to HTTP/1.1');
    assert.deepEqual(JSON.parse(response.body) as unknown, {});
  });

  it('is refused by a client that does not trust the CA', async () => {
    const { registry } = env();
    await assert.rejects(httpsGet(`${registry.url}/v2/`), (error: NodeJS.ErrnoException) => {
      assert.match(error.code ?? '', /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      return true;
    });
  });

  it('negotiates HTTP/2 through ALPN', async () => {
    const { session } = env();
    assert.equal(session.alpnProtocol, 'h2');
    const response = await h2(session, 'GET', '/v2/');
    assert.equal(response.status, 200);
    assert.equal(header(response, 'docker-distribution-api-version'), 'registry/2.0');
  });

  it('over HTTP/2: chunked upload (POST, PATCH, PATCH streamed, PUT streamed), then GET, HEAD and a range', async () => {
    const { session } = env();
    const parts = [randomBytes(64 * 1024), randomBytes(300 * 1024), randomBytes(200 * 1024), randomBytes(10_000)];
    const blob = Buffer.concat(parts);
    const digest = sha256(blob);

    const started = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(started.status, 202, started.body.toString());
    let location = header(started, 'location');

    const first = parts[0] ?? Buffer.alloc(0);
    const patched = await h2(
      session,
      'PATCH',
      location,
      {
        'content-type': 'application/octet-stream',
        'content-range': `0-${first.length - 1}`,
      },
      first,
    );
    assert.equal(patched.status, 202, patched.body.toString());
    assert.equal(header(patched, 'range'), `0-${first.length - 1}`);
    location = header(patched, 'location');

    // A chunk of unknown length: DATA frames and no content-length (HTTP/2 has no chunked encoding).
    const streamed = await h2(session, 'PATCH', location, { 'content-type': 'application/octet-stream' }, [
      parts[1] ?? Buffer.alloc(0),
      parts[2] ?? Buffer.alloc(0),
    ]);
    assert.equal(streamed.status, 202, streamed.body.toString());
    const soFar = first.length + (parts[1]?.length ?? 0) + (parts[2]?.length ?? 0);
    assert.equal(header(streamed, 'range'), `0-${soFar - 1}`);
    location = header(streamed, 'location');

    const separator = location.includes('?') ? '&' : '?';
    const completed = await h2(session, 'PUT', `${location}${separator}digest=${digest}`, {}, [parts[3] ?? Buffer.alloc(0)]);
    assert.equal(completed.status, 201, completed.body.toString());
    assert.equal(header(completed, 'docker-content-digest'), digest);

    const got = await h2(session, 'GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), digest, 'GET returns the blob byte for byte');
    assert.equal(header(got, 'content-length'), String(blob.length));

    const head = await h2(session, 'HEAD', `/v2/${repo}/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(header(head, 'content-length'), String(blob.length));
    assert.equal(header(head, 'docker-content-digest'), digest);
    assert.equal(head.body.length, 0, 'HEAD has no body');

    const ranged = await h2(session, 'GET', `/v2/${repo}/blobs/${digest}`, { range: 'bytes=1000-70999' });
    assert.equal(ranged.status, 206);
    assert.equal(header(ranged, 'content-range'), `bytes 1000-70999/${blob.length}`);
    assert.deepEqual(ranged.body, blob.subarray(1000, 71_000));
  });

  it('over HTTP/2: monolithic POST ?digest= with a streamed body, and a 4 MiB one with a length', async () => {
    const { session } = env();
    const streamedBlob = randomBytes(150 * 1024);
    const streamed = await h2(
      session,
      'POST',
      `/v2/${repo}/blobs/uploads/?digest=${sha256(streamedBlob)}`,
      {
        'content-type': 'application/octet-stream',
      },
      [streamedBlob.subarray(0, 50_000), streamedBlob.subarray(50_000)],
    );
    assert.equal(streamed.status, 201, streamed.body.toString());

    const big = randomBytes(4 * 1024 * 1024);
    const sized = await h2(
      session,
      'POST',
      `/v2/${repo}/blobs/uploads/?digest=${sha256(big)}`,
      {
        'content-type': 'application/octet-stream',
      },
      big,
    );
    assert.equal(sized.status, 201, sized.body.toString());

    for (const blob of [streamedBlob, big]) {
      const got = await h2(session, 'GET', `/v2/${repo}/blobs/${sha256(blob)}`);
      assert.equal(got.status, 200);
      assert.equal(sha256(got.body), sha256(blob), 'byte for byte');
    }
  });

  it('over HTTP/2: PUT and GET a manifest byte for byte', async () => {
    const { session } = env();
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBytes(2048);
    for (const blob of [config, layer]) {
      const pushed = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {}, blob);
      assert.equal(pushed.status, 201);
    }
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MEDIA.ociManifest,
          config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
          layers: [{ mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length }],
        },
        null,
        3,
      ),
    );
    const put = await h2(session, 'PUT', `/v2/${repo}/manifests/v1`, { 'content-type': MEDIA.ociManifest }, manifest);
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(header(put, 'docker-content-digest'), sha256(manifest));

    const got = await h2(session, 'GET', `/v2/${repo}/manifests/v1`, { accept: MEDIA.ociManifest });
    assert.equal(got.status, 200);
    assert.equal(header(got, 'content-type'), MEDIA.ociManifest);
    assert.deepEqual(got.body, manifest);
    const head = await h2(session, 'HEAD', `/v2/${repo}/manifests/${sha256(manifest)}`, { accept: MEDIA.ociManifest });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('over HTTP/2: errors carry OCI JSON bodies (and HEAD errors none)', async () => {
    const { session } = env();
    const missing = sha256(randomBytes(16));
    const got = await h2(session, 'GET', `/v2/${repo}/blobs/${missing}`);
    assert.equal(got.status, 404);
    assert.match(header(got, 'content-type'), /^application\/json/);
    const body = JSON.parse(got.body.toString()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'BLOB_UNKNOWN');

    const head = await h2(session, 'HEAD', `/v2/${repo}/blobs/${missing}`);
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);

    // A digest that does not match the bytes: the upload fails with DIGEST_INVALID, not a 5xx.
    const wrong = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/?digest=${missing}`, {}, [randomBytes(1000)]);
    assert.equal(wrong.status, 400, wrong.body.toString());
    assert.equal((JSON.parse(wrong.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'DIGEST_INVALID');

    // A chunk refused halfway through its body (more bytes than its Content-Range declares).
    const upload = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/`);
    const overlong = await h2(session, 'PATCH', header(upload, 'location'), { 'content-range': '0-99' }, [
      randomBytes(64 * 1024),
      randomBytes(64 * 1024),
    ]);
    assert.equal(overlong.status, 400, overlong.body.toString());
    assert.equal((JSON.parse(overlong.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'SIZE_INVALID');

    // The session survives errors: another request on it still works.
    assert.equal((await h2(session, 'GET', '/v2/')).status, 200);
  });

  it('over HTTP/2: a client that resets an upload stream is logged as gone, not as a server error', async () => {
    const { registry, session } = env();
    const upload = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/`);
    const stream = session.request({ ':method': 'PATCH', ':path': header(upload, 'location') });
    stream.on('error', () => undefined);
    stream.write(randomBytes(32 * 1024));
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
    stream.close(constants.NGHTTP2_CANCEL);
    // Up to 30 s: on a loaded machine the server may take seconds to see the reset and log it.
    for (let attempt = 0; attempt < 600 && !/client disconnected/.test(registry.output()); attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(registry.output(), /client disconnected/);
    assert.doesNotMatch(registry.output(), /"request failed"/);
    assert.equal((await h2(session, 'GET', '/v2/')).status, 200);
  });

  it('shuts down gracefully: an HTTP/2 upload in flight finishes, idle sessions are closed, no drain timeout', async () => {
    const { registry, session } = env();
    const blob = randomBytes(256 * 1024);
    const started = await h2(session, 'POST', `/v2/${repo}/blobs/uploads/`);
    const location = header(started, 'location');
    const idle = await openH2(registry.url, ca);
    assert.equal((await h2(idle, 'GET', '/v2/')).status, 200);

    // Start a PATCH, send half, then ask the registry to stop, then send the rest.
    const patch = session.request({ ':method': 'PATCH', ':path': location, 'content-length': blob.length });
    const chunks: Buffer[] = [];
    let status = 0;
    patch.on('response', (h) => (status = Number(h[':status'])));
    patch.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<Error | undefined>((resolve) => {
      patch.on('end', () => resolve(undefined));
      patch.on('error', resolve);
    });
    patch.write(blob.subarray(0, blob.length / 2));
    // A PING is answered after every frame sent before it: the server then knows the stream, so
    // the GOAWAY of the shutdown lets it finish instead of refusing it.
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
    const idleClosed = new Promise<void>((resolve) => idle.once('close', resolve));
    const stopped = registry.stop({ keepData: true });
    const exited = registry.exited();
    await new Promise((r) => setTimeout(r, 200));
    patch.end(blob.subarray(blob.length / 2));
    assert.equal(await ended, undefined, 'the PATCH in flight completes');
    assert.equal(status, 202, Buffer.concat(chunks).toString());
    await idleClosed;
    await stopped;
    assert.equal(await exited, 0, registry.output().slice(-4000));
    assert.doesNotMatch(registry.output(), /drain timeout reached/);
  });
});

describe('HTTPS options', { skip, concurrency: false }, () => {
  let dir = '';
  let certs: DevCertResult;
  let ca = '';
  const started: TestRegistry[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tls-'));
    certs = await writeDevCertificates({ hosts: [], outDir: join(dir, 'certs'), days: 2 });
    ca = await readFile(certs.caCert, 'utf8');
  });

  after(async () => {
    await Promise.allSettled(started.map((registry) => registry.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (...args: Parameters<typeof startRegistry>): Promise<TestRegistry> => {
    const registry = await startRegistry(...args);
    started.push(registry);
    return registry;
  };

  it('with http.http2.disabled offers HTTP/1.1 only through ALPN', async () => {
    const registry = await start({ tls: { certificate: certs.serverCert, key: certs.serverKey, http2Disabled: true } });
    const handshake = await tlsHandshake(registry.hostPort, { ca, ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(handshake.alpn, 'http/1.1');
    assert.equal((await httpsGet(`${registry.url}/v2/`, { ca })).status, 200);

    // Shutdown over HTTPS/1.1: an idle keep-alive connection is closed, a busy one after its
    // response, and the process exits without waiting for the drain timeout.
    const agent = new HttpsAgent({ ca, keepAlive: true, maxSockets: 2 });
    const call = (method: string, path: string, body?: (request: ClientRequest) => Promise<void>) =>
      new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
        const request = httpsRequest(`${registry.url}${path}`, { method, agent }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, location: response.headers.location }));
        });
        request.on('error', reject);
        if (body) body(request).catch(reject);
        else request.end();
      });
    const started = await call('POST', '/v2/tls/h1-drain/blobs/uploads/');
    assert.equal(started.status, 202);
    const blob = randomBytes(128 * 1024);
    let sentHalf: () => void = () => undefined;
    const halfSent = new Promise<void>((resolve) => (sentHalf = resolve));
    let sendRest: () => void = () => undefined;
    const restAllowed = new Promise<void>((resolve) => (sendRest = resolve));
    const patched = call('PATCH', started.location ?? '', async (request) => {
      request.setHeader('Content-Length', blob.length);
      request.write(blob.subarray(0, blob.length / 2), () => sentHalf());
      await restAllowed;
      request.end(blob.subarray(blob.length / 2));
    });
    await halfSent;
    // The first request's connection may be the one the PATCH reuses; the other stays idle.
    const exited = registry.exited();
    const stopping = registry.stop({ keepData: true });
    await new Promise((r) => setTimeout(r, 200));
    sendRest();
    assert.equal((await patched).status, 202);
    await stopping;
    assert.equal(await exited, 0, registry.output().slice(-3000));
    assert.doesNotMatch(registry.output(), /drain timeout reached/);
    agent.destroy();
  });

  it('with http.tls.clientcas refuses clients without a certificate and serves those with one', async () => {
    const clientCa = createCertificateAuthority({ days: 2, commonName: 'test client CA' });
    const clientCaFile = join(dir, 'client-ca.crt');
    await writeFile(clientCaFile, clientCa.cert);
    const client = issueCertificate(clientCa, { hosts: ['ci-runner'], days: 2, usage: 'client' });
    const stranger = issueCertificate(createCertificateAuthority({ days: 2 }), { hosts: ['x'], days: 2, usage: 'client' });
    const registry = await start({
      tls: { certificate: certs.serverCert, key: certs.serverKey, clientcas: [clientCaFile] },
    });
    await assert.rejects(httpsGet(`${registry.url}/v2/`, { ca }), 'no client certificate');
    await assert.rejects(httpsGet(`${registry.url}/v2/`, { ca, cert: stranger.cert, key: stranger.key }), 'certificate of another CA');
    const ok = await httpsGet(`${registry.url}/v2/`, { ca, cert: client.cert, key: client.key });
    assert.equal(ok.status, 200);
    // And over HTTP/2.
    const session = http2Connect(registry.url, { ca, cert: client.cert, key: client.key });
    try {
      const response = await h2(session, 'GET', '/v2/');
      assert.equal(response.status, 200);
      assert.equal(session.alpnProtocol, 'h2');
    } finally {
      await closeH2(session);
    }
  });

  it('serves a renewed certificate without a restart', async () => {
    const rotating = join(dir, 'rotating');
    const own = await writeDevCertificates({ hosts: [], outDir: rotating, days: 2 });
    const caPem: KeyAndCertificate = { cert: await readFile(own.caCert, 'utf8'), key: await readFile(own.caKey, 'utf8') };
    const registry = await start({ tls: { certificate: own.serverCert, key: own.serverKey } });
    const before = await tlsHandshake(registry.hostPort, { ca: caPem.cert });
    assert.equal(before.fingerprint, new X509Certificate(await readFile(own.serverCert)).fingerprint256);

    const renewed = issueCertificate(caPem, { hosts: ['localhost', '127.0.0.1'], days: 30, usage: 'server' });
    const expected = new X509Certificate(renewed.cert).fingerprint256;
    // As certificate tools do: new files renamed over the old ones, key first.
    await writeFile(`${own.serverKey}.new`, renewed.key, { mode: 0o600 });
    await writeFile(`${own.serverCert}.new`, renewed.cert);
    await rename(`${own.serverKey}.new`, own.serverKey);
    await rename(`${own.serverCert}.new`, own.serverCert);

    let served = before.fingerprint;
    for (let attempt = 0; attempt < 300 && served !== expected; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      served = (await tlsHandshake(registry.hostPort, { ca: caPem.cert })).fingerprint;
    }
    assert.equal(served, expected, 'the renewed certificate is served');
    // The log line travels through a pipe and may arrive a moment after the handshake.
    for (let attempt = 0; attempt < 100 && !/TLS certificate reloaded/.test(registry.output()); attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(registry.output(), /TLS certificate reloaded/);
    assert.equal((await httpsGet(`${registry.url}/v2/`, { ca: caPem.cert })).status, 200);
  });

  it('reads REGISTRY_HTTP_TLS_CERTIFICATE and REGISTRY_HTTP_TLS_KEY from the environment', async () => {
    const registry = await start({
      env: { REGISTRY_HTTP_TLS_CERTIFICATE: certs.serverCert, REGISTRY_HTTP_TLS_KEY: certs.serverKey },
    });
    assert.match(registry.url, /^https:\/\//);
    assert.equal((await httpsGet(`${registry.url}/v2/`, { ca })).status, 200);
  });

  it('refuses to start when a file is missing or the key does not match, naming the key and file', async () => {
    const missing = join(dir, 'nope.key');
    await assert.rejects(start({ tls: { certificate: certs.serverCert, key: missing } }), (error: Error) => {
      assert.match(error.message, /exited with 2/);
      assert.match(error.message, new RegExp(`http\\.tls\\.key: ${missing.replace(/[.]/g, '\\.')} does not exist`));
      return true;
    });
    await assert.rejects(start({ tls: { certificate: certs.serverCert, key: certs.caKey } }), (error: Error) => {
      assert.match(error.message, /exited with 2/);
      assert.match(error.message, /http\.tls\.key: .*ca\.key is not the private key of the certificate in .*server\.crt/);
      return true;
    });
  });
});
