// How storage keys become S3 object keys: everything lives below an optional root prefix
// (Distribution's rootdirectory), and a writer's unfinished content keeps its last, partial
// part in a sidecar object "<key>~tail" next to the key. '~' never occurs in a valid storage
// key, so a sidecar can never collide with content, and list() can recognise it.
import { isValidKeySegment } from '../keys.js';

/** Suffix of the sidecar object that holds an unfinished upload's tail and its state. */
export const TAIL_SUFFIX = '~tail';

export class ObjectKeys {
  /** The root prefix with a trailing '/', or '' for the bucket's root. */
  readonly #root: string;

  /**
   * rootDirectory is given as Distribution users write it ("/registry", "registry/v2/"):
   * leading and trailing slashes are ignored; each segment must be a valid key segment,
   * so that the root cannot smuggle in '..' or characters S3 treats specially.
   */
  constructor(rootDirectory: string | undefined) {
    const segments = (rootDirectory ?? '').split('/').filter((segment) => segment !== '');
    for (const segment of segments) {
      if (!isValidKeySegment(segment)) {
        throw new Error(`s3: invalid rootDirectory ${JSON.stringify(rootDirectory)}`);
      }
    }
    this.#root = segments.length === 0 ? '' : `${segments.join('/')}/`;
  }

  /** The object holding committed content of a (validated) key. */
  object(key: string): string {
    return this.#root + key;
  }

  /** The sidecar holding the tail of an unfinished upload to key. */
  tail(key: string): string {
    return this.#root + key + TAIL_SUFFIX;
  }

  /** The prefix every object below key starts with; '' stands for the root. */
  below(key: string): string {
    return key === '' ? this.#root : `${this.#root}${key}/`;
  }

  /**
   * The child key named by an object or common prefix listed below `prefix`, or undefined
   * for names that are not keys (strangers written by other tools). A tail sidecar names its
   * key: unfinished content is content, as a partly written file is on a filesystem.
   */
  childOf(prefix: string, listed: string): string | undefined {
    const start = this.below(prefix);
    if (!listed.startsWith(start)) {
      return undefined;
    }
    let name = listed.slice(start.length);
    if (name.endsWith('/')) {
      name = name.slice(0, -1);
    } else if (name.endsWith(TAIL_SUFFIX)) {
      name = name.slice(0, -TAIL_SUFFIX.length);
    }
    if (!isValidKeySegment(name)) {
      return undefined;
    }
    return prefix === '' ? name : `${prefix}/${name}`;
  }

  /** True when an object or upload key belongs to key itself or lies below it. */
  isAtOrBelow(key: string, objectKey: string): boolean {
    const own = this.object(key);
    return objectKey === own || objectKey === own + TAIL_SUFFIX || objectKey.startsWith(`${own}/`);
  }
}
