// Repository globs, as access rules, API-token scopes and lifecycle rules (retention,
// immutability) write them: `*` matches within one path component, `**` across components, `?`
// one character; everything else is literal. Pure text, so every layer can match names the same
// way. Tag patterns use the same syntax: a tag has no `/`, so there `*` matches any run.

const compiled = new Map<string, RegExp>();

/**
 * compileRepositoryGlob, remembered: API-token scopes are judged on every request of a token
 * sign-in, and the same few globs recur.
 */
export function repositoryGlob(glob: string): RegExp {
  let pattern = compiled.get(glob);
  if (pattern === undefined) {
    // Bounded: globs come from stored tokens, not from requests, but keep it small anyway.
    if (compiled.size >= 1000) compiled.clear();
    pattern = compileRepositoryGlob(glob);
    compiled.set(glob, pattern);
  }
  return pattern;
}

export function compileRepositoryGlob(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] ?? '';
    if (char === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (char === '*') {
      pattern += '[^/]*';
    } else if (char === '?') {
      pattern += '[^/]';
    } else {
      pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${pattern}$`);
}

/** The namespace a repository belongs to: its first path component. */
export function namespaceOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash === -1 ? repository : repository.slice(0, slash);
}
