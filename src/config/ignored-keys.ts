// The Distribution keys the schema accepts and ignores, the warning each one gets, and which
// ignored key covers a path below it.

/**
 * Distribution keys that Berth accepts but does not implement yet. A key listed here, and
 * anything below it, is dropped with a warning instead of failing start-up, so an existing
 * registry:2 config.yml still loads. The note says what the user should know about it.
 */
export const IGNORED_KEYS: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ['loglevel', 'deprecated in Distribution; use log.level'],
  ['log.formatter', 'logs are JSON lines'],
  ['log.fields', undefined],
  ['log.hooks', undefined],
  ['log.reportcaller', undefined],
  ['auth.silly', 'a development-only method; use auth.htpasswd'],
  ['auth.token.autoredirect', undefined],
  ['auth.token.autoredirectpath', undefined],
  ['auth.token.signingalgorithms', 'ES256, ES384, RS256, RS384, RS512, PS256 and EdDSA are accepted, pinned to the key type'],
  ['middleware', undefined],
  ['reporting', undefined],
  ['redis', undefined],
  ['health', undefined],
  ['validation.enabled', 'manifests are always validated; for index children see validation.manifests.indexes'],
  ['validation.disabled', 'manifests are always validated; for index children see validation.manifests.indexes'],
  ['validation.manifests.urls', undefined],
  ['compatibility', undefined],
  ['catalog', 'use limits.paginationmaxentries'],
  ['http.net', 'Berth listens on TCP'],
  ['http.prefix', undefined],
  ['http.relativeurls', undefined],
  ['http.tls.ciphersuites', "Node.js's default cipher suites are used"],
  ['http.tls.letsencrypt', 'give http.tls.certificate and http.tls.key'],
  ['http.headers', undefined],
  ['http.h2c', undefined],
  ['storage.cache', undefined],
  ['storage.tag', undefined],
  ['storage.filesystem.maxthreads', undefined],
  ['storage.azure', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.gcs', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.swift', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.oss', 'blobs are stored in storage.filesystem.rootdirectory'],
  ['storage.inmemory', 'blobs are stored in storage.filesystem.rootdirectory'],
]);

export function ignoredWarning(key: string, source: string | undefined): string {
  const note = IGNORED_KEYS.get(key);
  return `ignored: ${key} is not supported yet${note === undefined ? '' : `; ${note}`}${source === undefined ? '' : ` (${source})`}`;
}

/** The ignored key that covers this path (the path itself or an ancestor), if any. */
export function ignoredKeyFor(keyPath: readonly string[]): string | undefined {
  for (let length = 1; length <= keyPath.length; length++) {
    const candidate = keyPath.slice(0, length).join('.');
    if (IGNORED_KEYS.has(candidate)) return candidate;
  }
  return undefined;
}
