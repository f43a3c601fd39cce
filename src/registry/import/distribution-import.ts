// `berth import distribution`: brings a CNCF Distribution storage tree (distribution-tree.ts)
// into Berth: every repository, its blob links, its manifests (byte for byte, so every digest
// stays the same) and its tags, written to the index exactly as a push would write them
// (MetadataStore.putManifest with the references, subject and annotations the manifest service
// computes, and its check that every blob and child manifest is in the repository).
//
// Two modes. 'copy' streams each blob into Berth's storage, hashing it on the way, and commits
// it only when the digest matches. 'in-place' copies nothing: Berth's storage root is
// Distribution's docker/registry/v2 folder, whose blobs/ layout is Berth's own (paths.ts), so
// only the index is written; blobs are checked to exist, and hashed with `verify`.
//
// A blob that is missing or does not match its digest is reported by name and left out, and so
// is every manifest that needs it (and every tag on such a manifest); the rest goes on. Unfinished
// uploads are not imported, only counted. Each repository is recorded as done in the settings
// table once imported, so a run that was killed starts again after the last finished repository;
// every write is idempotent, so the repository that was cut off is simply imported again.
import { createHash } from 'node:crypto';
import { PathNotFoundError } from '../../errors/index.js';
import type { MetadataStore } from '../../metadata/index.js';
import { Digest, ManifestFormatError, parseManifest, referencesOf, type ParsedManifest } from '../../oci/index.js';
import type { CallOptions, StorageDriver } from '../../storage/driver.js';
import { requiredReferences } from '../manifest-service.js';
import type { IndexChildPolicy } from '../options.js';
import { blobKey } from '../paths.js';
import type { DistributionRepository, DistributionTree } from './distribution-tree.js';

export type ImportMode = 'copy' | 'in-place';

export interface ImportOptions {
  readonly mode: ImportMode;
  /** In place: hash every blob (copy mode always does). Manifests are always hashed. */
  readonly verify: boolean;
  /**
   * Names this source in the records of finished repositories, so that a second run over the
   * same source resumes and a run over another source starts afresh.
   */
  readonly sourceId: string;
  /** Import every repository again, even those an earlier run finished. */
  readonly restart?: boolean | undefined;
  /** validation.manifests.indexes of the target, as a push would be checked. */
  readonly indexChildren?: IndexChildPolicy | undefined;
  /** Blobs checked or copied at the same time (default 4: S3 round trips overlap). */
  readonly concurrency?: number | undefined;
  readonly onProgress?: ((progress: ImportProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ImportProgress {
  /** Repositories finished (imported now or by an earlier run) of the total found. */
  readonly repositoriesDone: number;
  readonly repositoriesTotal: number;
  /** The repository being imported, if any. */
  readonly current: string | undefined;
  readonly blobs: number;
  readonly bytes: number;
  readonly problems: number;
}

export interface ImportSummary {
  /** Repositories imported by this run. */
  readonly repositories: number;
  /** Repositories an earlier, interrupted run had finished (not read again). */
  readonly repositoriesResumed: number;
  readonly tags: number;
  readonly manifests: number;
  /** Distinct blobs (layers and configs, not manifests) imported, and their bytes. */
  readonly blobs: number;
  readonly bytes: number;
  /** Bytes written into Berth's storage (copy mode; 0 in place). */
  readonly bytesCopied: number;
  /** Unfinished uploads found and not imported ("<repository> <upload id>"). */
  readonly uploadsSkipped: readonly string[];
  /** Everything left out, each naming what and why. */
  readonly problems: readonly string[];
  readonly seconds: number;
}

/** The settings key that records a finished repository of a source. */
export function doneKey(sourceId: string, repository: string): string {
  return `import.distribution.${sourceId}.done:${repository}`;
}

/** What a blob turned out to be: its size, or why it cannot be imported. */
type BlobOutcome = { readonly size: number } | { readonly problem: string };

export class DistributionImporter {
  /** Blobs already checked (or copied) in this run, by digest: shared blobs are read once. */
  private readonly blobOutcomes = new Map<string, Promise<BlobOutcome>>();
  private readonly problems: string[] = [];
  private counts = { repositories: 0, resumed: 0, tags: 0, manifests: 0, blobs: 0, bytes: 0, bytesCopied: 0 };
  private readonly uploads: string[] = [];
  private readonly countedBlobs = new Set<string>();
  /** The signal, as every storage call takes it. */
  private readonly call: CallOptions;

  constructor(
    private readonly tree: DistributionTree,
    /** Berth's storage: written in copy mode; in place, the same blobs as the tree's. */
    private readonly target: StorageDriver,
    private readonly metadata: MetadataStore,
    private readonly options: ImportOptions,
  ) {
    this.call = options.signal ? { signal: options.signal } : {};
  }

  async run(): Promise<ImportSummary> {
    const started = performance.now();
    const signal = this.options.signal;
    const names = await this.tree.repositoryNames((problem) => this.problems.push(problem), this.call);
    let done = 0;
    const report = (current: string | undefined): void =>
      this.options.onProgress?.({
        repositoriesDone: done,
        repositoriesTotal: names.length,
        current,
        blobs: this.counts.blobs,
        bytes: this.counts.bytes,
        problems: this.problems.length,
      });
    report(undefined);
    for (const name of names) {
      signal?.throwIfAborted();
      const key = doneKey(this.options.sourceId, name);
      if (!this.options.restart && (await this.metadata.accounts.getSetting(key)) !== undefined) {
        this.counts.resumed++;
      } else {
        report(name);
        await this.importRepository(await this.tree.repository(name, this.call), () => report(name));
        // Recorded only after everything of the repository is in the index.
        await this.metadata.accounts.setSettingIfAbsent(key, new Date().toISOString());
        this.counts.repositories++;
      }
      done++;
      report(undefined);
    }
    return {
      repositories: this.counts.repositories,
      repositoriesResumed: this.counts.resumed,
      tags: this.counts.tags,
      manifests: this.counts.manifests,
      blobs: this.counts.blobs,
      bytes: this.counts.bytes,
      bytesCopied: this.counts.bytesCopied,
      uploadsSkipped: this.uploads,
      problems: this.problems,
      seconds: (performance.now() - started) / 1000,
    };
  }

  private async importRepository(repository: DistributionRepository, onBlob: () => void): Promise<void> {
    const { name } = repository;
    this.problems.push(...repository.problems);
    for (const upload of repository.uploads) this.uploads.push(`${name} ${upload}`);

    // Blob links first: a manifest is accepted only when its blobs are in the repository.
    await inPool(repository.blobs, this.options.concurrency ?? 4, async (digest) => {
      const outcome = await this.blob(digest);
      if ('problem' in outcome) {
        this.problems.push(`blob ${digest.toString()} (linked in ${name}): ${outcome.problem}; skipped`);
        return;
      }
      await this.metadata.addBlobToRepository(name, digest.toString(), outcome.size);
      if (!this.countedBlobs.has(digest.toString())) {
        this.countedBlobs.add(digest.toString());
        this.counts.blobs++;
        this.counts.bytes += outcome.size;
      }
      onBlob();
    });

    // Then the manifests, each child before the index that lists it.
    const tagsOf = new Map<string, string[]>();
    for (const [tag, digest] of repository.tags) {
      const list = tagsOf.get(digest.toString()) ?? [];
      list.push(tag);
      tagsOf.set(digest.toString(), list);
    }
    const pending = new Map<string, { digest: Digest; bytes: Buffer; manifest: ParsedManifest }>();
    for (const digest of repository.manifests) {
      const read = await this.readManifest(digest);
      if ('problem' in read) {
        this.problems.push(`manifest ${name}@${digest.toString()}: ${read.problem}; skipped`);
        continue;
      }
      pending.set(digest.toString(), { digest, ...read });
    }
    const imported = new Set<string>();
    // A pass imports what has all its children; an index of indexes needs one pass per level.
    for (let progress = true; progress && pending.size > 0; ) {
      progress = false;
      for (const [key, entry] of pending) {
        const waitsFor = entry.manifest.manifests.some((child) => pending.has(child.digest.toString()) && child.digest.toString() !== key);
        if (waitsFor) continue;
        pending.delete(key);
        progress = true;
        if (await this.putManifest(name, entry, tagsOf.get(key) ?? [])) imported.add(key);
      }
    }
    for (const [key] of pending) {
      this.problems.push(`manifest ${name}@${key}: its index children form a cycle; skipped`);
    }
    for (const [tag, digest] of repository.tags) {
      if (imported.has(digest.toString())) continue;
      const why = repository.manifests.some((d) => d.equals(digest))
        ? 'that manifest was not imported'
        : 'that manifest is not in the repository (deleted)';
      this.problems.push(`tag ${name}:${tag} -> ${digest.toString()}: ${why}; skipped`);
    }
  }

  /** Writes one manifest to the index (and, in copy mode, its bytes); false when refused. */
  private async putManifest(
    repository: string,
    entry: { digest: Digest; bytes: Buffer; manifest: ParsedManifest },
    tags: readonly string[],
  ): Promise<boolean> {
    const { digest, bytes, manifest } = entry;
    if (this.options.mode === 'copy') {
      const key = blobKey(digest);
      if ((await sizeAt(this.target, key)) !== bytes.length) await this.target.putContent(key, bytes, this.call);
    }
    const { missing } = await this.metadata.putManifest({
      repository,
      digest: digest.toString(),
      mediaType: manifest.mediaType,
      size: bytes.length,
      artifactType: manifest.artifactType ?? (manifest.kind === 'image' ? manifest.config?.mediaType : undefined),
      subjectDigest: manifest.subject?.digest.toString(),
      annotations: manifest.annotations,
      references: referencesOf(manifest).map((r) => ({ digest: r.digest.toString(), kind: r.kind })),
      tags,
      mustExist: requiredReferences(manifest, this.options.indexChildren),
    });
    if (missing !== undefined) {
      this.problems.push(`manifest ${repository}@${digest.toString()}: needs ${missing}, which was not imported; skipped`);
      return false;
    }
    this.counts.manifests++;
    this.counts.tags += tags.length;
    return true;
  }

  /** A manifest's bytes from the tree, checked against its digest and parsed. */
  private async readManifest(digest: Digest): Promise<{ bytes: Buffer; manifest: ParsedManifest } | { problem: string }> {
    let bytes: Buffer;
    try {
      bytes = await this.tree.storage.getContent(this.tree.blobKey(digest), this.call);
    } catch (error) {
      if (error instanceof PathNotFoundError) return { problem: 'its bytes are missing from blobs/' };
      throw error;
    }
    const actual = Digest.of(bytes, digest.algorithm);
    if (!actual.equals(digest)) return { problem: `its bytes hash to ${actual.toString()} (corrupt)` };
    try {
      return { bytes, manifest: parseManifest(bytes, undefined) };
    } catch (error) {
      if (error instanceof ManifestFormatError) return { problem: error.message };
      throw error;
    }
  }

  /** Checks (in place) or copies (copy mode) one blob, once per run. */
  private blob(digest: Digest): Promise<BlobOutcome> {
    const known = this.blobOutcomes.get(digest.toString());
    if (known) return known;
    const outcome = this.options.mode === 'copy' ? this.copyBlob(digest) : this.checkBlobInPlace(digest);
    this.blobOutcomes.set(digest.toString(), outcome);
    return outcome;
  }

  private async checkBlobInPlace(digest: Digest): Promise<BlobOutcome> {
    // Through Berth's own driver: that is where Berth will read it from.
    const key = blobKey(digest);
    const size = await sizeAt(this.target, key);
    if (size === undefined) return { problem: 'its bytes are missing from blobs/' };
    if (!this.options.verify) return { size };
    const hash = createHash(digest.algorithm);
    const reader = await this.target.reader(key, this.call);
    for await (const chunk of reader as AsyncIterable<Buffer>) hash.update(chunk);
    const actual = Digest.fromHash(digest.algorithm, hash);
    return actual.equals(digest) ? { size } : { problem: `its bytes hash to ${actual.toString()} (corrupt)` };
  }

  /**
   * Streams a blob from the tree into Berth's storage, hashing it; the writer commits only when
   * the digest matches, so Berth never holds bytes that do not match their address. A blob
   * already in Berth's storage with the same size (an interrupted run wrote it, verified) is
   * not copied again.
   */
  private async copyBlob(digest: Digest): Promise<BlobOutcome> {
    const source = this.tree.blobKey(digest);
    const sourceSize = await sizeAt(this.tree.storage, source);
    if (sourceSize === undefined) return { problem: 'its bytes are missing from blobs/' };
    const key = blobKey(digest);
    if ((await sizeAt(this.target, key)) === sourceSize) return { size: sourceSize };
    const reader = await this.tree.storage.reader(source, this.call);
    const writer = await this.target.writer(key, { append: false, ...this.call });
    const hash = createHash(digest.algorithm);
    let written = 0;
    try {
      for await (const chunk of reader as AsyncIterable<Buffer>) {
        hash.update(chunk);
        await writer.write(chunk);
        written += chunk.length;
      }
      const actual = Digest.fromHash(digest.algorithm, hash);
      if (!actual.equals(digest)) {
        await writer.cancel();
        return { problem: `its bytes hash to ${actual.toString()} (corrupt)` };
      }
      await writer.commit();
    } catch (error) {
      reader.destroy();
      await writer.cancel().catch(() => undefined);
      throw error;
    }
    this.counts.bytesCopied += written;
    return { size: written };
  }
}

/** The size of the content at key, or undefined when there is none. */
async function sizeAt(storage: StorageDriver, key: string): Promise<number | undefined> {
  try {
    const info = await storage.stat(key);
    return info.isDirectory ? undefined : info.size;
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/** Runs work over items with at most `limit` at a time; the first failure rejects. */
async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
