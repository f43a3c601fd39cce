import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FileContentStream, READ_CHUNK_BYTES } from './file-content-stream.js';

/** A destination that keeps a copy of every piece as it was when written, and may answer slowly. */
class Collector extends Writable {
  readonly pieces: Buffer[] = [];
  constructor(private readonly delayMs = 0) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pieces.push(Buffer.from(chunk)); // a copy: the sender reuses its buffers afterwards
    setTimeout(callback, this.delayMs);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.pieces);
  }
}

describe('FileContentStream', () => {
  let dir: string;
  let path: string;
  // Two and a half read chunks, so that both buffers are reused and the last piece is short.
  const content = randomBytes(Math.floor(2.5 * READ_CHUNK_BYTES));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-file-stream-'));
    path = join(dir, 'data');
    await writeFile(path, content);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const openStream = async (offset: number, length: number, signal?: AbortSignal) => {
    const handle = await open(path, 'r');
    return { handle, stream: new FileContentStream(handle, offset, length, signal) };
  };
  const handleClosed = async (handle: Awaited<ReturnType<typeof open>>) => {
    // A closed FileHandle has fd -1.
    await new Promise((resolve) => setImmediate(resolve));
    return handle.fd === -1;
  };

  for (const [label, offset, length] of [
    ['the whole file', 0, content.length],
    ['a range across chunk boundaries', 1000, 2 * READ_CHUNK_BYTES + 17],
    ['a range inside one chunk', 5, 300],
    ['an empty range', 10, 0],
  ] as const) {
    it(`sendTo writes ${label} exactly, then closes the file`, async () => {
      const { handle, stream } = await openStream(offset, length);
      const destination = new Collector(1);
      await stream.sendTo(destination);
      assert.ok(destination.bytes.equals(content.subarray(offset, offset + length)));
      assert.ok(destination.pieces.every((piece) => piece.length <= READ_CHUNK_BYTES));
      assert.ok(await handleClosed(handle), 'handle closed');
    });

    it(`reads ${label} as an ordinary stream, then closes the file`, async () => {
      const { handle, stream } = await openStream(offset, length);
      const pieces: Buffer[] = [];
      for await (const piece of stream) pieces.push(piece as Buffer);
      assert.ok(Buffer.concat(pieces).equals(content.subarray(offset, offset + length)));
      assert.ok(await handleClosed(handle), 'handle closed');
    });
  }

  it('sendTo stops with the signal, rejects, and closes the file', async () => {
    const controller = new AbortController();
    const { handle, stream } = await openStream(0, content.length);
    const destination = new Collector(50);
    const sending = stream.sendTo(destination, controller.signal);
    setTimeout(() => controller.abort(new Error('client went away')), 10);
    await assert.rejects(sending, /client went away/);
    assert.ok(destination.bytes.length < content.length, 'stopped early');
    assert.ok(await handleClosed(handle), 'handle closed');
  });

  it('sendTo rejects when the destination fails, and closes the file', async () => {
    const { handle, stream } = await openStream(0, content.length);
    const destination = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('socket reset')) });
    destination.on('error', () => undefined);
    await assert.rejects(stream.sendTo(destination), /socket reset/);
    assert.ok(await handleClosed(handle), 'handle closed');
  });

  it('refuses sendTo on a stream that is already being read', async () => {
    const { stream } = await openStream(0, content.length);
    const sink = new PassThrough();
    sink.resume();
    stream.pipe(sink);
    await new Promise((resolve) => stream.once('data', resolve));
    await assert.rejects(stream.sendTo(new Collector()), /already being read/);
    stream.destroy();
  });

  it('destroying an unread stream closes the file', async () => {
    const { handle, stream } = await openStream(0, content.length);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    assert.ok(await handleClosed(handle), 'handle closed');
  });
});
