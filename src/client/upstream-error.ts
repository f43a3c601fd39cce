// The one error type the client throws, so the proxy can map upstream trouble to its own answer
// (serve from cache, 502, 401) by kind without parsing messages. Messages name the upstream and
// what was asked, never credentials or tokens.

export type UpstreamErrorKind = 'unreachable' | 'unauthorized' | 'refused' | 'protocol';

export class UpstreamError extends Error {
  constructor(
    /**
     * unreachable: network failure, timeout, 5xx or 429; unauthorized: 401/403 after
     * authenticating; refused: a realm or redirect target that SSRF protection rejects;
     * protocol: an answer that breaks the protocol (too large, no Content-Type, bad token JSON).
     */
    readonly kind: UpstreamErrorKind,
    message: string,
    /** The HTTP status that caused it, when there was one. */
    readonly status: number | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}
