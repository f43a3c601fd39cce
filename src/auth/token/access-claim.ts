// The `access` claim of the Docker token specification: the list of {type, name, actions} a
// token grants. Read strictly: anything malformed refuses the whole token rather than granting
// a guessed subset, since an access list is exactly what the token is trusted for.
import { TokenError } from './token-error.js';

export interface ResourceAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Bounds that no real token comes near; they stop a huge claim from costing memory and time. */
const MAX_ENTRIES = 1000;
const MAX_ACTIONS = 32;

/**
 * The access list of a verified payload. Absent or null means no access (Distribution's Go
 * token servers serialise an empty list as null); any other non-array is malformed.
 */
export function parseAccessClaim(value: unknown): ResourceAccess[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TokenError('token access claim is not a list');
  if (value.length > MAX_ENTRIES) throw new TokenError('token access claim has too many entries');
  return value.map((entry: unknown) => parseEntry(entry));
}

function parseEntry(entry: unknown): ResourceAccess {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new TokenError('token access entry is not an object');
  }
  const { type, name, actions } = entry as Record<string, unknown>;
  if (typeof type !== 'string' || type === '') throw new TokenError('token access entry has no type');
  if (typeof name !== 'string' || name === '') throw new TokenError('token access entry has no name');
  if (!Array.isArray(actions) || actions.length > MAX_ACTIONS || !actions.every((action) => typeof action === 'string')) {
    throw new TokenError('token access entry actions are not a list of strings');
  }
  return { type, name, actions: [...(actions as string[])] };
}
