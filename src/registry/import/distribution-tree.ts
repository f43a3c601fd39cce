// Reads the storage tree that CNCF Distribution (registry:2, registry:3, Debian's
// docker-registry) writes below its root directory, through the storage driver contract, so the
// same code reads it from a filesystem or an S3 bucket:
//
//   docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data                  blob and manifest bytes
//   docker/registry/v2/repositories/<name>/_layers/sha256/<hex>/link    a blob the repository may read
//   .../<name>/_manifests/revisions/sha256/<hex>/link                   a manifest of the repository
//   .../<name>/_manifests/tags/<tag>/current/link                       the digest the tag points at
//   .../<name>/_manifests/tags/<tag>/index/sha256/<hex>/link            the tag's history (not imported)
//   .../<name>/_uploads/<uuid>/{data,startedat,hashstates/...}          uploads in progress
//
// Repository names nest (a, a/b/c): a directory is a repository when it holds _manifests,
// _layers or _uploads, and its other children may be repositories too. A manifest deleted
// through the API keeps its revision directory but loses its link file, and its tags are
// removed, so a revision without a link is simply not a manifest any more.
import { PathNotFoundError } from '../../errors/index.js';
import { Digest, isDigestAlgorithm, isValidRepositoryName, isValidTag } from '../../oci/index.js';
import type { CallOptions, StorageDriver } from '../../storage/driver.js';

/** Where Distribution keeps everything, below its configured root directory. */
export const DISTRIBUTION_BASE = 'docker/registry/v2';

/** One repository of the tree, as its links describe it. */
export interface DistributionRepository {
  readonly name: string;
  /** Digests linked under _layers (blobs the repository may read). */
  readonly blobs: readonly Digest[];
  /** Digests with a revision link (the repository's manifests, tagged or not). */
  readonly manifests: readonly Digest[];
  /** Tag name -> digest of current/link. */
  readonly tags: ReadonlyMap<string, Digest>;
  /** Upload ids under _uploads: unfinished uploads, which are not imported. */
  readonly uploads: readonly string[];
  /** What could not be read (a bad link, a name Berth cannot take), each naming its path. */
  readonly problems: readonly string[];
}

/** A key segment as storage/keys.ts allows it. */
const STORAGE_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The markers that make a directory a repository. */
const REPOSITORY_MARKERS = new Set(['_manifests', '_layers', '_uploads']);

export class DistributionTree {
  /**
   * @param storage a driver whose root is Distribution's root directory (storage.filesystem.
   *   rootdirectory, or the S3 rootdirectory), or any root with `base` below it.
   * @param base the folder holding blobs/ and repositories/; default docker/registry/v2.
   */
  constructor(
    readonly storage: StorageDriver,
    readonly base: string = DISTRIBUTION_BASE,
  ) {}

  /** The key of a blob's bytes in this tree. */
  blobKey(digest: Digest): string {
    return `${this.base}/blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}/data`;
  }

  /** True when the tree has a repositories/ or blobs/ folder at all. */
  async exists(options?: CallOptions): Promise<boolean> {
    for (const folder of ['repositories', 'blobs']) {
      if ((await this.children(`${this.base}/${folder}`, options)).length > 0) return true;
    }
    return false;
  }

  /**
   * Every repository name, sorted, walking repositories/ depth first. Directories whose names
   * Berth cannot take as repository names are reported through onProblem and skipped.
   */
  async repositoryNames(onProblem: (problem: string) => void, options?: CallOptions): Promise<string[]> {
    const names: string[] = [];
    const root = `${this.base}/repositories`;
    const walk = async (key: string): Promise<void> => {
      const children = await this.children(key, options);
      const leaves = children.map((child) => child.slice(key.length + 1));
      const name = key.slice(root.length + 1);
      if (name !== '' && leaves.some((leaf) => REPOSITORY_MARKERS.has(leaf))) {
        if (isValidRepositoryName(name)) names.push(name);
        else onProblem(`repository "${name}": not a valid repository name, skipped`);
      }
      for (const leaf of leaves) {
        if (leaf.startsWith('_')) continue;
        // A key segment the storage contract refuses (lost+found, a space) cannot be a name part.
        if (!STORAGE_SEGMENT.test(leaf)) {
          onProblem(`${key}/${leaf}: not a repository name part, skipped`);
          continue;
        }
        await walk(`${key}/${leaf}`);
      }
    };
    await walk(root);
    return names.sort();
  }

  /** Reads one repository's links. */
  async repository(name: string, options?: CallOptions): Promise<DistributionRepository> {
    const problems: string[] = [];
    const prefix = `${this.base}/repositories/${name}`;
    const blobs = await this.linkedDigests(`${prefix}/_layers`, problems, options);
    const manifests = await this.linkedDigests(`${prefix}/_manifests/revisions`, problems, options);
    const tags = new Map<string, Digest>();
    for (const tagKey of await this.children(`${prefix}/_manifests/tags`, options)) {
      const tag = tagKey.slice(tagKey.lastIndexOf('/') + 1);
      if (!isValidTag(tag)) {
        problems.push(`tag ${name}:${tag}: not a valid tag name, skipped`);
        continue;
      }
      const digest = await this.readLink(`${tagKey}/current/link`, problems, options);
      if (digest !== undefined) tags.set(tag, digest);
    }
    const uploads = (await this.children(`${prefix}/_uploads`, options)).map((key) => key.slice(key.lastIndexOf('/') + 1));
    return { name, blobs, manifests, tags, uploads, problems };
  }

  /**
   * The digests of a links folder (<folder>/<algorithm>/<hex>/link), each checked against the
   * content of its link file. A directory without a link file is a deleted entry and is left out.
   */
  private async linkedDigests(folder: string, problems: string[], options?: CallOptions): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithmKey of await this.children(folder, options)) {
      const algorithm = algorithmKey.slice(folder.length + 1);
      if (!isDigestAlgorithm(algorithm)) {
        problems.push(`${algorithmKey}: unknown digest algorithm, skipped`);
        continue;
      }
      for (const hexKey of await this.children(algorithmKey, options)) {
        const named = Digest.tryParse(`${algorithm}:${hexKey.slice(algorithmKey.length + 1)}`);
        if (typeof named === 'string') {
          problems.push(`${hexKey}: not a digest (${named}), skipped`);
          continue;
        }
        const linked = await this.readLink(`${hexKey}/link`, problems, options, 'deleted');
        if (linked === undefined) continue;
        if (!linked.equals(named)) {
          problems.push(`${hexKey}/link: holds ${linked.toString()}, not the digest its folder names; skipped`);
          continue;
        }
        digests.push(named);
      }
    }
    return digests;
  }

  /**
   * The digest in a link file; undefined (with a problem) when it is not one, or when the file
   * is absent: silently with missing 'deleted' (Distribution removes the link of a deleted
   * manifest and keeps the folder).
   */
  private async readLink(key: string, problems: string[], options?: CallOptions, missing: 'deleted' | 'problem' = 'problem') {
    let content: Buffer;
    try {
      content = await this.storage.getContent(key, options);
    } catch (error) {
      if (error instanceof PathNotFoundError) {
        if (missing === 'problem') problems.push(`${key}: missing, skipped`);
        return undefined;
      }
      throw error;
    }
    const digest = Digest.tryParse(content.toString('utf8').trim());
    if (typeof digest === 'string') {
      problems.push(`${key}: does not hold a digest (${digest}), skipped`);
      return undefined;
    }
    return digest;
  }

  /** Immediate children of a folder as full keys; [] when there is none. */
  private async children(key: string, options?: CallOptions): Promise<string[]> {
    try {
      return await this.storage.list(key, options);
    } catch (error) {
      if (error instanceof PathNotFoundError) return [];
      throw error;
    }
  }
}
