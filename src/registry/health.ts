// Readiness: can this replica reach its blob store and its metadata database? A load
// balancer or Kubernetes takes a replica that fails either out of rotation.
import { PathNotFoundError } from '../errors/index.js';
import type { RegistryIndex } from '../metadata/index.js';
import type { StorageDriver } from '../storage/driver.js';
import type { HealthReport } from './interfaces.js';

const checkTimeoutMs = 5_000;

export async function checkHealth(storage: StorageDriver, metadata: Pick<RegistryIndex, 'ping'>): Promise<HealthReport> {
  const [storageCheck, metadataCheck] = await Promise.all([
    probe(async (signal) => {
      // Any answer from the store, "not found" included, shows it is reachable.
      await storage.stat('health-probe', { signal }).catch((error: unknown) => {
        if (!(error instanceof PathNotFoundError)) throw error;
      });
    }),
    probe(() => metadata.ping()),
  ]);
  return {
    healthy: storageCheck === 'ok' && metadataCheck === 'ok',
    checks: { storage: storageCheck, metadata: metadataCheck },
  };
}

async function probe(check: (signal: AbortSignal) => Promise<void>): Promise<string> {
  const signal = AbortSignal.timeout(checkTimeoutMs);
  try {
    await Promise.race([
      check(signal),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')))),
    ]);
    return 'ok';
  } catch (error) {
    return `failing: ${error instanceof Error ? error.message : String(error)}`;
  }
}
