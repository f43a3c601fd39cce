// Keeps docs/configuration.md in step with the schema: every setting has a row with its
// environment variable and default, every ignored key is listed, and the docs name no key or
// variable that does not exist.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CONFIG_FILE_ENV_VARS, primaryEnvVar, readEnvOverrides } from './env.js';
import { findNode, IGNORED_KEYS, listSettings } from './schema.js';

const docs = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const rows = docs.split('\n').filter((line) => line.startsWith('| `'));
const FOREIGN_ENV_VARS: readonly string[] = ['REGISTRY_AUTH_FILE'];

describe('docs/configuration.md', () => {
  for (const setting of listSettings()) {
    it(`documents ${setting.key}`, () => {
      const row = rows.find((line) => line.startsWith(`| \`${setting.key}\` |`));
      assert.ok(row, `docs/configuration.md has no table row for ${setting.key}`);
      const cells = row.split(' | ');
      assert.equal(cells[1], `\`${primaryEnvVar(setting)}\``, `${setting.key}: environment variable`);
      assert.equal(cells[2], `\`${setting.info.defaultText}\``, `${setting.key}: default`);
      assert.equal(cells[3], setting.info.origin === 'distribution' ? 'Distribution' : 'Berth', `${setting.key}: origin`);
    });
  }

  it('lists every ignored Distribution key', () => {
    const section = docs.slice(docs.indexOf('## Ignored Distribution keys'));
    for (const key of IGNORED_KEYS.keys()) assert.ok(section.includes(`\`${key}\``), `${key} is not in the ignored list`);
  });

  it('has no row for a setting that does not exist', () => {
    const settingKeys = new Set(listSettings().map((setting) => setting.key));
    for (const row of rows) {
      const key = /^\| `([a-z0-9.]+)` \| `(?:REGISTRY|BERTH)_/.exec(row)?.[1];
      if (key !== undefined) assert.ok(settingKeys.has(key), `docs describe ${key}, which the schema lacks`);
    }
  });

  it('names only environment variables that Berth reads', () => {
    const names = new Set(docs.match(/\b(?:REGISTRY|BERTH)_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
    for (const name of names) {
      if ((CONFIG_FILE_ENV_VARS as readonly string[]).includes(name)) continue;
      // Sections appear as examples of what cannot be set ("REGISTRY_HTTP is an error").
      if (
        findNode(
          name
            .split('_')
            .slice(1)
            .map((part) => part.toLowerCase()),
        )?.type === 'section'
      )
        continue;
      // Other programs' variables, named as examples of what Berth ignores.
      if (FOREIGN_ENV_VARS.includes(name)) continue;
      const result = readEnvOverrides({ [name]: 'filesystem' });
      assert.deepEqual(result.issues, [], `docs mention ${name}, which is not a setting`);
      assert.deepEqual(
        result.warnings.filter((w) => w.includes('names no setting')),
        [],
        `docs mention ${name}, which is not a setting`,
      );
    }
  });
});
