// Starts the processes under test as children on loopback ports: Berth (through tsx, as
// `npm start` would run it from source), the reference registries (CNCF Distribution: Debian's
// docker-registry 2.8, or any other build given with --reference, such as 3.0.0) and nginx for the static-file limit. Each gets its own directory under
// the run's temporary folder, and is stopped by its own PID. Registries run open unless a
// workload asks for authentication (RegistryAuth), which is then written alike for both, or
// for a pull-through cache of one upstream (RegistryProxy), written in each registry's own form.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { basename, join, resolve } from 'node:path';
import { ProcessTree } from './proc-stats.js';
import { freePort } from '../../test/helpers/ports.js';

/** Berth, or a reference registry: `reference` for the first --reference, `reference2` for the second, ... */
export type TargetName = 'berth' | `reference${string}`;

/** A reference registry binary given with --reference (default: `docker-registry` on PATH). */
export interface ReferenceRegistry {
  /** Its key in the results: `reference`, `reference2`, ... */
  readonly name: `reference${string}`;
  /** The command that runs it: a path, or a name looked up on PATH. */
  readonly command: string;
  /** Column heading, from its version: `Distribution 2.8.2`, `Distribution 3.0.0`. */
  readonly label: string;
  /** The first line of its `--version`. */
  readonly version: string;
}

/**
 * The registries of --reference, in the order given: checks that each runs and names it by the
 * version it prints (`github.com/distribution/distribution/v3 v3.0.0+unknown` -> Distribution 3.0.0).
 */
export function referenceRegistries(commands: readonly string[]): ReferenceRegistry[] {
  return commands.map((command, index) => {
    if (!command.includes('/')) requireCommand(command, 'docker-registry');
    const result = spawnSync(command, ['--version'], { encoding: 'utf8', env: referenceEnv() });
    if (result.error || result.status !== 0)
      throw new Error(`--reference ${command}: \`${command} --version\` failed: ${result.error?.message ?? result.stderr}`);
    const version = `${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? '';
    const number = /\bv?(\d+\.\d+\.\d+)/.exec(version.split(/\s+/).slice(1).join(' '))?.[1];
    const label = number ? `Distribution ${number}` : basename(command);
    return { name: index === 0 ? 'reference' : `reference${index + 1}`, command, label, version };
  });
}

/**
 * The reference's environment: Distribution 3 always sets up tracing and otherwise tries to
 * export every span to localhost:4318, logging an error every 5 seconds; 2.8 ignores the variable.
 */
export function referenceEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OTEL_TRACES_EXPORTER: 'none' };
}

export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly tree: ProcessTree;
  /** The last output of the process (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

const projectRoot = resolve(import.meta.dirname, '..', '..');

/** Throws a message naming the Debian package when a command is missing. */
export function requireCommand(command: string, debianPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(
      `${command} not found: install the Debian package with \`apt-get install ${debianPackage}\` (the benchmark installs nothing itself)`,
    );
  }
}

export function commandVersion(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

/**
 * Authentication in a registry's config.yml: none (the default), Basic over an htpasswd file
 * (Distribution's keys, read alike by both registries), or Berth's own token server with its
 * users from that file (Berth only: the reference has no token server).
 */
export type RegistryAuth =
  | { readonly mode: 'none' }
  | { readonly mode: 'htpasswd'; readonly realm: string; readonly path: string }
  | { readonly mode: 'token'; readonly path: string };

const NO_AUTH: RegistryAuth = { mode: 'none' };

/** A pull-through cache of one upstream registry for the root namespace (lib/proxy-workloads.ts). */
export interface RegistryProxy {
  /** The upstream's base URL, e.g. http://127.0.0.1:PORT. */
  readonly upstreamUrl: string;
}

/**
 * The proxy section: Berth's `proxy.upstreams` (allowprivateaddresses because the upstream is on
 * loopback; tags trusted for 1h, though the rows fetch blobs by digest only), or Distribution's
 * `proxy.remoteurl` (which puts the reference in proxy mode: it then refuses pushes).
 */
function proxyYaml(kind: 'berth' | 'reference', proxy: RegistryProxy | undefined): string[] {
  if (proxy === undefined) return [];
  if (kind === 'reference') return ['proxy:', `  remoteurl: ${JSON.stringify(proxy.upstreamUrl)}`];
  return [
    'proxy:',
    '  upstreams:',
    '    - name: up',
    `      url: ${JSON.stringify(proxy.upstreamUrl)}`,
    '      namespace: ""',
    '      tagttl: 1h',
    '      allowprivateaddresses: true',
  ];
}

function authYaml(auth: RegistryAuth): string[] {
  switch (auth.mode) {
    case 'none':
      return [];
    case 'htpasswd':
      return ['auth:', '  htpasswd:', `    realm: ${JSON.stringify(auth.realm)}`, `    path: ${JSON.stringify(auth.path)}`];
    case 'token':
      return ['auth:', '  tokenserver:', '    enabled: true', '  htpasswd:', `    path: ${JSON.stringify(auth.path)}`];
  }
}

/**
 * Registry settings written alike for both registries. The in-memory blob descriptor cache is
 * on in Debian's and the registry:2 image's stock config.yml, so the reference runs as people
 * run it; Berth accepts the key with a warning (its caches are built in).
 */
export function registryYaml(port: number, rootDirectory: string, auth: RegistryAuth = NO_AUTH, proxy: readonly string[] = []): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(rootDirectory)}`,
    '  delete:',
    '    enabled: true',
    ...authYaml(auth),
    ...proxy,
    '',
  ].join('\n');
}

/** Where `npm run build` puts Berth's JavaScript, which bin/berth.js runs. */
export const compiledDir = join(projectRoot, 'dist');

/** Builds Berth as `npm run build` does (tsc with tsconfig.build.json into dist/). */
export function compileBerth(): void {
  const result = spawnSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`compiling Berth failed:\n${result.stdout}${result.stderr}`);
}

/**
 * The Node.js flags Berth's launchers pass (bin/berth.js's first line, `npm start`, the
 * Containerfile; bench/launch-flags.test.ts keeps them in step), so the benchmark runs Berth as
 * users do.
 */
export const BERTH_NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=50', '--initial-old-space-size=64'] as const;

/** How Berth is started: compiled or through tsx, and whether it writes a CPU profile. */
export interface BerthLaunch {
  readonly compiled: boolean;
  /** A directory for `node --cpu-prof`: the profile is written when the process exits. */
  readonly profile?: string | undefined;
}

/** The Node.js arguments that run Berth's command line: bin/berth.js (compiled) or the source through tsx. */
export function berthEntry(launch: BerthLaunch): string[] {
  return launch.compiled ? [join(projectRoot, 'bin', 'berth.js')] : ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts')];
}

/**
 * The environment of Berth's servers and commands: this process's without BERTH_* variables.
 * Berth reads those as settings (and the test harness's own, such as BERTH_S3_SERVICES, as
 * unknown ones), so the benchmarked Berth runs on its configuration file alone, as the
 * reference does.
 */
export function berthEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BERTH_')));
}

/** Berth as users start it: bin/berth.js running what compileBerth() built, or from source through tsx. */
export async function startBerth(
  dir: string,
  launch: BerthLaunch,
  env: Readonly<Record<string, string>> = {},
  auth: RegistryAuth = NO_AUTH,
  proxy?: RegistryProxy,
  /** More configuration lines (the events rows' notifications and audit sections). */
  extraYaml: readonly string[] = [],
): Promise<ServerProcess> {
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'config.yml');
  const profiling = launch.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(launch.profile)];
  const entry = berthEntry(launch);
  return onFreePort(async (port) => {
    await writeFile(configFile, registryYaml(port, join(dir, 'data'), auth, [...proxyYaml('berth', proxy), ...extraYaml]));
    const child = spawn(process.execPath, [...BERTH_NODE_FLAGS, ...profiling, ...entry, 'serve', '--config', configFile], {
      cwd: projectRoot,
      env: { ...berthEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return started('berth', child, port, '/v2/');
  });
}

export async function startReference(
  dir: string,
  reference: ReferenceRegistry,
  auth: RegistryAuth = NO_AUTH,
  proxy?: RegistryProxy,
): Promise<ServerProcess> {
  if (auth.mode === 'token') throw new Error('the reference registry has no token server');
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'config.yml');
  return onFreePort(async (port) => {
    await writeFile(configFile, registryYaml(port, join(dir, 'data'), auth, proxyYaml('reference', proxy)));
    const child = spawn(reference.command, ['serve', configFile], { env: referenceEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    return started(reference.name, child, port, '/v2/');
  });
}

/** nginx with sendfile serving the files in `root`, running in the foreground as our child. */
export async function startNginx(dir: string, root: string): Promise<ServerProcess> {
  // nginx workers may run as another user (nobody when started by root): let them read the files.
  for (const path of [resolve(root, '..'), root]) await chmod(path, 0o755).catch(() => undefined);
  return runNginx(dir, '/', (port) => [
    '  sendfile on;',
    '  tcp_nopush on;',
    '  default_type application/octet-stream;',
    `  server { listen 127.0.0.1:${port}; root ${JSON.stringify(root)}; location / { } }`,
  ]);
}

/**
 * nginx as a round-robin reverse proxy in front of `upstreams` ("127.0.0.1:PORT"), for
 * --scale-out: streaming both ways (no request or response buffering, no body size limit),
 * HTTP/1.1 keep-alive to the upstreams, access log off, one worker (as startNginx).
 */
export async function startBalancer(dir: string, upstreams: readonly string[]): Promise<ServerProcess> {
  return runNginx(dir, '/v2/', (port) => [
    '  upstream berth {',
    ...upstreams.map((hostPort) => `    server ${hostPort};`),
    '    keepalive 64;',
    '    keepalive_requests 100000;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    client_max_body_size 0;',
    '    proxy_request_buffering off;',
    '    proxy_buffering off;',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection "";',
    '    proxy_set_header Host $http_host;',
    '    proxy_read_timeout 120s;',
    '    proxy_send_timeout 120s;',
    '    location / { proxy_pass http://berth; }',
    '  }',
  ]);
}

/**
 * One nginx worker in the foreground as our child, with every path under `dir`, access log
 * off; `http` gives the lines of the http block that differ (servers, upstreams).
 */
async function runNginx(dir: string, probePath: string, http: (port: number) => string[]): Promise<ServerProcess> {
  await mkdir(join(dir, 'logs'), { recursive: true });
  for (const path of [resolve(dir, '..'), dir]) await chmod(path, 0o755).catch(() => undefined);
  const temp = (what: string): string => `${what}_temp_path ${JSON.stringify(join(dir, `${what}-temp`))};`;
  const configFile = join(dir, 'nginx.conf');
  return onFreePort(async (port) => {
    await writeFile(
      configFile,
      [
        process.getuid?.() === 0 ? 'user root;' : '',
        'worker_processes 1;',
        `pid ${JSON.stringify(join(dir, 'nginx.pid'))};`,
        `error_log ${JSON.stringify(join(dir, 'logs', 'error.log'))} error;`,
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        '  keepalive_requests 100000;',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        ...http(port),
        '}',
        '',
      ].join('\n'),
    );
    const child = spawn('nginx', ['-p', dir, '-c', configFile, '-e', join(dir, 'logs', 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return started('nginx', child, port, probePath);
  });
}

/** A server that could not bind its port because another process had taken it since freePort(). */
class PortTaken extends Error {}

/**
 * Starts a server on a port that was free a moment ago; another process may take it before the
 * server binds (ours then exits, or never listens there), and the server is started again on
 * another port, up to three times.
 */
async function onFreePort(launch: (port: number) => Promise<ServerProcess>): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

async function started(name: string, child: ChildProcess, port: number, probePath: string): Promise<ServerProcess> {
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 200) output.splice(0, 100);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
  const url = `http://127.0.0.1:${port}`;
  const pid = child.pid ?? -1;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  // The tree whose CPU and memory every workload reports: it must be the server that answers.
  const tree = new ProcessTree(pid);
  const deadline = Date.now() + 60_000;
  let answered = false;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = output.join('');
      // Another process took the port between freePort() and the bind, and ours exited.
      const taken = answered || /address already in use|EADDRINUSE/i.test(text);
      throw new (taken ? PortTaken : Error)(
        `${name} exited before answering${taken ? ` (port ${port} taken by another process)` : ''}:\n${text}`,
      );
    }
    // Whatever answers on the port is ours only if our process (or a child of it) listens there:
    // a probe answered by another process would have every workload measure a process that
    // serves nothing, and report 0 CPU and no memory for the server that does the work.
    if (await answers(port, probePath)) {
      answered = true;
      tree.refresh();
      if (tree.listensOn(port)) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new (answered ? PortTaken : Error)(
        answered
          ? `${name} (pid ${pid}) never listened on ${url}, where another process answers:\n${output.join('')}`
          : `${name} did not answer on ${url} within 60 s:\n${output.join('')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, url, port, pid, tree, output: () => output.join(''), stop };
}

function answers(port: number, path: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolveAnswer(true));
    });
    req.once('error', () => resolveAnswer(false));
    req.setTimeout(2000, () => req.destroy());
  });
}
