// request.log in the whole registry: what a request logs carries the request's id (the
// X-Request-Id the client got), though the child logger is made only on its first line
// (src/http/request-logger.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { buildApp, type BerthApp } from '../../src/server/build-app.js';

/** A pino destination that keeps each line, parsed, in `lines`. */
function collecting(lines: Record<string, unknown>[]): Writable {
  return new Writable({ write: (chunk, _encoding, done) => done(void lines.push(JSON.parse(String(chunk)))) });
}

describe('request.log in the registry', () => {
  let dir: string;
  let app: BerthApp;
  const lines: Record<string, unknown>[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-request-logger-'));
    const config = parseConfig('', { cwd: dir, env: {} });
    app = await buildApp(config, pino({ level: 'debug' }, collecting(lines)));
  });
  after(async () => {
    await app.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("binds the request's id to what a request logs", async () => {
    const response = await app.http.inject('/v2/team/app/manifests/missing');
    assert.equal(response.statusCode, 404);
    const requestId = response.headers['x-request-id'];
    assert.equal(typeof requestId, 'string');
    const logged = lines.filter((line) => line.reqId === requestId);
    // The rejection (debug) and the access log's line (on by default) both carry it.
    assert.deepEqual(
      logged.map((line) => line.msg),
      ['request rejected', 'request'],
    );
  });
});
