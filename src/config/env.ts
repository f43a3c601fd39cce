// Environment overrides. Distribution's rule is mechanical: REGISTRY_ + the key path in upper
// case with "_" between levels (REGISTRY_HTTP_ADDR -> http.addr). Berth accepts that prefix and
// BERTH_ for every key, and learns the key paths from the schema, so the two cannot drift.
// REGISTRY_ is shared with other programs (podman and skopeo read REGISTRY_AUTH_FILE), so a
// REGISTRY_* variable that names no key is a warning, as in Distribution; BERTH_ is Berth's
// own, so one there is an error, like a misspelled key in the file.
import { suggestKey, settingKeysUnder, type ConfigIssue } from './issues.js';
import { findNode, ignoredKeyFor, ignoredWarning, type SettingNode } from './schema.js';

export const ENV_PREFIXES = ['REGISTRY', 'BERTH'] as const;
export type EnvPrefix = (typeof ENV_PREFIXES)[number];

/**
 * Variables that name the configuration file rather than a key (Distribution reads
 * REGISTRY_CONFIGURATION_PATH when `registry serve` gets no argument).
 */
export const CONFIG_FILE_ENV_VARS = ['BERTH_CONFIG', 'REGISTRY_CONFIGURATION_PATH'] as const;

export function envVarName(prefix: EnvPrefix, keyPath: readonly string[]): string {
  return [prefix, ...keyPath].join('_').toUpperCase();
}

/** The variable a user should set: Distribution's name for its keys, BERTH_* for Berth's own. */
export function primaryEnvVar(setting: SettingNode): string {
  return envVarName(setting.info.origin === 'distribution' ? 'REGISTRY' : 'BERTH', setting.path);
}

export interface EnvSetting {
  setting: SettingNode;
  value: string;
  /** "env REGISTRY_HTTP_ADDR" */
  source: string;
}

export interface EnvOverrides {
  settings: EnvSetting[];
  issues: ConfigIssue[];
  warnings: string[];
}

// Kubernetes injects <SERVICE>_SERVICE_HOST, <SERVICE>_PORT=tcp://... and friends for every
// service in the namespace; a service called "registry" or "berth-ui" would otherwise stop
// start-up with an "unknown key" error.
function looksLikeServiceLink(name: string, value: string): boolean {
  return (
    /_SERVICE_HOST$/.test(name) ||
    /_SERVICE_PORT(?:_[A-Z0-9_]+)?$/.test(name) ||
    /_PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?$/.test(name) ||
    (/_PORT$/.test(name) && /^(?:tcp|udp|sctp):\/\//.test(value))
  );
}

/** Sections whose variable names a choice rather than holding settings. */
const SECTION_SELECTORS: ReadonlyMap<string, { what: string; choices: readonly string[] }> = new Map([
  ['storage', { what: 'a storage driver', choices: ['filesystem', 's3'] }],
  ['auth', { what: 'an authentication method', choices: ['htpasswd', 'token'] }],
]);

/** Reads REGISTRY_* and BERTH_* variables; empty values count as unset. */
export function readEnvOverrides(env: NodeJS.ProcessEnv): EnvOverrides {
  const result: EnvOverrides = { settings: [], issues: [], warnings: [] };
  const byKey = new Map<string, EnvSetting>();
  const names = Object.keys(env).sort();

  for (const name of names) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if ((CONFIG_FILE_ENV_VARS as readonly string[]).includes(name)) continue;
    const prefix = ENV_PREFIXES.find((candidate) => name.startsWith(`${candidate}_`));
    if (prefix === undefined) continue;
    const source = `env ${name}`;
    const keyPath = name
      .slice(prefix.length + 1)
      .toLowerCase()
      .split('_');
    const key = keyPath.join('.');

    // Distribution picks a storage driver or an auth method by setting the section itself
    // (REGISTRY_STORAGE=s3, REGISTRY_AUTH=htpasswd, as the tutorials write); the choice's own
    // settings come from REGISTRY_<SECTION>_<CHOICE>_* variables.
    const selector = SECTION_SELECTORS.get(key);
    if (selector !== undefined) {
      const choice = value.toLowerCase();
      if (selector.choices.includes(choice)) continue;
      if (ignoredKeyFor([key, choice]) !== undefined) {
        result.warnings.push(ignoredWarning(`${key}.${choice}`, source));
      } else {
        result.issues.push(
          invalid(key, `expected ${selector.what} (${selector.choices.join(' or ')}), got ${JSON.stringify(value)}`, source),
        );
      }
      continue;
    }

    const node = keyPath.includes('') ? undefined : findNode(keyPath);
    if (node?.type === 'setting') {
      const previous = byKey.get(node.key);
      if (previous === undefined) {
        const entry = { setting: node, value, source };
        byKey.set(node.key, entry);
        result.settings.push(entry);
      } else if (previous.value !== value) {
        result.issues.push(invalid(node.key, `set to different values by ${previous.source.slice(4)} and ${name}`, source));
      }
      continue;
    }
    if (node?.type === 'section') {
      const settings = settingKeysUnder(node.key).map((settingKey) => envVarName(prefix, settingKey.split('.')));
      result.issues.push(invalid(node.key, `a section cannot be set from the environment; set ${settings.join(', ')}`, source));
      continue;
    }
    const ignored = ignoredKeyFor(keyPath);
    if (ignored !== undefined) {
      result.warnings.push(ignoredWarning(ignored, source));
      continue;
    }
    if (looksLikeServiceLink(name, value)) {
      result.warnings.push(`ignored: ${name} is not a setting (it looks like a Kubernetes service link)`);
      continue;
    }
    const suggestion = suggestKey(key);
    if (prefix === 'REGISTRY') {
      const hint = suggestion === undefined ? '' : `; did you mean ${envVarName(prefix, suggestion.split('.'))}?`;
      result.warnings.push(`ignored: ${name} names no setting (no key ${JSON.stringify(key)})${hint}`);
      continue;
    }
    result.issues.push({
      kind: 'unknown-key',
      key,
      message: 'unknown key',
      source,
      suggestion: suggestion === undefined ? undefined : envVarName(prefix, suggestion.split('.')),
    });
  }
  return result;
}

function invalid(key: string, message: string, source: string): ConfigIssue {
  return { kind: 'invalid-value', key, message, source, suggestion: undefined };
}
