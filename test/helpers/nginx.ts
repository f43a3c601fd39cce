// Starts nginx (Debian package) as a round-robin HTTP load balancer on a free loopback port in
// front of a list of upstreams: streaming in both directions (no request or response
// buffering, no body size limit), HTTP/1.1 with keep-alive to the upstreams, and a dead
// upstream skipped (proxy_next_upstream error timeout http_502). Runs in the foreground as our
// child process (daemon off), with every path under its own temporary prefix, stopped by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface TestLoadBalancer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** "127.0.0.1:PORT" */
  readonly hostPort: string;
  readonly pid: number;
  readonly prefix: string;
  /** nginx's access log so far (one line per request: upstream address, method, path, status). */
  accessLog(): Promise<string>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Installs nginx with apt-get when it is missing (needs root). */
export function ensureNginx(): string {
  const found = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): void => {
    execFileSync('apt-get', ['install', '-y', '-qq', 'nginx'], { env, stdio: 'ignore', timeout: 300_000 });
  };
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
    install();
  }
  const installed = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
  if (!installed) throw new Error('nginx is not installed and apt-get install nginx did not provide it');
  return installed;
}

export async function startNginxLoadBalancer(upstreams: readonly string[]): Promise<TestLoadBalancer> {
  const nginx = ensureNginx();
  const prefix = await mkdtemp(join(tmpdir(), 'berth-nginx-'));
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const conf = join(prefix, 'nginx.conf');
    await writeFile(conf, config(prefix, port, upstreams));
    for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(prefix, dir), { recursive: true });
    const child = spawn(nginx, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (await waitUntilListening(`http://127.0.0.1:${port}`, child)) {
      return handle(child, exited, prefix, port);
    }
    lastError = output.join('') + (await readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  await rm(prefix, { recursive: true, force: true });
  throw new Error(`nginx did not start:\n${lastError}`);
}

function config(prefix: string, port: number, upstreams: readonly string[]): string {
  const asRoot = process.getuid?.() === 0;
  return `
${asRoot ? 'user root;' : ''}
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} info;
events { worker_connections 1024; }
http {
  log_format lb '$upstream_addr "$request" $status $request_time';
  access_log ${join(prefix, 'access.log')} lb;
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  upstream berth {
${upstreams.map((hostPort) => `    server ${hostPort} max_fails=1 fail_timeout=30s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_connect_timeout 2s;
    proxy_read_timeout 120s;
    proxy_send_timeout 120s;
    proxy_next_upstream error timeout http_502;
    location / {
      proxy_pass http://berth;
    }
  }
}
`;
}

function handle(child: ChildProcess, exited: Promise<void>, prefix: string, port: number): TestLoadBalancer {
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    prefix,
    accessLog: () => readFile(join(prefix, 'access.log'), 'utf8').catch(() => ''),
    errorLog: () => readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // SIGQUIT: graceful; the master ends its workers. SIGKILL if it lingers.
          child.kill('SIGQUIT');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(prefix, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function waitUntilListening(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const answered = await fetch(`${url}/healthz`).then(
      (response) => response.arrayBuffer().then(() => true),
      () => false,
    );
    if (answered) return child.exitCode === null && child.signalCode === null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
