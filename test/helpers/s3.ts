// Starts a real S3-compatible server for tests: ../shared/services/start-s3.sh (Ceph RGW by
// default, OpenStack Swift's s3api with S3_BACKEND=swift) on a free loopback port, and stops
// it again by its PID files (stop-s3.sh --purge). The first start installs the packages with
// apt and takes a minute or more. With S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY set, that
// server is used instead and left running.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface TestS3 {
  /** "http://127.0.0.1:PORT" */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** A bucket that exists and that the keys may use. */
  readonly bucket: string;
  readonly region: string;
  /** "ceph", "swift", "moto", or "external" for a server given through S3_ENDPOINT. */
  readonly backend: string;
  /** Seconds start-s3.sh took (0 for an external server). */
  readonly startSeconds: number;
  /** Stops a server this helper started and removes its data; leaves an external one alone. */
  stop(): Promise<void>;
}

const projectRoot = resolve(import.meta.dirname, '..', '..');

/** Where start-s3.sh and stop-s3.sh live: BERTH_S3_SERVICES, else ../shared/services. */
const servicesDir = process.env.BERTH_S3_SERVICES ?? join(projectRoot, '..', 'shared', 'services');

/** Ports a backend needs next to PORT: Ceph PORT+10..PORT+19, Swift PORT+1..PORT+4. */
const PORT_SPAN = 20;

export async function startS3(): Promise<TestS3> {
  const external = externalServer();
  if (external !== undefined) {
    return external;
  }
  const script = join(servicesDir, 'start-s3.sh');
  if (!existsSync(script)) {
    throw new Error(`cannot start S3: ${script} not found (set BERTH_S3_SERVICES to its folder)`);
  }
  const backend = process.env.S3_BACKEND ?? 'ceph';
  let lastError: Error | undefined;
  // A port free when chosen may be taken before the server binds it: then try another.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePortRange(PORT_SPAN);
    const started = Date.now();
    let output: { stdout: string; stderr: string };
    try {
      output = await run('bash', [script, String(port)], 15 * 60_000);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      await run('bash', [join(servicesDir, 'stop-s3.sh'), String(port), '--purge'], 120_000).catch(() => undefined);
      if (/port \d+ is in use/.test(lastError.message)) continue;
      break;
    }
    const values = parseEnvLines(output.stdout);
    const endpoint = values.get('S3_ENDPOINT');
    const accessKey = values.get('S3_ACCESS_KEY');
    const secretKey = values.get('S3_SECRET_KEY');
    const bucket = values.get('S3_BUCKET');
    if (endpoint === undefined || accessKey === undefined || secretKey === undefined || bucket === undefined) {
      throw new Error(`start-s3.sh printed no S3_* settings:\n${output.stdout}\n${output.stderr}`);
    }
    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      accessKey,
      secretKey,
      bucket,
      region: values.get('S3_REGION') ?? 'us-east-1',
      backend,
      startSeconds: (Date.now() - started) / 1000,
      stop: () => {
        stopped ??= run('bash', [join(servicesDir, 'stop-s3.sh'), String(port), '--purge'], 120_000).then(() => undefined);
        return stopped;
      },
    };
  }
  throw new Error(
    `cannot start S3 (S3_BACKEND=${backend}) with ${script}: ${lastError?.message ?? 'unknown error'}\n` +
      'Run it by hand to see why, or set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and S3_BUCKET) ' +
      'to use a running server; BERTH_SKIP_S3=1 skips the S3 tests.',
    { cause: lastError },
  );
}

function externalServer(): TestS3 | undefined {
  const endpoint = process.env.S3_ENDPOINT;
  const accessKey = process.env.S3_ACCESS_KEY;
  const secretKey = process.env.S3_SECRET_KEY;
  if (endpoint === undefined || endpoint === '' || accessKey === undefined || secretKey === undefined) {
    return undefined;
  }
  return {
    endpoint,
    accessKey,
    secretKey,
    bucket: process.env.S3_BUCKET ?? 'registry-test',
    region: process.env.S3_REGION ?? 'us-east-1',
    backend: process.env.S3_BACKEND ?? 'external',
    startSeconds: 0,
    stop: () => Promise.resolve(),
  };
}

/** "S3_X=value" lines of start-s3.sh's output. */
function parseEnvLines(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], match[2]);
  }
  return values;
}

/** A port P on 127.0.0.1 such that P..P+span-1 are all free right now. */
async function freePortRange(span: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = 20_000 + Math.floor(Math.random() * (40_000 - span));
    let free = true;
    for (let port = first; port < first + span && free; port += 1) {
      free = await isFree(port);
    }
    if (free) return first;
  }
  throw new Error(`no ${span} consecutive free loopback ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function run(command: string, args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    execFile(command, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${args[0] ?? command} failed (${error.message.split('\n')[0] ?? ''}):\n${tail}`, { cause: error }));
        return;
      }
      resolveRun({ stdout, stderr });
    });
  });
}

/**
 * The environment that points Berth's storage at this S3 server (Distribution's
 * REGISTRY_STORAGE_S3_* names), under its own key prefix so tests never see each other's data.
 */
export function s3Environment(s3: TestS3, rootDirectory: string): Record<string, string> {
  return {
    REGISTRY_STORAGE_S3_BUCKET: s3.bucket,
    REGISTRY_STORAGE_S3_REGION: s3.region,
    REGISTRY_STORAGE_S3_REGIONENDPOINT: s3.endpoint,
    REGISTRY_STORAGE_S3_ACCESSKEY: s3.accessKey,
    REGISTRY_STORAGE_S3_SECRETKEY: s3.secretKey,
    REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
    REGISTRY_STORAGE_S3_ROOTDIRECTORY: rootDirectory,
  };
}

/**
 * startS3(), or, when it fails and BERTH_SKIP_S3=1 allows skipping, the reason to skip (a
 * string). Without that variable a start failure fails the test file: S3 tests never skip
 * silently.
 */
export async function startS3OrSkip(): Promise<TestS3 | string> {
  try {
    return await startS3();
  } catch (error) {
    if (process.env.BERTH_SKIP_S3 !== '1') throw error;
    return `BERTH_SKIP_S3=1 and S3 could not be started: ${error instanceof Error ? error.message : String(error)}`;
  }
}
