#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
// The `berth` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
//
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space (Node's default is
// 16 MiB here): a server allocating at full request rate otherwise grows it to the maximum and
// keeps about 50 MiB more resident for no measurable gain in speed. --heap-growing-percent=50
// starts a full collection once the old generation has grown by half of what survived the last
// one, instead of V8's default of about double: at 10k requests/s the garbage promoted from the
// young generation otherwise keeps ~35 MiB more resident (docs/performance.md).
// `npm start`, deploy/Containerfile and deploy/kubernetes pass the same flag (bench/launch-flags.test.ts).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
