// Loading the configuration: YAML file, then environment overrides, then one validation pass
// against the schema. Problems are collected, not thrown one at a time, so a user fixes them
// all in one go; Distribution keys Berth does not implement become warnings.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parse as parseYaml, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { CONFIG_FILE_ENV_VARS, readEnvOverrides } from './env.js';
import { ConfigError, suggestKey, type ConfigIssue } from './issues.js';
import {
  configFileSchema,
  expectedGot,
  findNode,
  IGNORED_KEYS,
  ignoredWarning,
  schemaTree,
  toConfig,
  type Config,
  type SectionNode,
  type SettingKind,
} from './schema.js';

export { ConfigError, type ConfigIssue } from './issues.js';
export { configJsonSchema } from './schema.js';

export interface ParseConfigOptions {
  /** Environment to read REGISTRY_* and BERTH_* from; none when omitted (pass process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory that relative paths are resolved against; process.cwd() when omitted. */
  cwd?: string;
  /** File name used in messages ("config.yml:12"). */
  source?: string;
}

export interface LoadConfigOptions {
  /** YAML file; when omitted, BERTH_CONFIG or REGISTRY_CONFIGURATION_PATH from env, else none. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Reads and validates the configuration. With no file and no env it returns the defaults. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? configFileFromEnv(env);
  if (file === undefined) return parseConfig('', { env, cwd });
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'no such file' : String(error);
    throw new ConfigError([
      { kind: 'unreadable', key: '', message: `cannot read ${file}: ${reason}`, source: file, suggestion: undefined },
    ]);
  }
  return parseConfig(text, { env, cwd, source: file });
}

/** The configuration file named by the environment, if any. */
export function configFileFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of CONFIG_FILE_ENV_VARS) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Validates YAML text plus environment overrides; throws ConfigError listing every problem. */
export function parseConfig(yamlText: string, options: ParseConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const state: LoadState = {
    fileLabel: options.source,
    origins: new Map(),
    issues: [],
    warnings: [],
  };

  const raw = readYaml(yamlText, state);
  if (raw === undefined) throw new ConfigError(state.issues);

  const env = readEnvOverrides(options.env ?? {});
  state.issues.push(...env.issues);
  state.warnings.push(...env.warnings);
  for (const override of env.settings) {
    setAt(raw, override.setting.path, override.value);
    state.origins.set(override.setting.key, { source: override.source, text: override.value });
  }

  const cleaned = sift(raw, schemaTree(), state);
  const parsed = configFileSchema.safeParse(cleaned ?? {}, { reportInput: true });
  if (!parsed.success) state.issues.push(...parsed.error.issues.map((issue) => fromZodIssue(issue, state)));
  if (state.issues.length > 0 || !parsed.success) throw new ConfigError(state.issues);
  return toConfig(parsed.data, cwd, state.warnings);
}

// ---- internals -------------------------------------------------------------------------------

interface Origin {
  /** "config.yml:12" or "env REGISTRY_HTTP_ADDR" */
  source: string;
  /** The value exactly as written, when it was a plain YAML scalar or an env var. */
  text: string | undefined;
}

interface LoadState {
  fileLabel: string | undefined;
  /** Keyed by dotted key path. */
  origins: Map<string, Origin>;
  issues: ConfigIssue[];
  warnings: string[];
}

type RawMap = { [key: string]: unknown };

function isRawMap(value: unknown): value is RawMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sourceOf(key: string, state: LoadState): string | undefined {
  // The key itself, else the closest enclosing key that has a location.
  for (let parts = key.split('.'); parts.length > 0; parts = parts.slice(0, -1)) {
    const origin = state.origins.get(parts.join('.'));
    if (origin !== undefined) return origin.source;
  }
  return state.fileLabel;
}

/** Parses YAML into plain values and records where each key was written. */
function readYaml(text: string, state: LoadState): RawMap | undefined {
  const lineCounter = new LineCounter();
  // merge: Go's YAML decoders honour "<<" merge keys, so registry configs may use them.
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return state.fileLabel === undefined ? `line ${line}:${col}` : `${state.fileLabel}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      state.issues.push({
        kind: 'unreadable',
        key: '',
        message: `${where(error.pos[0])}: invalid YAML: ${error.message}`,
        source: state.fileLabel,
        suggestion: undefined,
      });
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    state.issues.push({ kind: 'unreadable', key: '', message: `invalid YAML: ${message}`, source: state.fileLabel, suggestion: undefined });
    return undefined;
  }
  if (value === null || value === undefined) return {};
  if (!isRawMap(value)) {
    state.issues.push({
      kind: 'unreadable',
      key: '',
      message: `${state.fileLabel ?? 'the configuration'} must be a YAML mapping (key: value lines), got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
      source: state.fileLabel,
      suggestion: undefined,
    });
    return undefined;
  }
  recordLocations(doc.contents, [], text, lineCounter, state);
  return value;
}

function recordLocations(node: YamlNode | null, parent: readonly string[], text: string, lineCounter: LineCounter, state: LoadState): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const keyPath = [...parent, String(pair.key.value)];
    const offset = pair.key.range?.[0];
    if (offset === undefined) continue;
    const line = lineCounter.linePos(offset).line;
    const value = pair.value;
    // The plain text matters for string settings: YAML reads `secret: 0123` as the number 123.
    const plain =
      isScalar(value) && value.type === 'PLAIN' && value.range !== undefined && value.range !== null
        ? text.slice(value.range[0], value.range[1])
        : undefined;
    state.origins.set(keyPath.join('.'), {
      source: state.fileLabel === undefined ? `line ${line}` : `${state.fileLabel}:${line}`,
      text: plain,
    });
    if (isMap(value)) recordLocations(value, keyPath, text, lineCounter, state);
  }
}

function setAt(root: RawMap, keyPath: readonly string[], value: string): void {
  let node = root;
  for (const part of keyPath.slice(0, -1)) {
    const next = node[part];
    if (isRawMap(next)) {
      node = next;
    } else {
      const created: RawMap = {};
      node[part] = created;
      node = created;
    }
  }
  const last = keyPath[keyPath.length - 1];
  if (last !== undefined) node[last] = value;
}

/**
 * Keeps only keys the schema knows, turning the raw text of each setting into the type the
 * schema expects (YAML or env "true" -> true, "5000" -> 5000, as Go's decoder does by target
 * type). Ignored Distribution keys become warnings, other unknown keys issues.
 */
function sift(value: unknown, section: SectionNode, state: LoadState): unknown {
  if (value === null || value === undefined) return undefined;
  if (!isRawMap(value)) return value; // zod reports "expected a mapping"
  const out: RawMap = {};
  for (const [name, child] of Object.entries(value)) {
    const keyPath = [...section.path, name];
    const key = keyPath.join('.');
    const node = section.children.get(name);
    if (node === undefined) {
      if (IGNORED_KEYS.has(key)) {
        state.warnings.push(ignoredWarning(key, sourceOf(key, state)));
      } else {
        const suggestion = suggestKey(key);
        state.issues.push({
          kind: 'unknown-key',
          key,
          message: 'unknown key',
          source: sourceOf(key, state),
          suggestion: suggestion === undefined ? undefined : JSON.stringify(suggestion),
        });
      }
      continue;
    }
    if (child === null || child === undefined) continue; // `key:` with no value means unset
    if (node.type === 'section') {
      const inner = sift(child, node, state);
      if (inner !== undefined) out[name] = inner;
    } else {
      out[name] = coerce(node.info.kind, child, state.origins.get(key)?.text);
      warnBareDuration(node.info.kind, out[name], key, state);
    }
  }
  return out;
}

const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  // YAML 1.1 (Go's yaml.v2, used by Distribution 2.x) reads these as booleans too.
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

function coerce(kind: SettingKind, value: unknown, text: string | undefined): unknown {
  switch (kind) {
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' ? (text ?? String(value)) : value;
    case 'enum':
      return typeof value === 'string' ? value.toLowerCase() : value;
    case 'boolean':
      return typeof value === 'string' ? (BOOLEAN_WORDS.get(value.toLowerCase()) ?? value) : value;
    case 'integer':
      return typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    case 'duration':
      return value;
    case 'list':
      return typeof value === 'string'
        ? value
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '')
        : value;
    case 'structured':
      return typeof value === 'string' ? parseStructured(value) : value;
  }
}

// An environment variable that sets a structured setting holds YAML (JSON is YAML too).
function parseStructured(text: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 }) as unknown;
  } catch {
    return text; // the schema then reports what it expected
  }
}

// Go reads `draintimeout: 60` as 60 nanoseconds. That is valid, but almost never meant.
function warnBareDuration(kind: SettingKind, value: unknown, key: string, state: LoadState): void {
  if (kind !== 'duration') return;
  const ns = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : 0;
  if (ns > 0 && ns < 1_000_000) {
    const where = sourceOf(key, state);
    state.warnings.push(
      `${key}: ${ns} is read as ${ns} nanoseconds (a number without a unit is nanoseconds, as in Distribution); write "${ns}s" for seconds${where === undefined ? '' : ` (${where})`}`,
    );
  }
}

function fromZodIssue(issue: z.core.$ZodIssue, state: LoadState): ConfigIssue {
  const keyPath = issue.path.map(String);
  const key = keyPath.join('.');
  if (issue.code === 'unrecognized_keys') {
    // sift() removes unknown keys first; this only fires if the two ever disagree.
    const unknown = [...keyPath, issue.keys[0] ?? ''].join('.');
    const suggestion = suggestKey(unknown);
    return {
      kind: 'unknown-key',
      key: unknown,
      message: 'unknown key',
      source: sourceOf(unknown, state),
      suggestion: suggestion === undefined ? undefined : JSON.stringify(suggestion),
    };
  }
  const node = findNode(keyPath);
  let message: string;
  if (issue.code === 'custom') message = issue.message;
  else if (node?.type === 'setting') message = expectedGot(node.info.expected, issue.input);
  else if (node?.type === 'section') message = expectedGot('a mapping of settings (key: value)', issue.input);
  else message = issue.message;
  return { kind: 'invalid-value', key, message, source: sourceOf(key, state), suggestion: undefined };
}
