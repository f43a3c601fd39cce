// Keeps the key table of docs/migrating-from-distribution.md in step with the schema: every
// Distribution setting of the schema and every ignored Distribution key has a row; a row marked
// supported or different names a Distribution setting (or a section of them) that Berth reads;
// a row marked ignored loads with the warning for that key; a row marked refused stops loading
// with "unknown key". Each is checked through the real loader where the status is about loading.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from './index.js';
import { findNode, IGNORED_KEYS, ignoredKeyFor, listSettings, type SchemaNode } from './schema.js';

type Status = 'supported' | 'different' | 'ignored' | 'refused';

const docs = await readFile(new URL('../../docs/migrating-from-distribution.md', import.meta.url), 'utf8');
const tableStart = docs.indexOf('| Distribution key | Berth | What to know |');
const rows = new Map<string, Status>();
for (const line of docs.slice(tableStart).split('\n').slice(2)) {
  if (!line.startsWith('|')) break;
  const match = /^\| `([a-z0-9.]+)` \| (supported|different|ignored|refused) \|/.exec(line);
  assert.ok(match?.[1] && match[2], `docs/migrating-from-distribution.md: a row does not read "| \`key\` | status | ... |": ${line}`);
  assert.ok(!rows.has(match[1]), `${match[1]} has two rows`);
  rows.set(match[1], match[2] as Status);
}

// What a key needs beside it to load (a section whose other settings are required).
const SIBLINGS: Readonly<Record<string, Record<string, unknown>>> = {
  'storage.s3.': { storage: { s3: { bucket: 'a-bucket' } } },
  'http.tls.': { http: { tls: { certificate: '/etc/berth/server.crt', key: '/etc/berth/server.key' } } },
  'auth.token.': {
    auth: {
      token: { realm: 'https://auth.example.com/token', service: 'registry', issuer: 'auth', rootcertbundle: '/etc/berth/token.pem' },
    },
  },
};

/** A YAML file setting `key` (dotted) to a placeholder, with the siblings its section needs. */
function fileWith(key: string): string {
  const prefix = Object.keys(SIBLINGS).find((candidate) => key.startsWith(candidate));
  const file: Record<string, unknown> = structuredClone(prefix === undefined ? {} : SIBLINGS[prefix]) ?? {};
  let level = file;
  const parts = key.split('.');
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1) {
      level[part] = 'placeholder';
    } else {
      level[part] ??= {};
      level = level[part] as Record<string, unknown>;
    }
  }
  return stringify(file);
}

function isDistributionNode(node: SchemaNode): boolean {
  if (node.type === 'setting') return node.info.origin === 'distribution';
  return [...node.children.values()].some(isDistributionNode);
}

// A failure here means the schema changed (a key supported, added or ignored): update the key's
// row in docs/migrating-from-distribution.md, as docs/configuration.md is updated.
describe('docs/migrating-from-distribution.md: the configuration key table', () => {
  it('has rows', () => assert.ok(rows.size > 50, `only ${rows.size} rows found`));

  it('has a row for every Distribution setting of the schema, marked supported or different', () => {
    for (const setting of listSettings().filter((s) => s.info.origin === 'distribution')) {
      const status = rows.get(setting.key);
      assert.ok(status === 'supported' || status === 'different', `${setting.key}: ${status ?? 'no row'}`);
    }
  });

  it('has a row for every ignored Distribution key, marked ignored', () => {
    for (const key of IGNORED_KEYS.keys()) assert.equal(rows.get(key), 'ignored', `${key}: ${rows.get(key) ?? 'no row'}`);
  });

  for (const [key, status] of rows) {
    it(`${key}: ${status}`, () => {
      const path = key.split('.');
      if (status === 'supported' || status === 'different') {
        const node = findNode(path);
        assert.ok(node, `${key} is marked ${status}, but the schema has no such key`);
        assert.ok(isDistributionNode(node), `${key} is in the schema as Berth's own key, not Distribution's`);
        return;
      }
      if (status === 'ignored') {
        assert.equal(ignoredKeyFor(path), key, `${key} is marked ignored, but it is not in IGNORED_KEYS`);
        const config = parseConfig(fileWith(key), { cwd: '/', env: {} });
        assert.ok(
          config.warnings.some((warning) => warning.startsWith(`ignored: ${key} `)),
          `no warning for ${key}: ${JSON.stringify(config.warnings)}`,
        );
        return;
      }
      assert.equal(findNode(path), undefined, `${key} is marked refused, but the schema reads it`);
      assert.equal(ignoredKeyFor(path), undefined, `${key} is marked refused, but it is ignored`);
      assert.throws(
        () => parseConfig(fileWith(key), { cwd: '/', env: {} }),
        (error: unknown) =>
          error instanceof ConfigError && path.some((_, i) => error.message.includes(`unknown key "${path.slice(0, i + 1).join('.')}"`)),
        `${key} did not stop loading with unknown key`,
      );
    });
  }
});
