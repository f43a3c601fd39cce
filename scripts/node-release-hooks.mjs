// Loaded with --import by scripts/test-node-releases.mjs when the tests run on another Node
// release than the one node_modules was installed with: better-sqlite3's compiled addon fits one
// Node ABI only, so `better-sqlite3` resolves to a copy built for this Node (the directory
// NODE_RELEASE_BETTER_SQLITE3 names) while node_modules keeps the build for the installing Node.
// module.registerHooks (Node 22.15 and later) applies to import and require alike, in-thread.
import module from 'node:module';
import { pathToFileURL } from 'node:url';

const directory = process.env.NODE_RELEASE_BETTER_SQLITE3;
if (directory !== undefined && directory !== '') {
  if (typeof module.registerHooks !== 'function') {
    throw new Error(`node-release-hooks: Node ${process.version} has no module.registerHooks (Node 22.15 or later has)`);
  }
  const url = pathToFileURL(`${directory}/lib/index.js`).href;
  module.registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'better-sqlite3') return { url, format: 'commonjs', shortCircuit: true };
      return next(specifier, context);
    },
  });
}
