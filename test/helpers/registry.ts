// Starts a registry process for cross-process tests: Berth (default) or, with
// BERTH_TEST_TARGET=reference, the reference registry (Debian package docker-registry), so a
// test can be checked against the reference's behaviour. Each registry gets its own data
// directory and a random loopback port, and is stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './ports.js';
import { referenceConfig } from './reference-registry.js';

export interface RegistryOptions {
  /** storage.delete.enabled; default true. */
  readonly deleteEnabled?: boolean;
  /** Extra YAML appended to Berth's config file (ignored for the reference). */
  readonly extraConfig?: string;
  /** Reuse a data directory (for restart tests); default a new temporary one. */
  readonly dataDir?: string;
  /** Extra environment variables for the process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Serve HTTPS with these files (http.tls); `url` is then https://. Berth only. */
  readonly tls?: TestTlsOptions;
}

export interface TestTlsOptions {
  readonly certificate: string;
  readonly key: string;
  /** http.tls.clientcas: clients must present a certificate signed by one of these. */
  readonly clientcas?: readonly string[];
  /** http.http2.disabled */
  readonly http2Disabled?: boolean;
}

export interface TestRegistry {
  /** "http://127.0.0.1:PORT" ("https://..." with the tls option) */
  readonly url: string;
  /** "127.0.0.1:PORT", the form clients put in image references. */
  readonly hostPort: string;
  readonly dataDir: string;
  readonly target: 'berth' | 'reference';
  /** The registry process's id, for tests that signal it themselves. */
  readonly pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited(): Promise<number | string>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes the data directory unless keepData. */
  stop(options?: { keepData?: boolean; signal?: NodeJS.Signals }): Promise<void>;
}

const projectRoot = resolve(import.meta.dirname, '..', '..');

export const testTarget: 'berth' | 'reference' = process.env.BERTH_TEST_TARGET === 'reference' ? 'reference' : 'berth';

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  if (options.tls && testTarget === 'reference') {
    throw new Error('the tls option is not supported for the reference registry; skip such tests with BERTH_TEST_TARGET=reference');
  }
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  return testTarget === 'reference' ? startReference(dataDir, options) : startBerth(dataDir, options);
}

async function startBerth(dataDir: string, options: RegistryOptions): Promise<TestRegistry> {
  const configFile = join(dataDir, 'berth-test-config.yml');
  await writeFile(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      'http:',
      '  addr: 127.0.0.1:0',
      ...tlsConfigLines(options.tls),
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(dataDir)}`,
      '  delete:',
      `    enabled: ${options.deleteEnabled ?? true}`,
      options.extraConfig ?? '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'serve', '--config', configFile], {
    cwd: projectRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collected: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => collected.push(chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`berth did not start:\n${collected.join('')}`)), 30_000);
    lines.on('line', (line) => {
      collected.push(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url) {
          clearTimeout(timer);
          resolveUrl(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with ${code} before listening:\n${collected.join('')}`));
    });
  });
  return handle('berth', child, url, dataDir, options.dataDir === undefined, collected);
}

async function startReference(dataDir: string, options: RegistryOptions): Promise<TestRegistry> {
  const port = await freePort();
  const configFile = join(dataDir, 'reference-config.yml');
  await writeFile(
    configFile,
    referenceConfig({ rootDirectory: join(dataDir, 'reference'), port, deleteEnabled: options.deleteEnabled ?? true }),
  );
  const child = spawn('docker-registry', ['serve', configFile], {
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collected: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => collected.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => collected.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (;;) {
    // Another process may take the port between freePort() and the bind; then the reference
    // exits, and whatever answers on the port is not ours.
    if (child.exitCode !== null) throw new Error(`reference registry exited:\n${collected.join('')}`);
    const answered = await fetch(`${url}/v2/`).then(
      (response) => response.arrayBuffer().then(() => true),
      () => false,
    );
    if (answered) {
      await pause(100);
      if (child.exitCode !== null) throw new Error(`reference registry exited:\n${collected.join('')}`);
      break;
    }
    if (Date.now() > deadline) throw new Error(`reference registry did not start:\n${collected.join('')}`);
    await pause(100);
  }
  return handle('reference', child, url, dataDir, options.dataDir === undefined, collected);
}

function handle(
  target: 'berth' | 'reference',
  child: ChildProcess,
  url: string,
  dataDir: string,
  ownsDataDir: boolean,
  collected: string[],
): TestRegistry {
  const exit = new Promise<number | string>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit(child.exitCode ?? child.signalCode ?? -1);
    else child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  return {
    url,
    hostPort: new URL(url).host,
    dataDir,
    target,
    pid: child.pid ?? -1,
    output: () => collected.join(''),
    exited: () => exit,
    async stop({ keepData = false, signal = 'SIGTERM' } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownsDataDir && !keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The http.tls (and http.http2) lines of Berth's config, indented under `http:`. */
function tlsConfigLines(tls: TestTlsOptions | undefined): string[] {
  if (!tls) return [];
  return [
    '  tls:',
    `    certificate: ${JSON.stringify(tls.certificate)}`,
    `    key: ${JSON.stringify(tls.key)}`,
    ...(tls.clientcas ? [`    clientcas: ${JSON.stringify(tls.clientcas)}`] : []),
    ...(tls.http2Disabled ? ['  http2:', '    disabled: true'] : []),
  ];
}

/** The harness's own switches (CONTRIBUTING.md), which are no registry setting. */
const HARNESS_VARIABLES = /^BERTH_(TEST_|S3_SERVICES$|SKIP_S3$|E2E|FUZZ_)/;

/**
 * The environment of a process the tests start (a registry, a `berth` command): ours, without
 * the harness's own switches (Berth reads every BERTH_* variable as configuration and rejects
 * unknown keys).
 */
export function childEnv(extra?: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) if (HARNESS_VARIABLES.test(name)) delete env[name];
  return env;
}
