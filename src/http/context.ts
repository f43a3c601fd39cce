// What every handler receives, and the small helpers handlers share: validated path parameters,
// Location URLs, and bounded body reading. Validation failures become catalogue errors here, so
// handlers only ever see valid names, digests and references.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors/index.js';
import {
  bareMediaType,
  Digest,
  DigestFormatError,
  isValidTag,
  NameFormatError,
  parseRepositoryName,
  type RepositoryName,
} from '../oci/index.js';
import type { Caller, Reference, RegistryServices, RequestScope } from '../registry/index.js';
import type { Principal } from '../auth/index.js';
import { bodyChunks, readWholeBody } from './body-chunks.js';

export interface HttpOptions {
  /** External base URL (http.host); when unset, Location headers are relative paths. */
  readonly externalUrl: string | undefined;
  readonly manifestMaxBytes: number;
  readonly paginationMaxEntries: number;
  readonly catalogDefaultEntries: number;
  readonly maxTagsPerPush: number;
  /**
   * Whether containerd's ?ns=<registry host> selects upstreams (a pull-through cache is
   * configured): then reads pass it on and echo it in OCI-Namespace.
   */
  readonly upstreamNamespaces: boolean;
}

/** What a handler may ask about the caller. With authentication off, everything is allowed. */
export interface RequestAccess {
  /** Undefined when authentication is off. */
  readonly principal: Principal | undefined;
  /** Whether the caller may pull from another repository (a mount's source). */
  mayPull(repository: string): Promise<boolean>;
  /** Whether the catalog lists the repository to the caller. */
  mayList(repository: string): Promise<boolean>;
}

export const OPEN_ACCESS: RequestAccess = { principal: undefined, mayPull: async () => true, mayList: async () => true };

/** A request's query parameters, read-only: requests without a query share one empty set. */
export type QueryParams = Pick<URLSearchParams, 'get' | 'getAll' | 'has'>;

export interface RequestContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** The registry, or the decorators around it (the pull-through cache): handlers cannot tell. */
  readonly registry: RegistryServices;
  readonly options: HttpOptions;
  /** Path parameters captured by the route pattern (raw, not yet validated). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: QueryParams;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** Who is calling and what else they may read (everything when authentication is off). */
  readonly access: RequestAccess;
  /** The caller as events name it (RequestScope.caller). */
  readonly caller: Caller;
}

/**
 * The RequestContext app.ts builds for each /v2/ request. What most requests never use is made
 * only when asked: the AbortSignal (an AbortController is among the costliest objects a request
 * would allocate, and only body reads, blob streams and upstream calls listen to it) and the
 * caller. clientGone() marks the request abandoned, so a signal asked for afterwards starts out
 * aborted.
 */
export class DispatchedRequest implements RequestContext {
  #aborter: AbortController | undefined;
  #gone = false;
  #caller: RequestCaller | undefined;

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly registry: RegistryServices,
    readonly options: HttpOptions,
    readonly params: Readonly<Record<string, string>>,
    readonly query: QueryParams,
    readonly access: RequestAccess,
  ) {}

  get signal(): AbortSignal {
    if (this.#aborter === undefined) {
      this.#aborter = new AbortController();
      if (this.#gone) this.#aborter.abort();
    }
    return this.#aborter.signal;
  }

  get caller(): Caller {
    this.#caller ??= new RequestCaller(this.request);
    return this.#caller;
  }

  /** The client went away: the signal aborts, and a body read in progress fails. */
  clientGone(): void {
    this.#gone = true;
    this.#aborter?.abort();
    // Destroyed without an error (nobody may be listening).
    if (!this.request.raw.destroyed) this.request.raw.destroy();
  }
}

/** The caller of a request, read from it only when asked (most requests never are). */
export class RequestCaller implements Caller {
  constructor(private readonly request: FastifyRequest) {}

  get name(): string | undefined {
    return this.request.berthUser ?? undefined;
  }

  get address(): string {
    return this.request.ip;
  }

  get userAgent(): string | undefined {
    return this.request.headers['user-agent'];
  }

  get requestId(): string {
    return this.request.id;
  }

  get method(): string {
    return this.request.method;
  }

  get host(): string | undefined {
    return this.request.headers.host;
  }
}

/**
 * What a read takes along into the registry: the request's signal (the context itself is a
 * RequestScope, so most requests allocate nothing here), and containerd's ?ns= when upstreams
 * are configured, echoed in OCI-Namespace.
 */
export function requestScope(ctx: RequestContext): RequestScope {
  if (!ctx.options.upstreamNamespaces) return ctx;
  const ns = ctx.query.get('ns');
  if (ns === null) return ctx;
  ctx.reply.header('OCI-Namespace', ns);
  return { signal: ctx.signal, namespace: ns.toLowerCase(), caller: ctx.caller };
}

export function repositoryParam(ctx: RequestContext, key = 'name'): RepositoryName {
  return parseName(ctx.params[key] ?? '');
}

export function parseName(value: string): RepositoryName {
  try {
    return parseRepositoryName(value);
  } catch (error) {
    if (error instanceof NameFormatError) {
      throw new RegistryError('NAME_INVALID', { name: value.slice(0, 300), reason: error.message });
    }
    throw error;
  }
}

export function parseDigest(value: string | null | undefined): Digest {
  try {
    return Digest.parse(value ?? '');
  } catch (error) {
    if (error instanceof DigestFormatError) {
      throw new RegistryError(
        'DIGEST_INVALID',
        { digest: (value ?? '').slice(0, 300), reason: error.reason },
        {
          message: error.reason === 'malformed digest' ? 'invalid digest' : error.reason,
        },
      );
    }
    throw error;
  }
}

/** A manifest reference: a digest if it contains ':', otherwise a tag. */
export function parseReference(value: string): Reference {
  if (value.includes(':')) return { kind: 'digest', digest: parseDigest(value) };
  if (!isValidTag(value)) throw new RegistryError('TAG_INVALID', { tag: value.slice(0, 300) });
  return { kind: 'tag', tag: value };
}

/** An absolute URL when http.host is configured, else a path the client resolves itself. */
export function location(ctx: RequestContext, path: string): string {
  return ctx.options.externalUrl ? `${ctx.options.externalUrl.replace(/\/+$/, '')}${path}` : path;
}

/** The request's media type, from the raw headers (app.ts hides Content-Type from Fastify). */
export function contentType(ctx: RequestContext): string | undefined {
  const raw = ctx.request.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'content-type') return bareMediaType(raw[i + 1]);
  }
  return undefined;
}

/**
 * Accept headers seen lately and the media types they list: a client sends the same header on
 * every manifest request, so it is parsed once. Bounded: the oldest is forgotten past the size.
 */
const parsedAccepts = new Map<string, readonly string[]>();
const PARSED_ACCEPTS_KEPT = 64;
const NO_TYPES: readonly string[] = Object.freeze([]);

/** The media types an Accept header lists, without parameters. */
export function acceptedTypes(ctx: RequestContext): readonly string[] {
  const header = ctx.request.headers.accept;
  if (!header) return NO_TYPES;
  let types = parsedAccepts.get(header);
  if (types === undefined) {
    types = Object.freeze(
      header
        .split(',')
        .map((part) => bareMediaType(part))
        .filter((type): type is string => type !== undefined),
    );
    if (parsedAccepts.size >= PARSED_ACCEPTS_KEPT) {
      const oldest = parsedAccepts.keys().next().value;
      if (oldest !== undefined) parsedAccepts.delete(oldest);
    }
    parsedAccepts.set(header, types);
  }
  return types;
}

/** True when the request carries a body (a length above zero, or chunked encoding). */
export function hasBody(ctx: RequestContext): boolean {
  const length = ctx.request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  // HTTP/2 has no Transfer-Encoding: a body of unknown length is DATA frames after the headers.
  // Reading a body that turns out empty costs nothing, so assume one may follow.
  if (ctx.request.raw.httpVersionMajor >= 2) return true;
  return ctx.request.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole body, refusing more than maxBytes (MANIFEST_TOO_LARGE); within the request
 * memory budget and the body rate limit (body-limits.ts).
 */
export async function readBody(ctx: RequestContext, maxBytes: number): Promise<Buffer> {
  const declared = Number(ctx.request.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    // Read and drop a moderately oversized body before answering, so the client sees the 413
    // even on a connection it asked to close (Node would close it mid-upload, and the client
    // would see a broken pipe instead). A huge one is not worth reading: the error hook then
    // closes the connection.
    if (declared <= maxBytes * 4) for await (const _ of bodyChunks(ctx.request.raw)) void _;
    throw new RegistryError('MANIFEST_TOO_LARGE', { limit: maxBytes, received: declared });
  }
  return readWholeBody(ctx.request.raw, maxBytes, () => new RegistryError('MANIFEST_TOO_LARGE', { limit: maxBytes }));
}

/**
 * The page a list request asks for: n (bounded by paginationMaxEntries) and last. An absent n
 * means `defaultEntries` (undefined: everything).
 */
export function pageParams(
  ctx: RequestContext,
  defaultEntries: number | undefined,
): { limit: number | undefined; after: string | undefined } {
  const n = ctx.query.get('n');
  const last = ctx.query.get('last') ?? undefined;
  if (n === null || n === '') return { limit: defaultEntries, after: last };
  if (!/^\d{1,9}$/.test(n) || Number(n) > ctx.options.paginationMaxEntries) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', {
      n: n.slice(0, 50),
      maximum: ctx.options.paginationMaxEntries,
    });
  }
  return { limit: Number(n), after: last };
}

/** The RFC 8288 Link header pointing at the next page. */
export function nextPageLink(path: string, limit: number, last: string, extra: Readonly<Record<string, string>> = {}): string {
  const query = new URLSearchParams({ n: String(limit), last, ...extra });
  return `<${path}?${query.toString()}>; rel="next"`;
}
