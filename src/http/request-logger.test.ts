// request.log is made on a request's first log line, with the bindings Fastify gave it (the
// whole registry's side of it is test/http/request-logging.test.ts).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
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
