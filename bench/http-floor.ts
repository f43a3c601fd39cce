// `node --import tsx bench/http-floor.ts [--reference PATH] [--reps N]`: what a small request
// costs a Node.js server that does nothing else, beside Berth and the reference. The same tags
// list (11 tags, the bench's `tags-list-c16` request) is answered by a bare node:http server
// (the body precomputed; Berth's four headers), by a bare Fastify server (one route, the same
// body, two of the headers)
// and by Berth and the reference, each from 16 keep-alive connections for 3 s after a 0.5 s
// warm-up, in alternation. It prints the server CPU per request of each: the bare servers are
// the floor under any Node.js registry's small requests on this machine (issue 20 asks for
// 0.25x the reference's CPU per request). Nothing here is a goal or a test.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/ports.js';
import { HttpClient } from './lib/http-client.js';
import { buildRequest, runLoad } from './lib/load-client.js';
import { ProcessTree } from './lib/proc-stats.js';
import { pushImage, putManifest, smallImage } from './lib/registry-ops.js';
import { compileBerth, referenceRegistries, startBerth, startReference, type ServerProcess } from './lib/servers.js';
import { summarize } from './lib/stats.js';
import { Meter } from './lib/workload.js';

const projectRoot = resolve(import.meta.dirname, '..');
const REPO = 'bench/small';
const TAGS = ['latest', ...Array.from({ length: 10 }, (_, i) => `t${String(i).padStart(3, '0')}`)].sort();
const BODY = JSON.stringify({ name: REPO, tags: TAGS });

/** The bare servers' source, run with `node -e`: the same answer with no work behind it. */
const BARE_NODE = `
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const body = Buffer.from(${JSON.stringify(BODY)});
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length,
    'Docker-Distribution-Api-Version': 'registry/2.0', 'X-Request-Id': randomUUID() });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
const BARE_FASTIFY = `
const fastify = require('fastify')({ logger: false });
const body = ${JSON.stringify(BODY)};
fastify.get('/v2/*', (request, reply) => {
  reply.header('Docker-Distribution-Api-Version', 'registry/2.0').header('Content-Type', 'application/json').send(body);
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
`;

async function startBare(name: string, source: string): Promise<ServerProcess> {
  const port = await freePort();
  // From the project root, where `require('fastify')` finds Berth's own copy.
  const child = spawn(process.execPath, ['-e', source], {
    cwd: projectRoot,
    env: { ...process.env, PORT: String(port) },
    stdio: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const up = await fetch(`${url}/v2/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (attempt === 100) throw new Error(`${name} did not answer on ${url} within 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const tree = new ProcessTree(child.pid ?? -1);
  return {
    name,
    url,
    port,
    pid: child.pid ?? -1,
    tree,
    output: () => '',
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reference: { type: 'string', multiple: true }, reps: { type: 'string' } } });
  const reps = Number(values.reps ?? 3);
  const references = referenceRegistries(values.reference ?? ['docker-registry']);
  const dir = await mkdtemp(join(tmpdir(), 'berth-http-floor-'));
  const servers: ServerProcess[] = [];
  try {
    compileBerth();
    servers.push(await startBare('bare node:http', BARE_NODE));
    servers.push(await startBare('bare Fastify', BARE_FASTIFY));
    servers.push(await startBerth(join(dir, 'berth'), { compiled: true }));
    for (const reference of references) servers.push(await startReference(join(dir, reference.name), reference));
    for (const server of servers.slice(2)) {
      const client = new HttpClient(server.url);
      await pushImage(client, REPO, 'latest', smallImage);
      for (const tag of TAGS.filter((t) => t !== 'latest')) await putManifest(client, REPO, tag, smallImage);
      client.close();
    }
    const perRequest = new Map<string, number[]>();
    for (let rep = 0; rep < reps; rep++) {
      for (const server of servers) {
        const meter = new Meter(server.tree);
        const result = await runLoad({
          host: '127.0.0.1',
          port: server.port,
          concurrency: 16,
          request: buildRequest('GET', `/v2/${REPO}/tags/list`, `127.0.0.1:${server.port}`),
          head: false,
          expectStatus: 200,
          warmupMs: 500,
          durationMs: 3000,
          onWindowStart: () => meter.begin(),
          onWindowEnd: () => meter.end(),
        });
        if (result.errors > 0) throw new Error(`${server.name}: ${result.errors} failed requests (${result.firstError})`);
        const ms = (meter.window.serverCpuSeconds * 1000) / result.requests;
        perRequest.set(server.name, [...(perRequest.get(server.name) ?? []), ms]);
        process.stderr.write(
          `${server.name} ${rep + 1}/${reps}: ${Math.round(result.requestsPerSecond)} requests/s, ${ms.toFixed(3)} ms CPU each\n`,
        );
      }
    }
    const labels = new Map(references.map((r, i) => [servers[3 + i]?.name, r.label]));
    process.stdout.write('tags list (11 tags), c=16: server CPU per request, ms, median (min-max)\n');
    for (const [name, list] of perRequest) {
      const s = summarize(list);
      if (s)
        process.stdout.write(
          `  ${(labels.get(name) ?? name).padEnd(22)} ${s.median.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})\n`,
        );
    }
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
