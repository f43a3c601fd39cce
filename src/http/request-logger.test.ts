// request.log is made on a request's first log line: lines still carry the request's id (the
// X-Request-Id the client got), and a request that logs nothing makes no child logger.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../config/index.js';
import { buildApp, type BerthApp } from '../server/build-app.js';
import { RequestLogger } from './request-logger.js';

/** A pino destination that keeps each line, parsed, in `lines`. */
function collecting(lines: Record<string, unknown>[]): Writable {
  return new Writable({ write: (chunk, _encoding, done) => done(void lines.push(JSON.parse(String(chunk)))) });
}

describe('RequestLogger', () => {
  it('makes the child logger on the first line only, with the bindings Fastify gave it', () => {
    const lines: Record<string, unknown>[] = [];
    const parent = pino({ level: 'info' }, collecting(lines));
    let children = 0;
    const counting = Object.assign(Object.create(parent) as typeof parent, {
      child: (...args: Parameters<typeof parent.child>) => {
        children++;
        return parent.child(...args);
      },
    });
    const logger = new RequestLogger(counting, { reqId: 'r-1' }, {});
    assert.equal(logger.level, 'info');
    assert.equal(children, 0);
    logger.info({ n: 1 }, 'first');
    logger.warn('second');
    assert.equal(children, 1);
    assert.deepEqual(
      lines.map((line) => [line.reqId, line.msg]),
      [
        ['r-1', 'first'],
        ['r-1', 'second'],
      ],
    );
  });
});

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
