// Admin API for garbage collection under /api/v1/gc: start a run or a dry run (waiting for its
// report, or not), and list past runs with what they deleted and freed. Administrators only.
// docs/admin-api.md describes the endpoints.
import { z } from 'zod';
import { RegistryError } from '../../errors/index.js';
import { DurationError } from '../../oci/duration.js';
import { parseGracePeriod } from '../../oci/age.js';
import { GcAlreadyRunning, type GarbageCollector, type GcOptions } from '../../registry/index.js';
import { body, json, param, queryValue, type AdminRouter } from '../admin-json.js';

const runBody = z.strictObject({
  dryRun: z.boolean().optional(),
  deleteUntagged: z.boolean().optional(),
  /** An age such as "1h" or "7d", or "0s"; the configured gc.grace when absent. */
  grace: z.string().optional(),
  /** Answer when the run ends, with its report (default), or at once with 202 and the run's id. */
  wait: z.boolean().optional(),
});

export interface GcRouteDefaults {
  readonly graceMs: number;
  readonly deleteUntagged: boolean;
  readonly uploadMaxIdleMs: number | undefined;
}

const MAX_RUNS_PAGE = 100;

export function registerGcRoutes(router: AdminRouter, gc: GarbageCollector, defaults: GcRouteDefaults): void {
  router.route('POST', '/gc/runs', async (request, reply) => {
    await router.admin(request);
    const input = await body(request, runBody);
    const options: GcOptions = {
      trigger: 'api',
      dryRun: input.dryRun ?? false,
      deleteUntagged: input.deleteUntagged ?? defaults.deleteUntagged,
      graceMs: input.grace === undefined ? defaults.graceMs : grace(input.grace),
      uploadMaxIdleMs: defaults.uploadMaxIdleMs,
    };
    if (input.wait === false) {
      const started = await startInBackground(gc, options);
      return json(reply, 202, { id: started });
    }
    try {
      return json(reply, 200, await gc.run(options));
    } catch (error) {
      throw error instanceof GcAlreadyRunning ? new RegistryError('GC_RUNNING') : error;
    }
  });

  router.route('GET', '/gc/runs', async (request, reply) => {
    await router.admin(request);
    const limitText = queryValue(request, 'limit');
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_PAGE) {
      throw new RegistryError('REQUEST_INVALID', { reason: `limit must be a whole number from 1 to ${MAX_RUNS_PAGE}` });
    }
    const runs = await gc.history(limit + 1, queryValue(request, 'before'));
    const page = runs.slice(0, limit);
    return json(reply, 200, { runs: page, next: runs.length > limit ? page.at(-1)?.id : undefined });
  });

  router.route('GET', '/gc/runs/:id', async (request, reply) => {
    await router.admin(request);
    const id = param(request, 'id');
    const run = await gc.findRun(id);
    if (!run) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'gc run', name: id });
    return json(reply, 200, run);
  });
}

function grace(text: string): number {
  try {
    return parseGracePeriod(text);
  } catch (error) {
    if (error instanceof DurationError) throw new RegistryError('REQUEST_INVALID', { field: 'grace', reason: error.message });
    throw error;
  }
}

/**
 * Starts a run without waiting for it, once it holds the lease and has recorded itself; its
 * outcome goes to its history row. Resolves with the run's id.
 */
function startInBackground(gc: GarbageCollector, options: GcOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    gc.run({ ...options, onStart: resolve }).catch((error: unknown) => {
      reject(error instanceof GcAlreadyRunning ? new RegistryError('GC_RUNNING') : error);
    });
  });
}
