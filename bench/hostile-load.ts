// Hostile load against one Berth started with the default configuration (only http.addr and the
// data directory set) on a random loopback port: many connections of one kind at a time, and the
// server's resident memory while they are open and after they close. Kinds:
//   manifest  PUT of a manifest announcing 4 MiB, all but the last byte sent, then silence;
//   patch     chunked PATCH announcing a 16 MiB Content-Range, all but the last byte sent, then silence;
//   trickle   PUT of a manifest announcing 4 KiB, one byte a second;
//   upload    (not run by default) PATCH with a Content-Length of 16 MiB, all but the last byte
//             sent, then silence: the streaming upload path and its staging buffers.
// A fresh server for every kind. The ramp stops early (and says so) if the server's RSS passes
// --rss-cap-mib, so that a registry without bounds does not take the machine down.
//
//   node --import tsx bench/hostile-load.ts [--connections 1000] [--kinds manifest,patch,trickle]
//        [--hold 20] [--trickle-hold 60] [--settle 10] [--rss-cap-mib 6144] [--root DIR]
//
// --root runs another checkout's src/cli/main.ts (e.g. an exported older commit, for a before
// and after), with this checkout's node_modules when it has none.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ProcessTree } from './lib/proc-stats.js';
import { BERTH_NODE_FLAGS } from './lib/servers.js';

type Kind = 'manifest' | 'patch' | 'trickle' | 'upload';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    kinds: { type: 'string', default: 'manifest,patch,trickle' },
    hold: { type: 'string', default: '20' },
    'trickle-hold': { type: 'string', default: '60' },
    settle: { type: 'string', default: '10' },
    'rss-cap-mib': { type: 'string', default: '6144' },
    root: { type: 'string' },
  },
});
const connections = Number(values.connections);
const kinds = (values.kinds ?? '').split(',').filter(Boolean) as Kind[];
const holdMs = Number(values.hold) * 1000;
const trickleHoldMs = Number(values['trickle-hold']) * 1000;
const settleMs = Number(values.settle) * 1000;
const rssCap = Number(values['rss-cap-mib']) * 1024 * 1024;
const thisRoot = resolve(import.meta.dirname, '..');
const berthRoot = resolve(values.root ?? thisRoot);
if (!existsSync(join(berthRoot, 'node_modules'))) symlinkSync(join(thisRoot, 'node_modules'), join(berthRoot, 'node_modules'));

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

interface Server {
  readonly port: number;
  readonly tree: ProcessTree;
  readonly child: ChildProcess;
}

async function startServer(dir: string): Promise<Server> {
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'http:',
      '  addr: 127.0.0.1:0',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'data'))}`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [...BERTH_NODE_FLAGS, '--import', 'tsx', join(berthRoot, 'src/cli/main.ts'), 'serve', '--config', config],
    {
      cwd: berthRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (process.env.HOSTILE_SERVER_STDERR) child.stderr?.pipe(process.stderr);
  else child.stderr?.resume();
  const port = await new Promise<number>((resolvePort, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match =
        /"msg":"listening".*"url":"http:\/\/[^:]+:(\d+)"/.exec(line) ?? /"url":"http:\/\/[^:]+:(\d+)".*"msg":"listening"/.exec(line);
      if (match?.[1]) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`berth exited with ${code}`)));
  });
  const tree = new ProcessTree(child.pid!);
  tree.refresh();
  return { port, tree, child };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Samples the server's RSS every 250 ms. */
class Sampler {
  peak = 0;
  last = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly tree: ProcessTree) {}
  start(): void {
    this.timer = setInterval(() => this.sample(), 250);
  }
  sample(): number {
    this.last = this.tree.rssBytes();
    this.peak = Math.max(this.peak, this.last);
    return this.last;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** One hostile connection: what it was answered, whether it is still open. */
interface Hostile {
  readonly socket: Socket;
  status: number | undefined;
  closed: boolean;
  error: string | undefined;
}

function open(port: number, head: string): Promise<Hostile> {
  return new Promise((resolveOpen, reject) => {
    const socket = connect(port, '127.0.0.1');
    const hostile: Hostile = { socket, status: undefined, closed: false, error: undefined };
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      if (hostile.status !== undefined) return;
      text += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match?.[1]) hostile.status = Number(match[1]);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      hostile.error ??= error.code ?? error.message;
    });
    socket.on('close', () => {
      hostile.closed = true;
    });
    socket.once('connect', () => {
      socket.write(head);
      resolveOpen(hostile);
    });
    socket.once('error', reject);
  });
}

/** Writes `bytes` of body to the socket, in 64 KiB pieces, stopping when the socket closes. */
async function send(hostile: Hostile, bytes: number, chunked: boolean): Promise<void> {
  const piece = Buffer.alloc(64 * 1024, 0x7b);
  let sent = 0;
  while (sent < bytes && !hostile.closed && hostile.status === undefined) {
    const size = Math.min(piece.length, bytes - sent);
    const data = size === piece.length ? piece : piece.subarray(0, size);
    if (chunked) hostile.socket.write(`${size.toString(16)}\r\n`);
    let ok = hostile.socket.write(data);
    if (chunked) ok = hostile.socket.write('\r\n');
    sent += size;
    if (!ok) {
      await new Promise<void>((r) => {
        const done = (): void => {
          hostile.socket.off('drain', done);
          hostile.socket.off('close', done);
          r();
        };
        hostile.socket.once('drain', done);
        hostile.socket.once('close', done);
      });
    }
  }
}

async function createUpload(port: number, n: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/v2/hostile/patch${n % 50}/blobs/uploads/`, { method: 'POST' });
  const location = response.headers.get('location');
  if (response.status !== 202 || !location) throw new Error(`POST upload: ${response.status}`);
  return new URL(location, `http://127.0.0.1:${port}`).pathname;
}

function head(kind: Kind, n: number, uploadPath: string): string {
  const manifestType = 'application/vnd.oci.image.manifest.v1+json';
  switch (kind) {
    case 'manifest':
      return `PUT /v2/hostile/m${n % 50}/manifests/t${n} HTTP/1.1\r\nHost: x\r\nContent-Type: ${manifestType}\r\nContent-Length: ${4 * MiB}\r\n\r\n`;
    case 'trickle':
      return `PUT /v2/hostile/t${n % 50}/manifests/t${n} HTTP/1.1\r\nHost: x\r\nContent-Type: ${manifestType}\r\nContent-Length: 4096\r\n\r\n`;
    case 'patch':
      return `PATCH ${uploadPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-${16 * MiB - 1}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    case 'upload':
      return `PATCH ${uploadPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${16 * MiB}\r\n\r\n`;
  }
}

function summarise(all: readonly Hostile[]): string {
  const outcomes = new Map<string, number>();
  for (const h of all) {
    const key = h.status !== undefined ? String(h.status) : h.error !== undefined ? h.error : h.closed ? 'closed, no answer' : 'open';
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  return [...outcomes].map(([k, v]) => `${k}: ${v}`).join(', ');
}

async function run(kind: Kind): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-hostile-'));
  const server = await startServer(dir);
  try {
    await sleep(2000);
    const sampler = new Sampler(server.tree);
    const baseline = sampler.sample();
    sampler.start();
    const uploads =
      kind === 'patch' || kind === 'upload'
        ? await Promise.all(Array.from({ length: connections }, (_, n) => createUpload(server.port, n)))
        : [];
    const all: Hostile[] = [];
    let capped = false;
    const started = Date.now();
    const bodyBytes = kind === 'manifest' ? 4 * MiB - 1 : kind === 'patch' || kind === 'upload' ? 16 * MiB - 1 : 0;
    // 50 connections at a time send their bytes; each then stalls.
    const batch = 50;
    for (let first = 0; first < connections && !capped; first += batch) {
      const group = await Promise.all(
        Array.from({ length: Math.min(batch, connections - first) }, (_, i) =>
          open(server.port, head(kind, first + i, uploads[first + i] ?? '')),
        ),
      );
      all.push(...group);
      await Promise.all(group.map((h) => send(h, bodyBytes, kind === 'patch')));
      if (sampler.sample() > rssCap) capped = true;
    }
    const opened = Date.now() - started;
    let trickle: NodeJS.Timeout | undefined;
    if (kind === 'trickle') {
      trickle = setInterval(() => {
        for (const h of all) if (!h.closed && h.status === undefined) h.socket.write('{');
      }, 1000);
    }
    await sleep(kind === 'trickle' ? trickleHoldMs : holdMs);
    clearInterval(trickle);
    const stillOpen = all.filter((h) => !h.closed).length;
    const outcome = summarise(all);
    const peakOpen = sampler.peak;
    for (const h of all) h.socket.destroy();
    await sleep(settleMs);
    sampler.stop();
    const after = sampler.sample();
    console.log(
      JSON.stringify({
        kind,
        connections: all.length,
        ...(capped ? { stoppedAtRssCap: mib(rssCap) } : {}),
        rampSeconds: Math.round(opened / 100) / 10,
        baseline: mib(baseline),
        peak: mib(Math.max(peakOpen, sampler.peak)),
        afterClose: mib(after),
        stillOpenAfterHold: stillOpen,
        holdSeconds: (kind === 'trickle' ? trickleHoldMs : holdMs) / 1000,
        outcomes: outcome,
      }),
    );
  } finally {
    await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
}

for (const kind of kinds) await run(kind);
