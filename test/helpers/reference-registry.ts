// Starts the reference registry (Debian package docker-registry, CNCF Distribution 2.8) for
// tests that need it whatever BERTH_TEST_TARGET says, optionally with Basic auth over an
// htpasswd file, on a free loopback port; stopped by PID.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface ReferenceRegistryOptions {
  /** auth.htpasswd: Basic authentication with the users of this file. */
  readonly htpasswd?: { readonly realm: string; readonly path: string };
}

export interface ReferenceRegistry {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and removes its data directory. */
  stop(): Promise<void>;
}

/** The reference registry's config.yml: quiet logs, a filesystem root, loopback, optional htpasswd. */
export function referenceConfig(options: {
  readonly rootDirectory: string;
  readonly port: number;
  readonly deleteEnabled: boolean;
  readonly htpasswd?: { readonly realm: string; readonly path: string };
}): string {
  const auth = options.htpasswd
    ? ['auth:', '  htpasswd:', `    realm: ${JSON.stringify(options.htpasswd.realm)}`, `    path: ${JSON.stringify(options.htpasswd.path)}`]
    : [];
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(options.rootDirectory)}`,
    '  delete:',
    `    enabled: ${options.deleteEnabled}`,
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    ...auth,
    '',
  ].join('\n');
}

export async function startReferenceRegistry(options: ReferenceRegistryOptions = {}): Promise<ReferenceRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-reference-'));
  // Another process may take the port between freePort() and the bind; try a few ports.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(dir, options);
    } catch (error) {
      if (attempt === 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

async function startOnce(dir: string, options: ReferenceRegistryOptions): Promise<ReferenceRegistry> {
  const port = await freePort();
  const configFile = join(dir, 'config.yml');
  await writeFile(
    configFile,
    referenceConfig({
      rootDirectory: join(dir, 'data'),
      port,
      deleteEnabled: true,
      ...(options.htpasswd ? { htpasswd: options.htpasswd } : {}),
    }),
  );
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collected: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => collected.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => collected.push(chunk.toString()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`reference registry exited:\n${collected.join('')}`);
    // Ours answers /v2/ with the API version header (401 with auth on, 200 without).
    const answered = await Promise.race([
      fetch(`${url}/v2/`).then(
        async (response) => {
          await response.arrayBuffer();
          return response.headers.get('docker-distribution-api-version') === 'registry/2.0';
        },
        () => false,
      ),
      spawnFailed,
    ]);
    if (answered) {
      await pause(100);
      if (child.exitCode !== null) throw new Error(`reference registry exited:\n${collected.join('')}`);
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`reference registry did not start:\n${collected.join('')}`);
    }
    await pause(100);
  }
  return {
    url,
    pid: child.pid ?? -1,
    output: () => collected.join(''),
    async stop() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
