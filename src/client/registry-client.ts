// RegistryClient: pulls manifests and blobs from one upstream registry over the OCI distribution
// API, for the pull-through cache. It authenticates as the upstream's challenges ask
// (upstream-auth.ts), follows redirects (blob downloads go to S3 or a CDN) without forwarding
// credentials and only to targets the address policy allows, bounds manifest sizes, checks
// manifest bytes against their digest, and streams blobs with backpressure.
import { PassThrough, type Readable } from 'node:stream';
import { Digest } from '../oci/index.js';
import { checkTarget, TargetRefusedError } from './address-policy.js';
import { UpstreamAuth, type Credentials } from './upstream-auth.js';
import { abortReason, bodyError, discard, readBounded, Transport, type Answer } from './transport.js';
import { UpstreamError } from './upstream-error.js';
import { userAgent } from './user-agent.js';

export interface UpstreamEndpoint {
  /** For messages. */
  readonly name: string;
  /** Base URL without trailing slash, e.g. https://registry-1.docker.io or http://127.0.0.1:5001. */
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /**
   * Allow token realms and redirect targets on loopback, link-local or private addresses. The
   * configured url's own host is always allowed (an administrator chose it).
   */
  readonly allowPrivateAddresses: boolean;
}

export interface ManifestResponse {
  readonly mediaType: string;
  /** Docker-Content-Digest, when the upstream sent one (checked against the bytes). */
  readonly digest: string | undefined;
  readonly body: Buffer;
}

export interface ManifestHead {
  readonly mediaType: string;
  readonly digest: string | undefined;
  readonly size: number | undefined;
}

export interface BlobResponse {
  /** Content-Length, when present. */
  readonly size: number | undefined;
  readonly stream: Readable;
}

export interface RegistryClientOptions {
  /** Connect + response headers, per request; also the longest stall of a body being read. Default 30 s. */
  readonly timeoutMs?: number | undefined;
  /** Largest manifest accepted. Default 4 MiB (as Distribution and the OCI spec suggest). */
  readonly maxManifestBytes?: number | undefined;
}

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export class RegistryClient {
  private readonly upstream: URL;
  private readonly base: string;
  private readonly transport: Transport;
  private readonly auth: UpstreamAuth;
  private readonly maxManifestBytes: number;
  private closed = false;

  constructor(
    private readonly endpoint: UpstreamEndpoint,
    options: RegistryClientOptions = {},
  ) {
    let upstream: URL;
    try {
      upstream = new URL(endpoint.url);
    } catch {
      throw new UpstreamError('protocol', `${endpoint.name}: invalid upstream URL`);
    }
    if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') {
      throw new UpstreamError('protocol', `${endpoint.name}: the upstream URL must be http or https`);
    }
    this.upstream = upstream;
    // Credentials in the URL itself are ignored (they would end up in messages); a path prefix is kept.
    this.base = `${upstream.protocol}//${upstream.host}${upstream.pathname.replace(/\/+$/, '')}`;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.transport = new Transport({
      timeoutMs: options.timeoutMs ?? 30_000,
      allowPrivateAddresses: endpoint.allowPrivateAddresses,
      userAgent,
      name: endpoint.name,
    });
    const credentials: Credentials | undefined =
      endpoint.username !== undefined && endpoint.password !== undefined
        ? { username: endpoint.username, password: endpoint.password }
        : undefined;
    this.auth = new UpstreamAuth(upstream, credentials, this.transport, endpoint.allowPrivateAddresses, endpoint.name);
  }

  /** undefined when the upstream answers 404 (unknown name or manifest). */
  async getManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<ManifestResponse | undefined> {
    const answer = await this.exchange('GET', repository, `manifests/${encodeSegment(reference)}`, accept, signal);
    const what = this.transport.describe('GET', answer.url);
    if (answer.status === 404) {
      discard(answer);
      return undefined;
    }
    if (!isSuccess(answer.status)) throw failure(answer, what);
    const mediaType = contentType(answer, what);
    const body = await readBounded(answer, this.maxManifestBytes, what, this.transport.timeoutMs, signal);
    const digest = headerValue(answer.headers['docker-content-digest']);
    checkManifestDigest(body, reference, digest, what);
    return { mediaType, digest, body };
  }

  /** undefined on 404. */
  async headManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<ManifestHead | undefined> {
    const answer = await this.exchange('HEAD', repository, `manifests/${encodeSegment(reference)}`, accept, signal);
    const what = this.transport.describe('HEAD', answer.url);
    discard(answer);
    if (answer.status === 404) return undefined;
    if (!isSuccess(answer.status)) throw failure(answer, what);
    return {
      mediaType: contentType(answer, what),
      digest: headerValue(answer.headers['docker-content-digest']),
      size: contentLength(answer),
    };
  }

  /** Streams the body; follows redirects (to S3/CDN) without forwarding Authorization. undefined on 404. */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<BlobResponse | undefined> {
    const answer = await this.exchange('GET', repository, `blobs/${encodeSegment(digest)}`, [], signal);
    const what = this.transport.describe('GET', answer.url);
    if (answer.status === 404) {
      discard(answer);
      return undefined;
    }
    if (!isSuccess(answer.status)) throw failure(answer, what);
    return { size: contentLength(answer), stream: this.relay(answer, what, signal) };
  }

  /** undefined on 404. */
  async headBlob(repository: string, digest: string, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    const subpath = `blobs/${encodeSegment(digest)}`;
    const answer = await this.exchange('HEAD', repository, subpath, [], signal);
    const what = this.transport.describe('HEAD', answer.url);
    discard(answer);
    if (answer.status === 404) return undefined;
    const redirected = answer.url.href !== this.repositoryUrl(repository, subpath).href;
    if (redirected && (answer.status === 403 || answer.status === 405)) {
      // Presigned storage URLs are often signed for GET only, so a HEAD sent to one is refused:
      // ask with GET and read the size from the headers, without the body.
      const blob = await this.getBlob(repository, digest, signal);
      if (!blob) return undefined;
      blob.stream.destroy();
      if (blob.size === undefined) throw new UpstreamError('protocol', `${what}: no Content-Length`);
      return { size: blob.size };
    }
    if (!isSuccess(answer.status)) throw failure(answer, what);
    const size = contentLength(answer);
    if (size === undefined) throw new UpstreamError('protocol', `${what}: no Content-Length`, answer.status);
    return { size };
  }

  /** Closes pooled connections; streams still being read are cut off. */
  async close(): Promise<void> {
    this.closed = true;
    this.transport.close();
  }

  /** The upstream URL of a path under /v2/<repository>/; the name's slashes stay. */
  private repositoryUrl(repository: string, subpath: string): URL {
    return new URL(`${this.base}/v2/${repository.split('/').map(encodeSegment).join('/')}/${subpath}`);
  }

  /**
   * A request about a repository: authenticated as the upstream asks (one retry after a 401),
   * then redirects followed. The answer's status is the caller's to judge.
   */
  private async exchange(
    method: 'GET' | 'HEAD',
    repository: string,
    subpath: string,
    accept: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<Answer> {
    if (this.closed) throw new UpstreamError('unreachable', `${this.endpoint.name}: the client is closed`);
    const url = this.repositoryUrl(repository, subpath);
    const acceptHeader: Record<string, string> = accept.length > 0 ? { accept: accept.join(', ') } : {};
    let authorization = await this.auth.authorizationFor(repository, signal);
    let challenged = false;
    for (;;) {
      const answer = await this.transport.send({
        method,
        url,
        headers: { ...acceptHeader, ...(authorization === undefined ? {} : { authorization }) },
        trusted: true,
        signal,
      });
      if (answer.status !== 401 || challenged) return this.followRedirects(answer, method, acceptHeader, authorization, signal);
      discard(answer);
      challenged = true;
      const next = await this.auth.answerChallenge(repository, answer.headers['www-authenticate'], authorization, signal);
      if (next === undefined) {
        const reason = authorization === undefined ? 'credentials required' : 'credentials rejected';
        throw new UpstreamError('unauthorized', `${this.transport.describe(method, url)}: 401, ${reason}`, 401);
      }
      authorization = next;
    }
  }

  /**
   * Follows up to five redirects. Each target is checked (scheme, no https downgrade, address
   * policy at connect time); Authorization goes only to the upstream's own origin.
   */
  private async followRedirects(
    first: Answer,
    method: 'GET' | 'HEAD',
    acceptHeader: Record<string, string>,
    authorization: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Answer> {
    let answer = first;
    for (let hops = 0; redirectStatuses.has(answer.status); hops += 1) {
      const location = headerValue(answer.headers.location);
      const what = this.transport.describe(method, answer.url);
      discard(answer);
      if (location === undefined) throw new UpstreamError('protocol', `${what}: redirect without Location`, answer.status);
      if (hops === maxRedirects) throw new UpstreamError('protocol', `${what}: more than ${maxRedirects} redirects`, answer.status);
      let target: URL;
      try {
        target = new URL(location, answer.url);
      } catch {
        throw new UpstreamError('protocol', `${what}: redirect to an invalid URL`, answer.status);
      }
      let trusted: boolean;
      try {
        trusted = checkTarget(target, {
          upstream: this.upstream,
          from: answer.url,
          allowPrivateAddresses: this.endpoint.allowPrivateAddresses,
        }).trusted;
      } catch (error) {
        if (error instanceof TargetRefusedError) throw new UpstreamError('refused', `${what}: redirect ${error.message}`, answer.status);
        throw error;
      }
      const sameOrigin = target.origin === this.upstream.origin;
      answer = await this.transport.send({
        method,
        url: target,
        headers: { ...acceptHeader, ...(sameOrigin && authorization !== undefined ? { authorization } : {}) },
        trusted,
        signal,
      });
    }
    return answer;
  }

  /**
   * The blob body as a stream with backpressure, errors turned into UpstreamError. The stall
   * timer runs only while we wait for the upstream, not while the consumer holds us back.
   */
  private relay(answer: Answer, what: string, signal: AbortSignal | undefined): Readable {
    const source = answer.body;
    const out = new PassThrough();
    const timeoutMs = this.transport.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const stopTimer = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    const startTimer = (): void => {
      stopTimer();
      timer = setTimeout(() => {
        source.destroy(new UpstreamError('unreachable', `${what}: no data for ${timeoutMs} ms`));
      }, timeoutMs);
    };
    source.on('data', (chunk: Buffer) => {
      if (out.write(chunk)) {
        startTimer();
        return;
      }
      stopTimer();
      source.pause();
      out.once('drain', () => {
        startTimer();
        source.resume();
      });
    });
    source.once('end', () => {
      stopTimer();
      out.end();
    });
    source.once('error', (error) => {
      stopTimer();
      out.destroy(bodyError(error, what, signal));
    });
    source.once('close', () => {
      stopTimer();
      // Closed without 'end' and without an error (destroyed by close()): not a complete body.
      if (!source.readableEnded && !out.destroyed && !out.writableEnded) {
        out.destroy(
          signal?.aborted ? abortReason(signal) : new UpstreamError('unreachable', `${what}: connection closed before the end of the body`),
        );
      }
    });
    out.once('close', () => {
      stopTimer();
      if (!source.readableEnded) source.destroy();
    });
    startTimer();
    return out;
  }
}

/**
 * A path segment: percent-encoded, but ':' kept as is, since digests carry one and some
 * registries do not decode %3A in paths (RFC 3986 allows ':' in a segment).
 */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%3A/gi, ':');
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The error for an unsuccessful answer; the body is given up. */
function failure(answer: Answer, what: string): UpstreamError {
  discard(answer);
  const status = answer.status;
  if (status === 401 || status === 403) return new UpstreamError('unauthorized', `${what}: ${status}, access denied`, status);
  if (status === 429) return new UpstreamError('unreachable', `${what}: 429, rate limited`, status);
  if (status >= 500) return new UpstreamError('unreachable', `${what}: ${status}`, status);
  return new UpstreamError('protocol', `${what}: unexpected status ${status}`, status);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first.trim();
}

/** The media type without parameters; required for manifests (without one, the body is given up). */
function contentType(answer: Answer, what: string): string {
  const value = headerValue(answer.headers['content-type']);
  const mediaType = value?.split(';')[0]?.trim();
  if (mediaType === undefined || mediaType === '') {
    discard(answer);
    throw new UpstreamError('protocol', `${what}: no Content-Type`, answer.status);
  }
  return mediaType;
}

function contentLength(answer: Answer): number | undefined {
  const value = headerValue(answer.headers['content-length']);
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const size = Number(value);
  return Number.isSafeInteger(size) ? size : undefined;
}

/**
 * The bytes must match the digest asked for (a pull by digest) and the Docker-Content-Digest the
 * upstream claims: a mismatch is a corrupt or lying upstream, and would poison the cache.
 */
function checkManifestDigest(body: Buffer, reference: string, headerDigest: string | undefined, what: string): void {
  for (const claimed of [reference, headerDigest]) {
    if (claimed === undefined || !claimed.includes(':')) continue;
    const parsed = Digest.tryParse(claimed);
    if (typeof parsed === 'string') {
      if (claimed === headerDigest) throw new UpstreamError('protocol', `${what}: invalid Docker-Content-Digest (${parsed})`, 200);
      continue; // the caller validated the reference; an unsupported algorithm is theirs to judge
    }
    if (!Digest.of(body, parsed.algorithm).equals(parsed)) {
      throw new UpstreamError('protocol', `${what}: the manifest bytes do not match ${claimed}`, 200);
    }
  }
}
