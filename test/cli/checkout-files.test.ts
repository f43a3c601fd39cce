// The files the README and docs have users create in the checkout (keys, users, local
// configuration, secrets) are ignored by git, so that `git add .` or `git commit -a` cannot
// publish a CA key or a password hash; and the patterns do not hide Berth's own sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The paths among `paths` that .gitignore ignores (by pattern alone, tracked or not). */
function ignored(paths: readonly string[]): string[] {
  const result = spawnSync('git', ['check-ignore', '--no-index', ...paths], { cwd: projectRoot, encoding: 'utf8' });
  // 0: some are ignored, 1: none is; anything else is an error.
  assert.ok(result.status === 0 || result.status === 1, `git check-ignore failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

const isGitCheckout = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: projectRoot }).status === 0;

describe('files the README has users create in the checkout', { skip: isGitCheckout ? false : 'not a git checkout' }, () => {
  it('are ignored by git', () => {
    const created = [
      // README "Secure it" and docs/tls.md: berth tls dev-cert --out certs (./certs by default).
      'certs/ca.key',
      'certs/ca.crt',
      'certs/server.key',
      'certs/server.crt',
      // README "Secure it": cat > berth.yml; examples/secure.yml: copy it to berth.yml.
      'berth.yml',
      // README "Configure it": berth serve config.yml.
      'config.yml',
      // README and docs/admin-api.md: berth user add NAME --htpasswd auth/htpasswd.
      'auth/htpasswd',
      // docs/scale-out.md: berth migrate --to migrate-target.yml.
      'migrate-target.yml',
      // deploy/README.md and docs/scale-out.md: secrets in a .env file next to compose.yml.
      'deploy/compose/.env',
      // npm start: blobs and metadata in ./data.
      'data/berth.db',
    ];
    assert.deepEqual(ignored(created), created);
  });

  it('do not hide sources or examples with the same names', () => {
    assert.deepEqual(ignored(['src/auth/htpasswd.ts', 'src/auth/index.ts', 'deploy/compose/berth.yml', 'examples/config.yml']), []);
  });
});
