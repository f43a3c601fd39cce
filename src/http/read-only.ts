// The read-only gate of the registry API: while read-only mode is on, every write to /v2/
// (POST, PUT, PATCH, DELETE: uploads, mounts, manifest pushes, deletes) is answered 405 with
// Distribution's UNSUPPORTED code and a message saying why; GET and HEAD (pulls, and the
// pull-through cache fills they cause) go on. The admin API and the token endpoint are not
// behind it, so an administrator can always switch the mode off. app.ts calls it once the route
// is known and access is granted, as Distribution answers only after its access check.
import { RegistryError } from '../errors/index.js';

/** Whether read-only mode is on now (ReadOnlyMode in the registry layer: a field, read per request). */
export interface ReadOnlyGate {
  readonly active: boolean;
}

const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const READ_ONLY_MESSAGE = 'the registry is in read-only mode for maintenance: pulls work, pushes and deletes are refused';

/** Throws 405 UNSUPPORTED for a write while read-only mode is on. */
export function assertWritable(method: string, gate: ReadOnlyGate | undefined): void {
  if (gate?.active && WRITE_METHODS.has(method)) {
    throw new RegistryError('UNSUPPORTED', { readOnly: true, method }, { message: READ_ONLY_MESSAGE });
  }
}
