// Admin API for read-only mode under /api/v1/maintenance/readonly: read it, switch it on or off
// for every replica (the settings row ReadOnlyMode polls; this replica follows at once, the
// others within seconds). Administrators only. The configuration file's
// storage.maintenance.readonly.enabled: true keeps the registry read-only whatever is switched
// here; the answer shows both. docs/admin-api.md describes the endpoints.
import { z } from 'zod';
import type { ReadOnlyMode } from '../../registry/read-only-mode.js';
import { body, json, type AdminRouter } from '../admin-json.js';

const switchBody = z.strictObject({ enabled: z.boolean() });

export function registerMaintenanceRoutes(router: AdminRouter, readOnly: ReadOnlyMode): void {
  router.route('GET', '/maintenance/readonly', async (request, reply) => {
    await router.admin(request);
    // Read now rather than the last poll's value, so the answer is never seconds stale.
    return json(reply, 200, await readOnly.refresh());
  });
  router.route('PUT', '/maintenance/readonly', async (request, reply) => {
    await router.admin(request);
    const { enabled } = await body(request, switchBody);
    return json(reply, 200, await readOnly.set(enabled));
  });
}
