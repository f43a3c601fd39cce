// End to end over TLS with real clients: Berth serves a development certificate (what
// `berth tls dev-cert` writes); skopeo copy and podman push upload an image built with buildah
// with certificate verification on (--cert-dir holding the CA), podman and skopeo pull it back
// with the same digests and bytes, and without the CA the clients refuse the registry. These Go
// clients stay on HTTP/1.1 over TLS; curl (nghttp2) pushes and reads over HTTP/2.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeDevCertificates } from '../../src/server/dev-cert.js';
import { ClientCommandError, ContainerClients, runCommand, sha256Digest, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { assertFiles, filePaths, readOciLayout, stopRegistry } from './support.js';

const skip = testTarget === 'reference' ? 'Berth with its own development certificate' : false;

interface AccessLogLine {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly http: string;
}

interface CurlResult {
  readonly status: number;
  /** curl's %{http_version}: "2" for HTTP/2. */
  readonly version: string;
  readonly location: string | undefined;
  readonly body: Buffer;
}

/** The registry's access-log lines (one JSON object per request). */
function accessLog(registry: TestRegistry): AccessLogLine[] {
  const lines: AccessLogLine[] = [];
  for (const text of registry.output().split('\n')) {
    if (!text.startsWith('{')) continue;
    const entry = JSON.parse(text) as Partial<AccessLogLine> & { msg?: string };
    if (entry.msg === 'request' && entry.method && entry.url && entry.status && entry.http) {
      lines.push({ method: entry.method, url: entry.url, status: entry.status, http: entry.http });
    }
  }
  return lines;
}

describe('real clients over HTTPS with a development certificate', { skip, concurrency: false }, () => {
  let dir = '';
  let certDir = '';
  let registry: TestRegistry | undefined;
  let builder: ContainerClients | undefined;
  let puller: ContainerClients | undefined;
  let image: BuiltImage;
  const pushed = new Map<string, string>();

  const env = (): { registry: TestRegistry; builder: ContainerClients; puller: ContainerClients } => {
    assert.ok(registry && builder && puller, 'before() did not finish');
    return { registry, builder, puller };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-e2e-tls-'));
    const certs = await writeDevCertificates({ hosts: [], outDir: join(dir, 'certs'), days: 2 });
    // What the clients read: a directory with the CA as ca.crt, as /etc/containers/certs.d/HOST:PORT.
    certDir = join(dir, 'trust');
    await mkdir(certDir);
    await copyFile(certs.caCert, join(certDir, 'ca.crt'));
    registry = await startRegistry({ tls: { certificate: certs.serverCert, key: certs.serverKey } });
    builder = await ContainerClients.create();
    puller = await ContainerClients.create();
    image = await builder.buildImage({
      name: 'localhost/e2e/tls:1',
      layers: [
        [100, 8 * 1024],
        [64 * 1024, 3 * 1024 * 1024],
      ],
    });
  });

  after(async () => {
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await stopRegistry(registry);
    await rm(dir, { recursive: true, force: true });
  });

  it('skopeo copy pushes with --dest-cert-dir and --dest-tls-verify=true', async () => {
    const { registry, builder } = env();
    assert.match(registry.url, /^https:\/\//);
    const digestFile = join(await builder.scratchDir('digest'), 'digest');
    await builder.skopeo([
      'copy',
      '--dest-cert-dir',
      certDir,
      '--dest-tls-verify=true',
      '--digestfile',
      digestFile,
      builder.storageRef(image.name),
      `docker://${registry.hostPort}/e2e/tls-skopeo:1`,
    ]);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    pushed.set('e2e/tls-skopeo', digest);
  });

  it('podman push uploads with --cert-dir and --tls-verify=true', async () => {
    const { registry, builder } = env();
    const digestFile = join(await builder.scratchDir('digest'), 'digest');
    await builder.podman([
      'push',
      '--cert-dir',
      certDir,
      '--tls-verify=true',
      '--digestfile',
      digestFile,
      image.name,
      `${registry.hostPort}/e2e/tls-podman:1`,
    ]);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    pushed.set('e2e/tls-podman', digest);
  });

  it('records the protocol of every upload: these Go clients use HTTP/1.1 over TLS', (t) => {
    const { registry } = env();
    const uploads = accessLog(registry).filter((line) => /\/blobs\/uploads\//.test(line.url) && line.method !== 'GET');
    assert.ok(uploads.length >= 6, `expected the uploads of both pushes in the log, got ${uploads.length}`);
    assert.ok(
      uploads.some((line) => line.method === 'PUT' && line.status === 201),
      'uploads completed with PUT',
    );
    // containers/image builds its own http.Transport with a TLS config and without
    // ForceAttemptHTTP2, so Go does not offer h2 in ALPN: HTTP/2 is exercised by curl below.
    const protocols = [...new Set(uploads.map((line) => line.http))];
    t.diagnostic(`skopeo/podman upload protocol(s): ${protocols.join(', ')}`);
    for (const protocol of protocols) assert.match(protocol, /^(1\.1|2\.0)$/);
  });

  it('curl --http2 pushes a blob (POST, PATCH, PUT) and a manifest over HTTP/2 that skopeo then reads', async () => {
    const { registry, puller } = env();
    const work = await mkdtemp(join(dir, 'curl-'));
    const caFile = join(certDir, 'ca.crt');
    const curl = async (method: string, url: string, extra: readonly string[] = []): Promise<CurlResult> => {
      const headers = join(work, 'headers');
      const body = join(work, 'body');
      const result = await runCommand(
        'curl',
        [
          '-sS',
          '--http2',
          '--cacert',
          caFile,
          '-X',
          method,
          '-D',
          headers,
          '-o',
          body,
          '-w',
          '%{http_code} %{http_version}',
          ...extra,
          url,
        ],
        { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      );
      const [status, version] = result.stdout.trim().split(' ');
      const headerText = await readFile(headers, 'utf8');
      const location = /^location: (.+)$/im.exec(headerText)?.[1]?.trim();
      return { status: Number(status), version: version ?? '', location, body: await readFile(body) };
    };
    const repo = 'e2e/tls-curl';
    const layer = randomBytes(3 * 1024 * 1024 + 17);
    const layerFile = join(work, 'layer');
    await writeFile(layerFile, layer);

    const started = await curl('POST', `${registry.url}/v2/${repo}/blobs/uploads/`);
    assert.deepEqual([started.status, started.version], [202, '2']);
    assert.ok(started.location);
    const patched = await curl('PATCH', new URL(started.location, registry.url).href, [
      '-H',
      'Content-Type: application/octet-stream',
      '--data-binary',
      `@${layerFile}`,
    ]);
    assert.deepEqual([patched.status, patched.version], [202, '2'], patched.body.toString());
    assert.ok(patched.location);
    const done = new URL(patched.location, registry.url);
    done.searchParams.set('digest', sha256Digest(layer));
    const completed = await curl('PUT', done.href);
    assert.deepEqual([completed.status, completed.version], [201, '2'], completed.body.toString());

    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configFile = join(work, 'config');
    await writeFile(configFile, config);
    const monolithic = await curl('POST', `${registry.url}/v2/${repo}/blobs/uploads/?digest=${sha256Digest(config)}`, [
      '-H',
      'Content-Type: application/octet-stream',
      '--data-binary',
      `@${configFile}`,
    ]);
    assert.deepEqual([monolithic.status, monolithic.version], [201, '2'], monolithic.body.toString());

    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Digest(layer), size: layer.length }],
      }),
    );
    const manifestFile = join(work, 'manifest');
    await writeFile(manifestFile, manifest);
    const put = await curl('PUT', `${registry.url}/v2/${repo}/manifests/1`, [
      '-H',
      'Content-Type: application/vnd.oci.image.manifest.v1+json',
      '--data-binary',
      `@${manifestFile}`,
    ]);
    assert.deepEqual([put.status, put.version], [201, '2'], put.body.toString());

    const got = await curl('GET', `${registry.url}/v2/${repo}/blobs/${sha256Digest(layer)}`);
    assert.deepEqual([got.status, got.version], [200, '2']);
    assert.equal(sha256Digest(got.body), sha256Digest(layer), 'the layer comes back byte for byte');
    const raw = await puller.skopeo([
      'inspect',
      '--raw',
      '--cert-dir',
      certDir,
      '--tls-verify=true',
      `docker://${registry.hostPort}/${repo}:1`,
    ]);
    assert.deepEqual(raw.stdoutBytes, manifest, 'skopeo reads the manifest curl pushed over HTTP/2');
    assert.ok(
      accessLog(registry).some((line) => line.method === 'PATCH' && line.url.includes(repo) && line.http === '2.0'),
      'the registry served the PATCH over HTTP/2',
    );
  });

  it('podman pull with the CA returns the same image, digest and files', async () => {
    const { registry, puller } = env();
    for (const [repo, digest] of pushed) {
      const reference = `${registry.hostPort}/${repo}:1`;
      const result = await puller.podman(['pull', '-q', '--cert-dir', certDir, '--tls-verify=true', reference]);
      assert.equal(result.stdout.trim().split('\n').pop(), image.id, `${repo}: image ID (config digest)`);
      const pulledDigest = (await puller.podman(['image', 'inspect', '--format', '{{.Digest}}', reference])).stdout.trim();
      assert.equal(pulledDigest, digest, `${repo}: manifest digest`);
      assertFiles(await puller.readImageFiles(reference, filePaths(image.files)), image.files);
    }
  });

  it('skopeo reads the manifest and copies the image back byte for byte with the CA', async () => {
    const { registry, puller } = env();
    for (const [repo, digest] of pushed) {
      const source = `docker://${registry.hostPort}/${repo}:1`;
      const raw = await puller.skopeo(['inspect', '--raw', '--cert-dir', certDir, '--tls-verify=true', source]);
      assert.equal(sha256Digest(raw.stdoutBytes), digest, `${repo}: sha256 of the served manifest`);

      const layout = join(await puller.scratchDir('layout'), 'oci');
      await puller.skopeo(['copy', '--src-cert-dir', certDir, '--src-tls-verify=true', source, `oci:${layout}:v1`]);
      const copied = await readOciLayout(layout, 'v1');
      assert.equal(copied.manifestDigest, digest, `${repo}: copied manifest digest`);
      for (const [blobDigest, bytes] of copied.blobs) assert.equal(sha256Digest(bytes), blobDigest);
    }
  });

  it('refuses the registry without the CA (--tls-verify=true)', async () => {
    const { registry, puller } = env();
    const source = `docker://${registry.hostPort}/e2e/tls-skopeo:1`;
    await assert.rejects(puller.skopeo(['inspect', '--raw', '--tls-verify=true', source]), (error: unknown) => {
      assert.ok(error instanceof ClientCommandError);
      assert.match(error.stderr, /x509: certificate signed by unknown authority|tls: failed to verify certificate/);
      return true;
    });
    await assert.rejects(puller.podman(['pull', '-q', '--tls-verify=true', `${registry.hostPort}/e2e/tls-podman:1`]), (error: unknown) => {
      assert.ok(error instanceof ClientCommandError);
      assert.match(error.stderr, /x509: certificate signed by unknown authority|tls: failed to verify certificate/);
      return true;
    });
  });
});
