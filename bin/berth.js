#!/usr/bin/env -S node --max-semi-space-size=4
// The `berth` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
//
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space (Node's default is
// 16 MiB here): a server allocating at full request rate otherwise grows it to the maximum and
// keeps about 50 MiB more resident for no measurable gain in speed (docs/performance.md).
// `npm start`, deploy/Containerfile and deploy/kubernetes pass the same flag (bench/launch-flags.test.ts).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
