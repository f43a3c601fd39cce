// What the import tests share: the reference registry (Debian's docker-registry, CNCF
// Distribution 2.8) started on a storage tree the test keeps (filesystem or S3), small pushes
// over its HTTP API (blobs, manifests by tag or digest, deletes, an upload left unfinished), and
// `berth import distribution` run as a process.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/ports.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const ACCEPT_ALL = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface S3Storage {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Distribution's storage.s3.rootdirectory, e.g. "/dist". */
  readonly rootdirectory: string;
}

export interface Distribution {
  readonly url: string;
  readonly hostPort: string;
  /** The config.yml it runs with (what `berth import distribution` may be given). */
  readonly configFile: string;
  stop(): Promise<void>;
}

/** Distribution's config.yml for a filesystem root or an S3 bucket, deletes enabled. */
export function distributionConfig(storage: { readonly root: string } | { readonly s3: S3Storage }, port: number): string {
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:'];
  if ('root' in storage) {
    lines.push('  filesystem:', `    rootdirectory: ${JSON.stringify(storage.root)}`);
  } else {
    const s3 = storage.s3;
    lines.push(
      '  s3:',
      `    region: ${s3.region}`,
      `    regionendpoint: ${s3.endpoint}`,
      `    bucket: ${s3.bucket}`,
      `    accesskey: ${s3.accessKey}`,
      `    secretkey: ${s3.secretKey}`,
      `    rootdirectory: ${s3.rootdirectory}`,
      '    secure: false',
      '    v4auth: true',
    );
  }
  lines.push('  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, '');
  return lines.join('\n');
}

/** Distribution 3.0.0 (../shared/reference/README.md), when this checkout sits beside it. */
export const DISTRIBUTION_3 = join(projectRoot, '..', 'shared', 'reference', 'distribution-registry-3.0.0');

/**
 * Starts docker-registry (or another Distribution binary) with its config.yml in configDir;
 * the data stays when it stops.
 */
export async function startDistribution(
  configDir: string,
  storage: { readonly root: string } | { readonly s3: S3Storage },
  binary = 'docker-registry',
): Promise<Distribution> {
  await mkdir(configDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const configFile = join(configDir, 'config.yml');
    await writeFile(configFile, distributionConfig(storage, port));
    // Its S3 driver panics on AWS_CA_BUNDLE ("HTTPClient's transport unsupported type").
    // 3.0 exports traces to localhost:4318 unless told not to.
    const { AWS_CA_BUNDLE: _ignored, ...env } = process.env;
    const child = spawn(binary, ['serve', configFile], {
      env: { ...env, OTEL_TRACES_EXPORTER: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    };
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      up = await fetch(`${url}/v2/`).then(
        (response) => response.arrayBuffer().then(() => response.status === 200),
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (up && child.exitCode === null) return { url, hostPort: `127.0.0.1:${port}`, configFile, stop };
    await stop();
    if (attempt === 3) throw new Error(`${binary} did not start:\n${output.join('')}`);
  }
}

/** A small client for the pushes the tests need, over plain HTTP. */
export class Pusher {
  constructor(readonly url: string) {}

  /** Uploads a blob (POST then PUT with the digest: 2.8 has no single-POST upload). */
  async blob(repository: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
    const digest = sha256(bytes);
    const location = await this.startUpload(repository);
    location.searchParams.set('digest', digest);
    const response = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    await expectStatus(response, 201, `blob upload to ${repository}`);
    return { digest, size: bytes.length };
  }

  /** Starts an upload and returns its location. */
  async startUpload(repository: string): Promise<URL> {
    const response = await fetch(`${this.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    await expectStatus(response, 202, `upload start in ${repository}`);
    return new URL(response.headers.get('location') ?? '', this.url);
  }

  /** Starts an upload, sends some bytes, and leaves it unfinished. */
  async unfinishedUpload(repository: string): Promise<string> {
    const location = await this.startUpload(repository);
    const response = await fetch(location, {
      method: 'PATCH',
      body: randomBytes(1000),
      headers: { 'content-type': 'application/octet-stream' },
    });
    await expectStatus(response, 202, 'upload chunk');
    return location.pathname.split('/').at(-1) ?? '';
  }

  /** PUTs a manifest by tag, or by its digest when reference is undefined; returns its digest and bytes. */
  async manifest(
    repository: string,
    reference: string | undefined,
    document: object,
    mediaType = OCI_MANIFEST,
  ): Promise<{ digest: string; bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(document));
    const digest = sha256(bytes);
    const response = await fetch(`${this.url}/v2/${repository}/manifests/${reference ?? digest}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    await expectStatus(response, 201, `manifest ${repository}:${reference ?? digest}`);
    return { digest, bytes };
  }

  /** A small OCI image (config and one random layer of `layerSize` bytes) under the tag. */
  async image(repository: string, tag: string | undefined, layerSize = 4096, annotations?: Record<string, string>) {
    const config = await this.blob(
      repository,
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', id: randomBytes(8).toString('hex') })),
    );
    const layer = await this.blob(repository, randomBytes(layerSize));
    const pushed = await this.manifest(repository, tag, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      ...(annotations ? { annotations } : {}),
    });
    return { ...pushed, config, layer };
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const response = await fetch(`${this.url}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
    await expectStatus(response, 202, `delete ${repository}@${digest}`);
  }

  /** The manifest bytes and digest header served for a tag or digest (undefined on 404). */
  async get(repository: string, reference: string): Promise<{ bytes: Buffer; digest: string | null; type: string | null } | undefined> {
    return getManifest(this.url, repository, reference);
  }
}

export async function getManifest(
  url: string,
  repository: string,
  reference: string,
): Promise<{ bytes: Buffer; digest: string | null; type: string | null } | undefined> {
  const response = await fetch(`${url}/v2/${repository}/manifests/${reference}`, { headers: { accept: ACCEPT_ALL } });
  if (response.status === 404) {
    await response.arrayBuffer();
    return undefined;
  }
  await expectStatus(response.clone(), 200, `GET ${repository}:${reference}`);
  return {
    bytes: Buffer.from(await response.arrayBuffer()),
    digest: response.headers.get('docker-content-digest'),
    type: response.headers.get('content-type'),
  };
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status === status) return;
  throw new Error(`${what}: ${response.status} ${await response.text()}`);
}

export interface ImportRun {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `berth import distribution ARGS` and waits for it. */
export function runImport(
  args: readonly string[],
  options: { onSpawn?: (pid: number) => void; env?: Readonly<Record<string, string>> } = {},
): Promise<ImportRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'import', 'distribution', ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.once('error', reject);
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.once('exit', (code, signal) => resolveRun({ code: code ?? signal ?? -1, stdout: stdout.join(''), stderr: stderr.join('') }));
  });
}

/** The number after "label: " in the import's summary. */
export function summaryCount(stdout: string, label: string): number {
  const match = new RegExp(`^${label}: (\\d+)`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" in the summary:\n${stdout}`);
  return Number(match[1]);
}
