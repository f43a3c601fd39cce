// Runs a tutorial's translated command lines the way a user types them: each through bash, in
// the tutorial's own working directory, with podman, curl, htpasswd and openssl from Debian and a
// `berth` command that runs this checkout. podman works on an isolated storage (the one a
// ContainerClients made, so images built by the test are seen by the podman the tutorial runs)
// and isolated configuration files (registries.conf, policy.json, containers.conf, auth.json).
// Berth starts run in the background, each in its own process group, stopped by that id.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ContainerClients } from '../helpers/clients.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');

export interface ShellResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Berth started by a tutorial step, in the background. */
export interface RunningBerth {
  readonly name: string;
  readonly pid: number;
  output(): string;
  /** Sends the signal to the process group and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export class TutorialShell {
  /** The tutorial's working directory (what `$(pwd)` is in its commands). */
  readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly registriesConf: string;
  private readonly running = new Map<string, { child: ChildProcess; exited: Promise<void>; collected: string[] }>();

  private constructor(
    private readonly dir: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.cwd = join(dir, 'tutorial');
    this.env = env;
    this.registriesConf = env.CONTAINERS_REGISTRIES_CONF ?? '';
  }

  static async create(clients: ContainerClients): Promise<TutorialShell> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tutorial-'));
    const home = join(dir, 'home');
    const containersConfig = join(home, '.config', 'containers');
    const bin = join(dir, 'bin');
    for (const path of [join(dir, 'tutorial'), containersConfig, bin, join(dir, 'tmp'), join(dir, 'libpod'), join(dir, 'runtime')]) {
      await mkdir(path, { recursive: true, mode: 0o700 });
    }
    // `berth` as the README has users run it, from this checkout's sources (as the other
    // cross-process tests run it, so a stale dist/ does not matter).
    await writeFile(
      join(bin, 'berth'),
      // tsx by its resolved URL: the tutorial's directory has no node_modules.
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import ${import.meta.resolve('tsx')} ${JSON.stringify(join(projectRoot, 'src/cli/main.ts'))} "$@"\n`,
    );
    await chmod(join(bin, 'berth'), 0o755);
    await writeFile(join(containersConfig, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(
      join(containersConfig, 'storage.conf'),
      [
        '[storage]',
        'driver = "vfs"',
        `graphroot = ${JSON.stringify(clients.root)}`,
        `runroot = ${JSON.stringify(clients.runroot)}`,
        '',
      ].join('\n'),
    );
    await writeFile(
      join(containersConfig, 'containers.conf'),
      [
        '[containers]',
        'netns = "none"',
        '',
        '[engine]',
        'events_logger = "none"',
        'cgroup_manager = "cgroupfs"',
        `tmp_dir = ${JSON.stringify(join(dir, 'libpod'))}`,
        '',
      ].join('\n'),
    );
    await writeFile(join(containersConfig, 'auth.json'), '{"auths":{}}\n');
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}`,
      LANG: 'C.UTF-8',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_RUNTIME_DIR: join(dir, 'runtime'),
      TMPDIR: join(dir, 'tmp'),
      CONTAINERS_CONF: join(containersConfig, 'containers.conf'),
      CONTAINERS_REGISTRIES_CONF: join(containersConfig, 'registries.conf'),
      CONTAINERS_STORAGE_CONF: join(containersConfig, 'storage.conf'),
      REGISTRY_AUTH_FILE: join(containersConfig, 'auth.json'),
    };
    const shell = new TutorialShell(dir, env);
    await shell.trustPlainHttp([]);
    return shell;
  }

  /**
   * Writes registries.conf. Docker talks plain HTTP to a registry on localhost or 127.0.0.0/8 by
   * itself; podman needs the address marked insecure (or --tls-verify=false on each command).
   * An empty list: every registry must speak TLS with a certificate podman trusts.
   */
  async trustPlainHttp(locations: readonly string[]): Promise<void> {
    const lines = ['unqualified-search-registries = []', ''];
    for (const location of locations) lines.push('[[registry]]', `location = ${JSON.stringify(location)}`, 'insecure = true', '');
    await writeFile(this.registriesConf, lines.join('\n'));
  }

  /** Runs one command line through bash in the tutorial directory. */
  run(commandLine: string, options: { readonly stdin?: string; readonly timeoutMs?: number } = {}): Promise<ShellResult> {
    return new Promise((resolveRun, reject) => {
      const stdin = options.stdin;
      const child = spawn('bash', ['-c', commandLine], {
        cwd: this.cwd,
        env: this.env,
        stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolveRun({ code, stdout, stderr });
      });
      if (stdin !== undefined && child.stdin) {
        // A command that exits without reading its input must not fail the run (EPIPE).
        child.stdin.on('error', () => undefined);
        child.stdin.end(stdin);
      }
    });
  }

  /**
   * Starts a long-running command line in the background; resolves once its output (either
   * stream) matches `ready`: by default Berth's 'listening' log line.
   */
  async start(name: string, commandLine: string, ready: RegExp = /"msg":"listening"/): Promise<RunningBerth> {
    if (this.running.has(name)) throw new Error(`${name} is already running`);
    // detached: its own process group (bash and the node it starts), stopped together by that id.
    const child = spawn('bash', ['-c', commandLine], { cwd: this.cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const collected: string[] = [];
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const started = new Promise<void>((resolveStart, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${collected.join('')}`)), 60_000);
      const onData = (chunk: string): void => {
        collected.push(chunk);
        buffered += chunk;
        if (ready.test(buffered)) {
          clearTimeout(timer);
          resolveStart();
        }
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before listening:\n${collected.join('')}`));
      });
    });
    try {
      await started;
    } catch (error) {
      // Not ready in time: end what it started (its process group) before failing.
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      throw error;
    }
    this.running.set(name, { child, exited, collected });
    return {
      name,
      pid: child.pid ?? -1,
      output: () => collected.join(''),
      stop: (signal) => this.stop(name, signal),
    };
  }

  /** Stops a started command by its process group id; SIGKILL after 10 s. */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const entry = this.running.get(name);
    if (entry === undefined) throw new Error(`${name} is not running`);
    this.running.delete(name);
    const pid = entry.child.pid;
    if (pid === undefined || entry.child.exitCode !== null || entry.child.signalCode !== null) return;
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), 10_000);
    await entry.exited;
    clearTimeout(timer);
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** Everything a started command printed so far. */
  output(name: string): string {
    return this.running.get(name)?.collected.join('') ?? '';
  }

  async cleanup(): Promise<void> {
    for (const name of [...this.running.keys()]) await this.stop(name, 'SIGKILL');
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
