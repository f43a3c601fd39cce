// Configuration problems and the error that stops start-up. Every problem names the key path
// and where the value came from (file:line or environment variable), one problem per line.
import { IGNORED_KEYS, listSettings, schemaTree, type SchemaNode } from './schema.js';

export interface ConfigIssue {
  /** unknown-key: a key Berth does not know; invalid-value: a known key with a bad value;
   *  unreadable: the file cannot be read or is not YAML (the message says where). */
  kind: 'unknown-key' | 'invalid-value' | 'unreadable';
  /** Dotted key path, e.g. "http.addr"; empty when the problem is not about one key. */
  key: string;
  message: string;
  /** "config.yml:12", "env REGISTRY_HTTP_ADDR", or undefined for a default. */
  source: string | undefined;
  /** A close known key (or variable name) when the key looks misspelled. */
  suggestion: string | undefined;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.source === undefined ? '' : ` (${issue.source})`;
  switch (issue.kind) {
    case 'unknown-key':
      return `config: unknown key ${JSON.stringify(issue.key)}${where}${
        issue.suggestion === undefined ? '' : `; did you mean ${issue.suggestion}?`
      }`;
    case 'invalid-value':
      return `config: ${issue.key}: ${issue.message}${where}`;
    case 'unreadable':
      return `config: ${issue.message}`;
  }
}

/** Thrown when the configuration is invalid; the message lists every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

// ---- "did you mean" ------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function allKeyPaths(): string[] {
  const keys: string[] = [...IGNORED_KEYS.keys()];
  const visit = (node: SchemaNode): void => {
    if (node.key !== '') keys.push(node.key);
    if (node.type === 'section') for (const child of node.children.values()) visit(child);
  };
  visit(schemaTree());
  return keys;
}

/**
 * The known key closest to a misspelled one, compared whole ("storage.filesytem" ->
 * "storage.filesystem"), ignoring case. Only close matches count, so that a truly unknown
 * key gets no misleading advice.
 */
export function suggestKey(key: string): string | undefined {
  const wanted = key.toLowerCase();
  const depth = key.split('.').length;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allKeyPaths()) {
    if (candidate.split('.').length !== depth) continue;
    const distance = editDistance(wanted, candidate);
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  const lastSegment = key.split('.').pop() ?? key;
  const allowed = Math.max(1, Math.min(3, Math.floor(lastSegment.length / 3)));
  return best !== undefined && best.distance <= allowed && best.key !== key ? best.key : undefined;
}

/** Names of all settings, for messages that list what could be set instead. */
export function settingKeysUnder(prefix: string): string[] {
  return listSettings()
    .map((setting) => setting.key)
    .filter((key) => key.startsWith(`${prefix}.`));
}
