#!/usr/bin/env -S node --max-semi-space-size=4
// The `berth` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
//
// CommonJS on purpose: Node loads this file synchronously, so the line below runs before anything
// starts libuv's thread pool (the ES module loader reads files through it), and libuv sizes the
// pool once, when it starts. The pool runs every file operation and fsync: its default of 4
// threads lets four fsyncs stall every other upload's file work, while 16 keeps concurrent
// pushes moving (docs/performance.md). A value set by the user wins.
//
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space (Node's default is
// 16 MiB here): a server allocating at full request rate otherwise grows it to the maximum and
// keeps about 50 MiB more resident for no measurable gain in speed (docs/performance.md).
// `npm start`, deploy/Containerfile and deploy/kubernetes pass the same flag (bench/launch-flags.test.ts).
'use strict';

process.env.UV_THREADPOOL_SIZE ??= '16';

import('../dist/cli/main.js')
  .then(({ main }) => main(process.argv))
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
