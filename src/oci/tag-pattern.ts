// Tag patterns and repository globs as lifecycle rules (immutability) write them, and what makes
// one valid. Both use the syntax of repository-glob.ts: `*` any run of characters (within one
// path component of a repository name; a tag has no `/`, so in a tag pattern it matches any run),
// `**` across components of a repository name, `?` one character, everything else literal and
// case-sensitive. Pure text, so the configuration and the admin API accept exactly the same rules.
import { repositoryGlob } from './repository-glob.js';

const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;
const REPOSITORY_GLOB = /^[a-z0-9._/*?-]{1,255}$/;

/** Why the tag pattern is not valid, or undefined when it is. */
export function tagPatternProblem(pattern: string): string | undefined {
  if (!TAG_PATTERN.test(pattern)) {
    return `tag pattern ${JSON.stringify(pattern)} may hold only letters, digits, '_', '.', '-', '*' and '?' (1 to 128 characters)`;
  }
  return undefined;
}

/** Why the repository glob is not valid, or undefined when it is. */
export function repositoryGlobProblem(glob: string): string | undefined {
  if (!REPOSITORY_GLOB.test(glob)) {
    return `repository glob ${JSON.stringify(glob)} may hold only lower-case letters, digits, '.', '_', '-', '/', '*' and '?' (1 to 255 characters)`;
  }
  return undefined;
}

/** Whether the tag matches the pattern (the whole tag, case-sensitive). */
export function tagMatches(pattern: string, tag: string): boolean {
  return repositoryGlob(pattern).test(tag);
}

/** Whether the repository name matches the glob. */
export function repositoryMatches(glob: string, repository: string): boolean {
  return repositoryGlob(glob).test(repository);
}
