// The request head limits of test/http/body-limits.test.ts over TLS (issue 13): request heads
// over 16 KiB get 431 with an OCI body however many headers they are made of, and CONNECT gets
// 405 UNSUPPORTED, over HTTPS/1.1 (ALPN http/1.1 on the HTTP/2 server, and the HTTPS-only
// server of http.http2.disabled) and over HTTP/2; and a trickling body is cut off over HTTP/2
// as over HTTP/1.1. Raw TLS sockets and node:http2 on loopback.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as http2Connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { writeDevCertificates } from '../../src/server/dev-cert.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const skip = testTarget === 'reference' ? 'TLS tests start Berth with its own dev certificates' : false;

/** Status line and body of one HTTP/1.1 exchange over TLS (the server closes, or the body is complete). */
function tlsExchange(url: string, ca: string, request: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () =>
      socket.write(request),
    );
    let received = '';
    const finish = (): boolean => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
      if (received.length < end + 4 + length) return false;
      resolve({ status: Number(received.split(' ')[1]), body: received.slice(end + 4, end + 4 + length) });
      socket.destroy();
      return true;
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      finish();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (!finish()) reject(new Error(`closed without an answer: ${JSON.stringify(received.slice(0, 200))}`));
    });
  });
}

function h2Request(session: ClientHttp2Session, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: true });
    let responseHeaders: IncomingHttpHeaders = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), body }));
  });
}

function assertOciBody(body: string, code: string): void {
  const parsed = JSON.parse(body) as { errors?: { code: string }[] };
  assert.ok(
    parsed.errors?.some((error) => error.code === code),
    `expected ${code} in ${body}`,
  );
}

/** `count` header lines "x-h0001: a": 2,000 of them are about 23 KB. */
function headerLines(count: number): string {
  return Array.from({ length: count }, (_, i) => `x-h${String(i).padStart(4, '0')}: a\r\n`).join('');
}

describe('request limits over TLS', { skip, timeout: 60_000 }, () => {
  let dir = '';
  let ca = '';
  let h2Registry: TestRegistry | undefined;
  let httpsRegistry: TestRegistry | undefined;
  let session: ClientHttp2Session | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-limits-tls-'));
    const certs = await writeDevCertificates({ hosts: [], outDir: join(dir, 'certs'), days: 2 });
    ca = await readFile(certs.caCert, 'utf8');
    // A body must bring 1.2 KiB in every period of 300 ms (for the trickle below).
    const env = { BERTH_LIMITS_BODYTIMEOUT: '300ms', BERTH_LIMITS_BODYMINRATE: '4096' };
    [h2Registry, httpsRegistry] = await Promise.all([
      startRegistry({ tls: { certificate: certs.serverCert, key: certs.serverKey }, env }),
      startRegistry({ tls: { certificate: certs.serverCert, key: certs.serverKey, http2Disabled: true }, env }),
    ]);
    const url = h2Registry.url;
    session = await new Promise<ClientHttp2Session>((resolve, reject) => {
      const opened = http2Connect(url, { ca, servername: 'localhost' });
      opened.once('connect', () => resolve(opened));
      opened.once('error', reject);
    });
  });

  after(async () => {
    session?.destroy();
    await Promise.all([h2Registry?.stop(), httpsRegistry?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  for (const server of ['HTTP/2 server, HTTP/1.1 by ALPN', 'HTTPS-only server'] as const) {
    const url = (): string => {
      const registry = server === 'HTTPS-only server' ? httpsRegistry : h2Registry;
      assert.ok(registry, 'before() did not finish');
      return registry.url;
    };

    it(`${server}: 2,000 small headers (over 16 KiB in all) get 431 with an OCI body`, async () => {
      const answer = await tlsExchange(url(), ca, `GET /v2/ HTTP/1.1\r\nHost: localhost\r\n${headerLines(2000)}\r\n`);
      assert.equal(answer.status, 431);
      assertOciBody(answer.body, 'BAD_REQUEST');
    });

    it(`${server}: CONNECT gets 405 UNSUPPORTED with an OCI body`, async () => {
      const answer = await tlsExchange(url(), ca, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      assert.equal(answer.status, 405);
      assertOciBody(answer.body, 'UNSUPPORTED');
    });
  }

  it('HTTP/2: 600 small headers (over 16 KiB in all) get 431 with an OCI body', async () => {
    assert.ok(session, 'before() did not finish');
    const headers: Record<string, string> = { ':method': 'GET', ':path': '/v2/' };
    // Each "x-header-0001: aaaaaaaaaaaaaaaaaaaa" line is 37 bytes on HTTP/1.1: 600 are 22 KB.
    for (let i = 0; i < 600; i++) headers[`x-header-${String(i).padStart(4, '0')}`] = 'a'.repeat(20);
    const answer = await h2Request(session, headers);
    assert.equal(answer.status, 431);
    assertOciBody(answer.body, 'BAD_REQUEST');
  });

  it('HTTP/2: a request with a head under 16 KiB is served', async () => {
    assert.ok(session, 'before() did not finish');
    const headers: Record<string, string> = { ':method': 'GET', ':path': '/v2/' };
    for (let i = 0; i < 300; i++) headers[`x-header-${String(i).padStart(4, '0')}`] = 'a'.repeat(20);
    assert.equal((await h2Request(session, headers)).status, 200);
  });

  it('HTTP/2: a body trickling a byte at a time is cut off with 408 and an OCI body', async () => {
    assert.ok(session, 'before() did not finish');
    const stream = session.request({
      ':method': 'PUT',
      ':path': '/v2/trickle/h2/manifests/latest',
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'content-length': '4096',
    });
    const timer = setInterval(() => stream.write('{'), 50);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        let status = 0;
        let body = '';
        stream.setEncoding('utf8');
        stream.on('response', (h) => {
          status = Number(h[':status']);
        });
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', (error: Error) => (status ? resolve({ status, body }) : reject(error)));
      });
      assert.equal(answer.status, 408);
      assertOciBody(answer.body, 'BAD_REQUEST');
    } finally {
      clearInterval(timer);
      stream.destroy();
    }
  });

  it('HTTP/2: CONNECT gets 405 UNSUPPORTED with an OCI body', async () => {
    assert.ok(session, 'before() did not finish');
    const answer = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
    assert.equal(answer.status, 405);
    assertOciBody(answer.body, 'UNSUPPORTED');
  });
});
