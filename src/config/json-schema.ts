// The JSON Schema export of the configuration file (`berth config schema`), for editors.
import { z } from 'zod';
import { configFileSchema } from './file-schema.js';
import { IGNORED_KEYS } from './ignored-keys.js';

type JsonObject = { [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON Schema (draft 2020-12) of the YAML file, for editors and `berth config check`. Ignored
 * Distribution keys are listed as allowed (any value) so that editors do not flag them.
 */
export function configJsonSchema(): object {
  const generated: JsonObject = z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-2020-12' });
  const schema: JsonObject = { $schema: generated['$schema'], title: 'Berth configuration', ...generated };
  for (const key of IGNORED_KEYS.keys()) {
    const parts = key.split('.');
    const name = parts.pop();
    let node: unknown = schema;
    for (const part of parts) {
      const properties: unknown = isJsonObject(node) ? node['properties'] : undefined;
      node = isJsonObject(properties) ? properties[part] : undefined;
    }
    const properties: unknown = isJsonObject(node) ? node['properties'] : undefined;
    if (name !== undefined && isJsonObject(properties)) {
      properties[name] = {
        description: `CNCF Distribution setting that Berth accepts and ignores (not supported yet).${
          IGNORED_KEYS.get(key) === undefined ? '' : ` Note: ${IGNORED_KEYS.get(key)}.`
        }`,
      };
    }
  }
  return schema;
}
