#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50 --initial-old-space-size=64
// The `berth` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs through
// `prepare`). Run it as ./bin/berth.js from the checkout, or as `berth` after `npm link`.
//
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space (Node's default is
// 16 MiB here): a server allocating at full request rate otherwise grows it to the maximum and
// keeps about 50 MiB more resident for no measurable gain in speed. --heap-growing-percent=50
// starts a full collection once the old generation has grown by half of what survived the last
// one, instead of V8's default of about double: at 10k requests/s the garbage promoted from the
// young generation otherwise keeps ~35 MiB more resident (docs/performance.md).
// --initial-old-space-size=64 keeps that limit at 64 MiB or more: V8 (Node 20) counts every
// Buffer allocated since the last full collection against the old generation's limit until a
// young collection frees it, and an upload brings a new 64 KiB Buffer from the HTTP parser per
// socket read, so with a ~24 MiB heap and the 50 % growth every ~20 MiB pushed started a full
// collection (23 per 512 MiB push, about half of Berth's CPU per GB); from 64 MiB, the young
// collections free those Buffers first (one full collection per several pushes).
// `npm start`, deploy/Containerfile and deploy/kubernetes pass the same flags (bench/launch-flags.test.ts).
import { fileURLToPath } from 'node:url';

const checkout = fileURLToPath(new URL('..', import.meta.url));
const built = new URL('../dist/', import.meta.url).href;

let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  // A fresh clone has neither dist/ (not in git) nor node_modules/: say which command fixes it
  // rather than printing Node's module-not-found trace.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  if (typeof error.url === 'string' && error.url.startsWith(built)) {
    console.error(
      `berth: ${fileURLToPath(error.url)} is missing: Berth is not built. Run \`npm run build\` in ${checkout} (\`npm ci\` runs it too).`,
    );
  } else {
    console.error(`berth: ${error.message}. Run \`npm ci\` in ${checkout} to install Berth's dependencies and build it.`);
  }
  process.exit(1);
}

cli.main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
