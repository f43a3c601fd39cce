// Whether each upstream is answering, as the pull-through cache last saw it, so that an outage is
// logged when it starts and when it ends instead of once per request: a mirror whose upstream is
// down keeps serving hosted content and its cache, and a storm of requests must not become a
// storm of warnings. While an upstream keeps failing, one reminder a minute counts what was
// left out. Messages carry the client's one-line error, never a stack. An upstream that could
// not be reached a moment ago is not asked again by existence checks (HEADs) for a few
// seconds: an upstream that drops packets would otherwise hold every blob HEAD of a push for
// the client's whole timeout.
import type { UpstreamErrorKind } from '../client/index.js';

export interface UpstreamFailure {
  readonly upstream: string;
  readonly kind: UpstreamErrorKind;
  readonly status: number | undefined;
  readonly message: string;
}

export interface HealthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface Failing {
  readonly kind: UpstreamErrorKind;
  readonly since: number;
  /** When the last warning about this outage was logged. */
  warnedAt: number;
  /** When the last failure happened. */
  lastAt: number;
  /** Failures since then that were not logged. */
  suppressed: number;
  /** Failures since the outage began. */
  total: number;
}

/** How often a continuing outage is logged again. */
export const REMINDER_MS = 60_000;
/** How long after a failure to reach an upstream existence checks do without it. */
export const RETRY_AFTER_MS = 10_000;

export class UpstreamHealth {
  private readonly failing = new Map<string, Failing>();

  constructor(
    private readonly logger: HealthLogger,
    private readonly now: () => number,
  ) {}

  /** Whether the upstream could not be reached less than RETRY_AFTER_MS ago (not asked by HEADs meanwhile). */
  resting(upstream: string): boolean {
    const current = this.failing.get(upstream);
    return current?.kind === 'unreachable' && this.now() - current.lastAt < RETRY_AFTER_MS;
  }

  /** An upstream request failed: logged when the upstream starts failing (or fails differently), then once a minute. */
  failed(failure: UpstreamFailure): void {
    const at = this.now();
    const current = this.failing.get(failure.upstream);
    const detail = {
      upstream: failure.upstream,
      kind: failure.kind,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      error: failure.message,
    };
    if (current === undefined || current.kind !== failure.kind) {
      this.failing.set(failure.upstream, { kind: failure.kind, since: at, warnedAt: at, lastAt: at, suppressed: 0, total: 1 });
      this.logger.warn(
        detail,
        `upstream ${describe(failure.kind)}: serving hosted and cached content only; blob and manifest HEADs that miss answer 404, ` +
          `other reads of uncached content 502 (further failures are logged once a minute until it answers again)`,
      );
      return;
    }
    current.total++;
    current.lastAt = at;
    if (at - current.warnedAt < REMINDER_MS) {
      current.suppressed++;
      return;
    }
    this.logger.warn(
      { ...detail, failures: current.total, suppressed: current.suppressed, sinceMs: at - current.since },
      `upstream still ${describe(failure.kind)}`,
    );
    current.warnedAt = at;
    current.suppressed = 0;
  }

  /** The upstream answered (any answer, a 404 too): logged once when it was failing. */
  answered(upstream: string): void {
    const current = this.failing.get(upstream);
    if (current === undefined) return;
    this.failing.delete(upstream);
    this.logger.info({ upstream, failures: current.total, downMs: this.now() - current.since }, 'upstream answering again');
  }
}

function describe(kind: UpstreamErrorKind): string {
  switch (kind) {
    case 'unreachable':
      return 'unreachable';
    case 'unauthorized':
      return 'refuses our credentials';
    case 'refused':
      return 'redirects to an address that is not allowed';
    case 'protocol':
      return 'answers outside the protocol';
  }
}
