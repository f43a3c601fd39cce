// The steps garbage collection and cache eviction share when they remove a manifest that a push
// may be reaching at the same moment: lock its row first, re-check inside the transaction, then
// remove the manifest with everything that hangs off it. The callers add their own checks (tags,
// subjects, pulls) between the lock and the removal.
import type { Executor } from './links.js';

/**
 * Locks the manifest's row until the transaction ends, by a no-op update: a push of the same
 * manifest updates this row and a push of an index naming it holds it FOR SHARE, so either has
 * committed before the caller's checks read, or waits and then finds the manifest gone. On
 * SQLite the write also takes the database's write lock (gc-index.ts). Returns the row's push
 * time and subject, or undefined when the repository has no such manifest.
 */
export async function lockManifest(
  trx: Executor,
  repository: string,
  digest: string,
): Promise<{ pushedAt: string; subjectDigest: string | null } | undefined> {
  const locked = await trx
    .updateTable('manifests')
    .set((eb) => ({ pushed_at: eb.ref('pushed_at') }))
    .where('repository', '=', repository)
    .where('digest', '=', digest)
    .executeTakeFirst();
  if (Number(locked.numUpdatedRows) === 0) return undefined;
  const row = await trx
    .selectFrom('manifests')
    .select(['pushed_at', 'created_at', 'subject_digest'])
    .where('repository', '=', repository)
    .where('digest', '=', digest)
    .executeTakeFirstOrThrow();
  return { pushedAt: row.pushed_at ?? row.created_at, subjectDigest: row.subject_digest };
}

/** Whether an index of the repository lists the manifest as a child (it must then stay). */
export async function listedByIndex(trx: Executor, repository: string, digest: string): Promise<boolean> {
  const index = await trx
    .selectFrom('manifest_references')
    .select('manifest_digest')
    .where('repository', '=', repository)
    .where('referenced_digest', '=', digest)
    .where('kind', '=', 'manifest')
    .limit(1)
    .executeTakeFirst();
  return index !== undefined;
}

/** Removes the manifest, what it references, its own blob link and its cache record (tags are the caller's). */
export async function removeManifestRows(trx: Executor, repository: string, digest: string): Promise<void> {
  await trx.deleteFrom('manifests').where('repository', '=', repository).where('digest', '=', digest).execute();
  await trx.deleteFrom('manifest_references').where('repository', '=', repository).where('manifest_digest', '=', digest).execute();
  await trx.deleteFrom('repository_blobs').where('repository', '=', repository).where('digest', '=', digest).execute();
  await trx.deleteFrom('cached_items').where('repository', '=', repository).where('digest', '=', digest).execute();
}

/**
 * Deletes these tags of the repository, where they still name the manifest, one by one in
 * sorted order: the order putManifest locks tags in, so a removal and a push moving several of
 * them cannot deadlock.
 */
export async function deleteTagsInOrder(trx: Executor, repository: string, digest: string, tags: readonly string[]): Promise<void> {
  for (const tag of [...tags].sort()) {
    await trx
      .deleteFrom('tags')
      .where('repository', '=', repository)
      .where('name', '=', tag)
      .where('manifest_digest', '=', digest)
      .execute();
  }
}
