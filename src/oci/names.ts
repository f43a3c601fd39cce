// Repository names, tags and references, with the grammars of the OCI distribution spec.
// Names are validated before any storage key or query is built from them.

/** path-component ("/" path-component)*, each [a-z0-9]+ joined by ".", "_", "__" or "-"+. */
const repositoryNameGrammar = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Distribution limits the whole name to 255 characters; so do we. */
export const maxRepositoryNameLength = 255;

const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isValidRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= maxRepositoryNameLength && repositoryNameGrammar.test(name);
}

export function isValidTag(tag: string): boolean {
  return tagGrammar.test(tag);
}

/** Why a repository name is invalid, for the error detail. */
export function describeInvalidName(name: string): string {
  if (name.length === 0) return 'repository name is empty';
  if (name.length > maxRepositoryNameLength) {
    return `repository name is ${name.length} characters; the limit is ${maxRepositoryNameLength}`;
  }
  return 'repository name must be lower-case path components of [a-z0-9] joined by ".", "_", "__" or dashes, separated by "/"';
}

/** A repository name that passed validation; only parseRepositoryName makes one. */
export type RepositoryName = string & { readonly __brand: 'RepositoryName' };

export class NameFormatError extends Error {
  override name = 'NameFormatError';
}

export function parseRepositoryName(name: string): RepositoryName {
  if (!isValidRepositoryName(name)) throw new NameFormatError(describeInvalidName(name));
  return name as RepositoryName;
}
