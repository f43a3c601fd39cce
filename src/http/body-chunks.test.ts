import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bodyChunks } from './body-chunks.js';

describe('bodyChunks', () => {
  it('yields the chunks as written, none concatenated, in order', async () => {
    const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
    const written = Array.from({ length: 12 }, () => randomBytes(64 * 1024));
    for (const chunk of written) stream.write(chunk);
    stream.end();
    const got: Buffer[] = [];
    for await (const chunk of bodyChunks(stream)) got.push(chunk);
    assert.deepEqual(
      got.map((c) => c.length),
      written.map((c) => c.length),
    );
    assert.ok(Buffer.concat(got).equals(Buffer.concat(written)));
  });

  it('pauses the stream while the consumer is behind, and loses nothing', async () => {
    const total = 200;
    let produced = 0;
    let sawPaused = false;
    const stream = new Readable({
      highWaterMark: 16 * 1024,
      read() {
        if (produced === total) {
          this.push(null);
          return;
        }
        this.push(Buffer.alloc(1024, produced++ % 256));
      },
    });
    let received = 0;
    const bytes: number[] = [];
    for await (const chunk of bodyChunks(stream)) {
      if (stream.isPaused()) sawPaused = true;
      bytes.push(chunk[0] ?? -1);
      received += chunk.length;
      if (received % (32 * 1024) === 0) await sleep(5);
    }
    assert.equal(received, total * 1024);
    assert.deepEqual(
      bytes,
      Array.from({ length: total }, (_, i) => i % 256),
    );
    assert.ok(sawPaused, 'the stream was paused at some point');
  });

  it('throws when the stream closes before its end (a client that went away)', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from('part'));
    setTimeout(() => stream.destroy(), 10);
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of bodyChunks(stream)) got.push(chunk.toString());
      })(),
      { code: 'ERR_STREAM_PREMATURE_CLOSE' },
    );
    assert.deepEqual(got, ['part']);
  });

  it("throws the stream's error", async () => {
    const stream = new PassThrough();
    setTimeout(() => stream.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 10);
    await assert.rejects(
      (async () => {
        for await (const _ of bodyChunks(stream)) void _;
      })(),
      { code: 'ECONNRESET' },
    );
  });

  it('leaves the stream unread and whole when the consumer stops early', async () => {
    const early = new PassThrough();
    early.write(Buffer.from('a'));
    early.write(Buffer.from('b'));
    for await (const _ of bodyChunks(early)) break;
    assert.equal(early.destroyed, false, 'its owner answers and closes the connection');
    assert.equal(early.listenerCount('data'), 0);

    const whole = new PassThrough();
    whole.end(Buffer.from('all'));
    let text = '';
    for await (const chunk of bodyChunks(whole)) text += chunk.toString();
    assert.equal(text, 'all');
    assert.equal(whole.readableEnded, true);
  });

  it('ends at once for a stream that already ended', async () => {
    const stream = new PassThrough();
    stream.end();
    for await (const _ of stream) void _; // consumed to its end by someone else
    const got: Buffer[] = [];
    for await (const chunk of bodyChunks(stream)) got.push(chunk);
    assert.deepEqual(got, []);
  });
});
