// Berth's own events, beside Distribution's push, pull, delete and mount (docs/events.md): a tag
// immutability refusal, a quota refusal or warning, a finished garbage-collection run, a failed
// sign-in and a permission change. Each has the registry's events' shape (a UUIDv7 id, the
// actor with address and user agent, the request id, the target) and goes to the outbox when an
// endpoint wants it, and to the audit log. A refusal is recorded in its own transaction: the
// refused change rolled back (and recorded nothing), the refusal itself is the news. They are
// not changes an endpoint must see before the registry moves on, so a failure to record one is
// logged, never the request's failure.
import { RegistryError } from '../errors/index.js';
import type { Caller, GcRunEnded, QuotaWarning } from '../registry/interfaces.js';
import type { OutboxEvent } from '../metadata/index.js';
import type { AuditLog } from './audit-log.js';
import type { AuditedRequest } from '../registry/interfaces.js';
import type { EventRecorder, RegistryEvent } from './registry-events.js';

/** The actions of Berth's own events, as endpoints' `actions` filters and the audit log name them. */
export const BERTH_ACTIONS = {
  immutabilityRefused: 'tag.immutable-refused',
  quotaRefused: 'quota.refused',
  quotaWarning: 'quota.warning',
  gcRun: 'gc.run',
  loginFailed: 'login.failed',
  permissionChanged: 'permission.changed',
} as const;

/** The request actions (request-audit.ts) that are events too. */
const REQUEST_EVENTS: ReadonlySet<string> = new Set([BERTH_ACTIONS.loginFailed, BERTH_ACTIONS.permissionChanged]);

/** Refusals the registry throws, and the event each is. */
const REFUSALS: Readonly<Partial<Record<string, string>>> = {
  TAG_IMMUTABLE: BERTH_ACTIONS.immutabilityRefused,
  QUOTA_EXCEEDED: BERTH_ACTIONS.quotaRefused,
};

export interface BerthEvent {
  readonly action: string;
  readonly target: RegistryEvent['target'];
  /** Who asked; undefined for work no request asked for (a scheduled run). */
  readonly caller: Caller | undefined;
  readonly outcome: 'success' | 'denied' | 'failed';
  /** HTTP status of the request, when one caused it. */
  readonly status?: number | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

export class BerthEvents {
  /** Outbox writes under way (a command waits for them before it closes the database). */
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly recorder: EventRecorder,
    private readonly audit: AuditLog | undefined,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Records one of Berth's own events: the outbox (its own transaction) when an endpoint wants it, and the audit log. */
  emit(event: BerthEvent): void {
    const outboxEvent = this.recorder.build(event.action, event.target, event.caller, { ...event.detail });
    if (outboxEvent !== undefined) this.write(outboxEvent);
    const caller = event.caller;
    this.audit?.append({
      action: event.action,
      actor: caller?.name,
      address: caller?.address,
      repository: event.target.repository,
      outcome: event.outcome,
      status: event.status,
      requestId: caller?.requestId,
      detail: {
        ...(outboxEvent === undefined ? {} : { eventId: outboxEvent.id }),
        ...(event.target.tag === undefined ? {} : { tag: event.target.tag }),
        ...(event.target.digest === undefined ? {} : { digest: event.target.digest }),
        ...event.detail,
      },
    });
  }

  /** The event of a refusal the registry threw (an immutable tag, a quota), if it is one. */
  refused(error: unknown, repository: string, caller: Caller | undefined): void {
    if (!(error instanceof RegistryError)) return;
    const action = REFUSALS[error.errorName];
    if (action === undefined) return;
    const facts = (error.detail ?? {}) as Record<string, unknown>;
    const target: { repository: string; tag?: string; digest?: string } = { repository };
    if (typeof facts.tag === 'string') target.tag = facts.tag;
    if (typeof facts.digest === 'string') target.digest = facts.digest;
    this.emit({
      action,
      target,
      caller,
      outcome: 'denied',
      status: error.status,
      detail: { reason: error.message, ...facts },
    });
  }

  quotaWarning(warning: QuotaWarning): void {
    this.emit({
      action: BERTH_ACTIONS.quotaWarning,
      target: { repository: warning.repository },
      caller: warning.caller,
      outcome: 'success',
      detail: { namespace: warning.namespace, bytes: warning.bytes, quota: warning.sizeBytes, warnAt: warning.warnAt },
    });
  }

  gcRun(run: GcRunEnded): void {
    this.emit({
      action: BERTH_ACTIONS.gcRun,
      target: {},
      caller: undefined,
      outcome: run.status === 'finished' ? 'success' : 'failed',
      detail: {
        runId: run.runId,
        trigger: run.trigger,
        dryRun: run.dryRun,
        status: run.status,
        ...(run.stats === undefined ? {} : { stats: run.stats }),
        ...(run.error === undefined ? {} : { error: run.error }),
      },
    });
  }

  /**
   * The HTTP layer's auditor (structurally http's RequestAuditor): every request worth keeping to
   * the audit log, and failed sign-ins and permission changes to the outbox as well.
   */
  requestAuditor(): { samplePull(): boolean; record(request: AuditedRequest): void } {
    return {
      samplePull: () => this.audit?.samplePull() ?? false,
      record: (request) => {
        this.audit?.record(request);
        if (!REQUEST_EVENTS.has(request.action)) return;
        const caller: Caller = {
          name: request.actor,
          address: request.address,
          userAgent: request.userAgent,
          requestId: request.requestId,
          method: request.method,
          host: undefined,
        };
        const event = this.recorder.build(request.action, {}, caller, { status: request.status, ...request.detail });
        if (event !== undefined) this.write(event);
      },
    };
  }

  /** Waits for the events being written, and writes what the audit log holds (a command's end, a server's stop). */
  async flush(): Promise<void> {
    await Promise.all([...this.writing]);
    await this.audit?.flush();
  }

  private write(event: OutboxEvent): void {
    const writing = this.recorder
      .recordNow([event])
      .catch(this.onFailure)
      .finally(() => this.writing.delete(writing));
    this.writing.add(writing);
  }
}
