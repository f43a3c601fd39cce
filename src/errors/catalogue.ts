// The error catalogue: every error Berth reports to a client is listed here once, with the
// code clients see in the OCI error body, a default message and the HTTP status. Handlers throw
// RegistryError values built from these entries; the single error hook in http/ turns them into
// responses. docs/errors.md is generated from this table and a test keeps the two in step.

export interface ErrorDefinition {
  /** The value of "code" in the OCI error body. */
  readonly code: string;
  readonly message: string;
  readonly status: number;
  /** One line for docs/errors.md: when a client sees it. */
  readonly description: string;
}

export const errorCatalogue = {
  BLOB_UNKNOWN: {
    code: 'BLOB_UNKNOWN',
    message: 'blob unknown to registry',
    status: 404,
    description: 'The blob is not in the repository (or its digest is unknown).',
  },
  BLOB_REFERENCED: {
    code: 'BLOB_REFERENCED',
    message: 'blob is referenced by a manifest in this repository',
    status: 400,
    description: 'DELETE of a blob that a manifest in the repository still references; delete the manifest first.',
  },
  BLOB_UPLOAD_INVALID: {
    code: 'BLOB_UPLOAD_INVALID',
    message: 'blob upload invalid',
    status: 400,
    description: 'The upload request was malformed, for example a bad Content-Range header.',
  },
  BLOB_UPLOAD_UNKNOWN: {
    code: 'BLOB_UPLOAD_UNKNOWN',
    message: 'blob upload unknown to registry',
    status: 404,
    description: 'The upload id is unknown: it never existed, was cancelled, completed or purged.',
  },
  DIGEST_INVALID: {
    code: 'DIGEST_INVALID',
    message: 'provided digest did not match uploaded content',
    status: 400,
    description: 'A digest is malformed, uses an unsupported algorithm, or does not match the bytes.',
  },
  MANIFEST_BLOB_UNKNOWN: {
    code: 'MANIFEST_BLOB_UNKNOWN',
    message: 'manifest references a manifest or blob unknown to registry',
    status: 400,
    description: 'A manifest references a blob or child manifest that is not in the repository.',
  },
  MANIFEST_INVALID: {
    code: 'MANIFEST_INVALID',
    message: 'manifest invalid',
    status: 400,
    description: 'The manifest is not valid JSON, not a known manifest type, or fails validation.',
  },
  MANIFEST_REFERENCED: {
    code: 'MANIFEST_REFERENCED',
    message: 'manifest is referenced by an index in this repository',
    status: 409,
    description:
      'DELETE (by digest) of a manifest that an index in the repository lists as a child; the detail names the index. Delete the index first.',
  },
  MANIFEST_TOO_LARGE: {
    code: 'SIZE_INVALID',
    message: 'manifest too large',
    status: 413,
    description: 'The manifest is larger than limits.manifestmaxbytes.',
  },
  MANIFEST_UNKNOWN: {
    code: 'MANIFEST_UNKNOWN',
    message: 'manifest unknown',
    status: 404,
    description:
      'No manifest with this tag or digest in the repository; also a GET, HEAD or DELETE by a reference that is not a valid tag, as in Distribution.',
  },
  NAME_INVALID: {
    code: 'NAME_INVALID',
    message: 'invalid repository name',
    status: 400,
    description: 'The repository name does not match the OCI name grammar or is too long.',
  },
  NAME_UNKNOWN: {
    code: 'NAME_UNKNOWN',
    message: 'repository name not known to registry',
    status: 404,
    description: 'The repository does not exist.',
  },
  SIZE_INVALID: {
    code: 'SIZE_INVALID',
    message: 'provided length did not match content length',
    status: 400,
    description: 'The bytes received do not match the declared length.',
  },
  TAG_INVALID: {
    code: 'TAG_INVALID',
    message: 'invalid tag',
    status: 400,
    description:
      'A tag to create (manifest PUT, ?tag=) does not match the tag grammar ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), or a push names more than limits.maxtagsperpush tags.',
  },
  TAG_IMMUTABLE: {
    code: 'DENIED',
    message: 'tag is immutable',
    status: 403,
    description:
      "A manifest PUT would move a tag that an immutability rule protects to another manifest, or a DELETE would remove such a tag (by tag, or by the digest it points at); docs/operations.md, Tag immutability. Pushing the same manifest to it again is accepted, and new tags push. The message names the tag, e.g. 'tag v1.0 of team/app is immutable: push a new tag instead'; clients print it. The code is DENIED, which every client knows.",
  },
  RANGE_INVALID: {
    code: 'RANGE_INVALID',
    message: 'invalid content range',
    status: 416,
    description: 'A chunk does not start where the upload ends, or a requested byte range is outside the blob.',
  },
  PAGINATION_NUMBER_INVALID: {
    code: 'PAGINATION_NUMBER_INVALID',
    message: 'invalid number of results requested',
    status: 400,
    description: 'The n parameter is not a non-negative integer or exceeds limits.paginationmaxentries.',
  },
  UNAUTHORIZED: {
    code: 'UNAUTHORIZED',
    message: 'authentication required',
    status: 401,
    description: 'The request needs credentials.',
  },
  DENIED: {
    code: 'DENIED',
    message: 'requested access to the resource is denied',
    status: 403,
    description: 'The credentials do not grant the requested access.',
  },
  INSUFFICIENT_SCOPE: {
    code: 'DENIED',
    message: 'requested access to the resource is denied',
    status: 401,
    description:
      "A signed-in user's token lacks the scope the request needs. The challenge names the scope, so the client can ask the token server for it; the answer is the same whether or not the repository exists.",
  },
  REQUEST_INVALID: {
    code: 'INVALID_REQUEST',
    message: 'invalid request',
    status: 400,
    description: 'An admin API request is invalid: malformed JSON, a bad name, a short password, an unknown role; the detail says which.',
  },
  REQUEST_TOO_LARGE: {
    code: 'SIZE_INVALID',
    message: 'request body too large',
    status: 413,
    description: 'An admin API request body is larger than its limit (64 KiB).',
  },
  RESOURCE_UNKNOWN: {
    code: 'RESOURCE_UNKNOWN',
    message: 'resource unknown',
    status: 404,
    description: 'The user, team, namespace, grant or API token named in an admin API request does not exist.',
  },
  RESOURCE_EXISTS: {
    code: 'ALREADY_EXISTS',
    message: 'resource already exists',
    status: 409,
    description: 'An admin API request would create a user or team whose name is taken.',
  },
  GC_RUNNING: {
    code: 'GC_RUNNING',
    message: 'a garbage collection is already running',
    status: 409,
    description: 'POST /api/v1/gc/runs while another run (on any replica, or `berth gc`) holds the lease; try again when it has finished.',
  },
  UNSUPPORTED: {
    code: 'UNSUPPORTED',
    message: 'The operation is unsupported.',
    status: 405,
    description: 'The method is not allowed on this endpoint (CONNECT on any), or the feature (such as deletes) is disabled.',
  },
  BAD_REQUEST: {
    code: 'BAD_REQUEST',
    message: 'bad request',
    status: 400,
    description: 'The request is malformed at the HTTP level (bad URL encoding, headers or body framing).',
  },
  REQUEST_TIMEOUT: {
    code: 'BAD_REQUEST',
    message: 'request timed out',
    status: 408,
    description:
      'The client did not send its request headers within limits.headerstimeout, or its body arrived slower than limits.bodyminrate over a limits.bodytimeout period; the connection is closed.',
  },
  EXPECTATION_FAILED: {
    code: 'BAD_REQUEST',
    message: 'unsupported Expect header',
    status: 417,
    description: 'The request has an Expect header other than 100-continue.',
  },
  HEADERS_TOO_LARGE: {
    code: 'BAD_REQUEST',
    message: 'request headers too large',
    status: 431,
    description: 'The request line and headers exceed 16 KiB, counted as sent on HTTP/1.1, however many headers they are.',
  },
  NOT_FOUND: {
    code: 'NOT_FOUND',
    message: 'no such endpoint',
    status: 404,
    description: 'The path is not part of the registry API.',
  },
  TOO_MANY_REQUESTS: {
    code: 'TOOMANYREQUESTS',
    message: 'too many requests',
    status: 429,
    description:
      "Too many failed sign-ins (auth.ratelimit), a request rate limit reached (ratelimit: the message says which, e.g. 'pull rate limit reached: 100 pulls per 6h0m0s per client address; retry after 2h10m0s', with RateLimit-Limit and RateLimit-Remaining headers), more requests in flight than limits.maxconcurrentrequests, or the memory requests may hold (limits.bodymemory) in use; retry after the time in Retry-After.",
  },
  INSUFFICIENT_STORAGE: {
    code: 'INSUFFICIENT_STORAGE',
    message: 'the registry is out of storage space',
    status: 507,
    description: 'The disk (or database) is full. Nothing already stored is affected; retry after an operator frees space.',
  },
  QUOTA_EXCEEDED: {
    code: 'DENIED',
    message: 'quota exceeded',
    status: 403,
    description:
      "A push would take its namespace over its quota (bytes or repositories; docs/operations.md, Quotas): refused at manifest PUT, and before an upload's bytes are stored when its size is known. The message says how much the namespace uses of how much, e.g. 'quota exceeded: team uses 9.8 GiB of 10 GiB'; clients print it. The code is DENIED, which every client knows.",
  },
  UNAVAILABLE: {
    code: 'UNAVAILABLE',
    message: 'service unavailable',
    status: 503,
    description: 'The registry is shutting down or a dependency is unavailable; retry later.',
  },
  UPSTREAM_UNAVAILABLE: {
    code: 'UNAVAILABLE',
    message: 'upstream registry unavailable',
    status: 502,
    description:
      'Pull-through cache: the upstream registry could not be reached or refused the request, and no cached copy may be served (the upstream is not marked offline, or nothing is cached yet). Blob and manifest HEADs of content Berth does not hold answer 404 instead, so pushes go on during an outage.',
  },
  UPSTREAM_CONTENT_INVALID: {
    code: 'DIGEST_INVALID',
    message: 'upstream registry sent invalid content',
    status: 502,
    description:
      'Pull-through cache: the upstream sent a manifest or blob whose bytes do not match the digest asked for or announced, or a manifest that is not valid (or too large); nothing was cached.',
  },
  UNKNOWN: {
    code: 'UNKNOWN',
    message: 'unknown error',
    status: 500,
    description: 'An unexpected server error; the log has details under the request id.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorName = keyof typeof errorCatalogue;

/** An error with a catalogue entry, safe to show to the client. */
export class RegistryError extends Error {
  readonly definition: ErrorDefinition;

  constructor(
    readonly errorName: ErrorName,
    readonly detail?: unknown,
    options?: { message?: string; headers?: Readonly<Record<string, string>>; cause?: unknown },
  ) {
    const definition = errorCatalogue[errorName];
    super(options?.message ?? definition.message, { cause: options?.cause });
    this.name = 'RegistryError';
    this.definition = definition;
    this.headers = options?.headers ?? {};
  }

  readonly headers: Readonly<Record<string, string>>;

  get status(): number {
    return this.definition.status;
  }

  /** The OCI error body: {"errors":[{"code","message","detail"}]}. */
  toBody(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry: { code: string; message: string; detail?: unknown } = {
      code: this.definition.code,
      message: this.message,
    };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}
