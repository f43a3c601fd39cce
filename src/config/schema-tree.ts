// The schema as a tree of sections and settings, walked by the YAML loader, the environment
// overrides, the error messages (suggestions) and the docs test.
import { z } from 'zod';
import { configFileSchema } from './file-schema.js';
import { settingInfo, type SettingInfo } from './setting.js';

export interface SettingNode {
  type: 'setting';
  path: readonly string[];
  /** Dotted key path as written in docs and messages, e.g. "http.addr". */
  key: string;
  info: SettingInfo;
}

export interface SectionNode {
  type: 'section';
  path: readonly string[];
  key: string;
  children: ReadonlyMap<string, SchemaNode>;
}

export type SchemaNode = SettingNode | SectionNode;

function unwrapToObject(schema: z.ZodType): z.ZodObject | undefined {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodObject) return current;
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
      current = current.unwrap() as z.ZodType;
    } else {
      return undefined;
    }
  }
}

function buildNode(schema: z.ZodType, nodePath: readonly string[]): SchemaNode {
  const key = nodePath.join('.');
  const info = settingInfo.get(schema);
  if (info !== undefined) return { type: 'setting', path: nodePath, key, info };
  const object = unwrapToObject(schema);
  if (object === undefined) throw new Error(`config schema: ${key} is neither a setting nor a section`);
  const children = new Map<string, SchemaNode>();
  for (const [name, child] of Object.entries(object.shape)) {
    children.set(name, buildNode(child as z.ZodType, [...nodePath, name]));
  }
  return { type: 'section', path: nodePath, key, children };
}

let rootNode: SectionNode | undefined;

/** The schema as a tree of sections and settings (built once). */
export function schemaTree(): SectionNode {
  if (rootNode === undefined) {
    const node = buildNode(configFileSchema, []);
    if (node.type !== 'section') throw new Error('config schema: the root must be a section');
    rootNode = node;
  }
  return rootNode;
}

/** Every setting (leaf key) in schema order. */
export function listSettings(): SettingNode[] {
  const out: SettingNode[] = [];
  const visit = (node: SchemaNode): void => {
    if (node.type === 'setting') out.push(node);
    else for (const child of node.children.values()) visit(child);
  };
  visit(schemaTree());
  return out;
}

/** Finds the node at a key path, or undefined. */
export function findNode(keyPath: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode = schemaTree();
  for (const part of keyPath) {
    if (node.type !== 'section') return undefined;
    const next = node.children.get(part);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}
