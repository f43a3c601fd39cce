// Delivers the outbox to webhook endpoints, on every replica: each round, for each endpoint,
// claim its due deliveries (oldest first, under a lease: another replica skips them), send them
// and record the outcome. Distribution's envelope is an array ({"events": [...]}), so the events
// claimed together go in one request and are marked delivered (or failed) together: a
// busy registry's pull events cost one request per batch, not one per pull. A batch of pull
// events is one outbox row (pull-events.ts), claimed, sent and counted as one: its stored array
// goes into the envelope as it is, and its attempts and history are the batch's. CloudEvents
// endpoints get one event per request (envelope.ts says why), so a batch is split for them (and
// sent again whole when one of its requests fails; receivers drop repeats by id). A 2xx or 3xx
// answer delivers every event of the request (as Distribution judges it); anything else, or no
// answer, counts an attempt for each and sets the next one: after `threshold` failures in a row the wait doubles
// from `backoff` up to maxBackoff. Events are retried until the outbox's retention deletes them,
// so a receiver that was down for an hour gets everything once it is back. A replica killed
// mid-delivery leaves its claims to the others when their lease ends: delivery is at least once,
// and every request names its events (X-Berth-Event-Id and each event's id) so a receiver can
// drop a repeat.
import { batchEventId, type ClaimedDelivery, type EventOutboxQueries } from '../metadata/index.js';
import type { EndpointDirectory, WebhookEndpoint } from './endpoints.js';
import { eventsPerRequest, formatDelivery, type EventRun } from './envelope.js';

/** Sends one request; resolves with its status, rejects when there was no answer (sender in src/client). */
export type SendWebhook = (request: {
  url: string;
  headers: Readonly<Record<string, string | readonly string[]>>;
  body: Buffer;
  timeoutMs: number;
  allowPrivateAddresses: boolean;
}) => Promise<{ status: number }>;

export interface DelivererOptions {
  /** This process, as leases name it. */
  readonly owner: string;
  /** How often each replica looks for due deliveries (a write on this replica wakes it at once). */
  readonly pollMs: number;
  /** Deliveries (events or batches) claimed at a time per endpoint; also the most events sent in one envelope. */
  readonly batch: number;
  /** Events older than this are deleted with their deliveries (the outbox is bounded); 0: kept. */
  readonly retentionMs: number;
  /** http.host, when configured: a CloudEvent's source. */
  readonly registryUrl?: string | undefined;
  readonly warn: (error: unknown, message: string) => void;
}

/** Delivery attempts by result since start, one per event sent (the metric berth_webhook_deliveries_total). */
export interface DeliveryCounts {
  delivered: number;
  failed: number;
}

export class Deliverer {
  readonly counts: DeliveryCounts = { delivered: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Endpoints this replica leaves alone until then (ms): their last attempt failed. */
  private readonly pausedUntil = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly outbox: EventOutboxQueries,
    private readonly endpoints: EndpointDirectory,
    private readonly send: SendWebhook,
    private readonly options: DelivererOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Finishes the round in progress (its claims are delivered or released) and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** Something was recorded: look now instead of at the next poll. */
  nudge(): void {
    if (this.stopped) return;
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** One round now (tests, and the admin API's redelivery). */
  async runOnce(): Promise<void> {
    while (this.round !== undefined) await this.round;
    this.round = this.deliverAll().finally(() => {
      this.round = undefined;
    });
    await this.round;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.round !== undefined) {
        this.again = true;
        return;
      }
      this.round = this.deliverAll()
        .catch((error: unknown) => this.options.warn(error, 'webhook delivery round failed'))
        .finally(() => {
          this.round = undefined;
          if (this.stopped) return;
          const again = this.again;
          this.again = false;
          this.schedule(again ? 0 : this.options.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async deliverAll(): Promise<void> {
    const now = Date.now();
    for (const endpoint of this.endpoints.current()) {
      if (this.stopped) return;
      if ((this.pausedUntil.get(endpoint.id) ?? 0) > now) continue;
      this.pausedUntil.delete(endpoint.id);
      try {
        await this.deliverTo(endpoint);
      } catch (error) {
        this.options.warn(error, `webhook endpoint ${endpoint.name}: could not read or update the outbox`);
      }
    }
    if (this.options.retentionMs > 0 && now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      await this.outbox.prune(new Date(now - this.options.retentionMs));
    }
  }

  /**
   * Sends the endpoint's due events, a request per `eventsPerRequest` of them (a batch whole),
   * until none are left or a request fails. A claim lasts two timeouts and five seconds, renewed
   * for the rest of the claims before a send that could outlast it, so the claims of a replica
   * that died are free again within seconds.
   */
  private async deliverTo(endpoint: WebhookEndpoint): Promise<void> {
    const leaseMs = 2 * endpoint.timeoutMs + 5000;
    const perRequest = eventsPerRequest(endpoint, this.options.batch);
    for (;;) {
      let leaseEnd = Date.now() + leaseMs;
      const claimed = await this.outbox.claim(endpoint.id, this.options.owner, this.options.batch, leaseMs);
      if (claimed.length === 0) return;
      let next = 0;
      const keepClaims = async (): Promise<void> => {
        if (Date.now() + endpoint.timeoutMs + 1000 <= leaseEnd) return;
        leaseEnd = Date.now() + leaseMs;
        await this.outbox.extendLease(endpoint.id, rowIds(claimed.slice(next)), this.options.owner, leaseEnd);
      };
      // Rows sent and accepted, by the status that accepted them: marked delivered together,
      // one write for the claim's requests rather than one each (a replica killed before it
      // marks them sends them again: at least once).
      const accepted = new Map<number, string[]>();
      const markAccepted = async (): Promise<void> => {
        for (const [status, ids] of accepted) await this.outbox.markDelivered(endpoint.id, ids, status);
        accepted.clear();
      };
      while (next < claimed.length) {
        if (this.stopped) {
          await markAccepted();
          await this.outbox.release(endpoint.id, rowIds(claimed.slice(next)));
          return;
        }
        const group = requestRows(claimed, next, perRequest);
        const ids = rowIds(group);
        const sent = await this.sendRows(endpoint, group, keepClaims);
        this.counts.delivered += sent.accepted;
        const outcome = sent.outcome;
        if (outcome.ok) {
          const same = accepted.get(outcome.status);
          if (same === undefined) accepted.set(outcome.status, ids);
          else same.push(...ids);
          next += group.length;
          continue;
        }
        await markAccepted();
        this.counts.failed += sent.failed;
        // The most-tried event of the request sets the wait, so a batch that grew around an old
        // failure keeps backing off.
        const failures = Math.max(...group.map((delivery) => delivery.attempts)) + 1;
        const nextAttemptAt = Date.now() + retryDelay(endpoint, failures);
        await this.outbox.markFailed(endpoint.id, ids, {
          responseCode: outcome.status,
          error: outcome.error,
          nextAttemptAt,
        });
        // The rest wait too: the endpoint is failing, and order is kept.
        await this.outbox.release(endpoint.id, rowIds(claimed.slice(next + group.length)));
        this.pausedUntil.set(endpoint.id, nextAttemptAt);
        return;
      }
      await markAccepted();
    }
  }

  /**
   * Sends claimed rows: in one envelope, or, to a CloudEvents endpoint (one row at a time), one
   * request per event, stopping at the first that fails. Says how many events were accepted and
   * how many failed.
   */
  private async sendRows(
    endpoint: WebhookEndpoint,
    rows: readonly ClaimedDelivery[],
    keepClaims: () => Promise<void>,
  ): Promise<{ outcome: DeliveryOutcome; accepted: number; failed: number }> {
    if (endpoint.format !== 'cloudevents') {
      await keepClaims();
      const runs = rows.map(eventRun);
      const outcome = await deliver(this.send, endpoint, runs, this.options.registryUrl);
      const events = runs.reduce((sum, run) => sum + run.ids.length, 0);
      return outcome.ok ? { outcome, accepted: events, failed: 0 } : { outcome, accepted: 0, failed: events };
    }
    let accepted = 0;
    let outcome: DeliveryOutcome | undefined;
    for (const run of rows.flatMap(singleEvents)) {
      await keepClaims();
      outcome = await deliver(this.send, endpoint, [run], this.options.registryUrl);
      if (!outcome.ok) return { outcome, accepted, failed: 1 };
      accepted++;
    }
    if (outcome === undefined) throw new Error('a claimed row holds at least one event');
    return { outcome, accepted, failed: 0 };
  }
}

/** The rows' ids (an event's, or a batch's), as their deliveries are keyed. */
function rowIds(rows: readonly ClaimedDelivery[]): string[] {
  return rows.map((row) => row.eventId);
}

/** How many events a claimed row holds. */
function eventCount(row: ClaimedDelivery): number {
  return row.batchSize ?? 1;
}

/** The claimed rows from `start` that one request carries: at least one, more while their events fit `perRequest`. */
function requestRows(claimed: readonly ClaimedDelivery[], start: number, perRequest: number): ClaimedDelivery[] {
  let end = start + 1;
  let events = eventCount(claimed[start] as ClaimedDelivery);
  while (end < claimed.length && events + eventCount(claimed[end] as ClaimedDelivery) <= perRequest) {
    events += eventCount(claimed[end] as ClaimedDelivery);
    end++;
  }
  return claimed.slice(start, end);
}

/** A claimed row's events as the envelope takes them: a batch's array without its brackets, not parsed. */
function eventRun(row: ClaimedDelivery): EventRun {
  if (row.batchSize === undefined) return { ids: [row.eventId], json: row.body };
  return { ids: Array.from({ length: row.batchSize }, (_, index) => batchEventId(row.eventId, index)), json: row.body.slice(1, -1) };
}

/** A claimed row's events one by one (a CloudEvents endpoint's requests); a batch is parsed. */
function singleEvents(row: ClaimedDelivery): EventRun[] {
  if (row.batchSize === undefined) return [eventRun(row)];
  return (JSON.parse(row.body) as unknown[]).map((event, index) => ({
    ids: [batchEventId(row.eventId, index)],
    json: JSON.stringify(event),
  }));
}

/** What one request to an endpoint came to: delivered (2xx or 3xx), or why not. */
export type DeliveryOutcome = (
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status: number | undefined; readonly error: string }
) & { readonly durationMs: number };

/**
 * Formats events for the endpoint (envelope.ts: all in one envelope, or the one CloudEvent) and
 * sends them in one request: the deliverer's attempts and the admin API's test deliveries go
 * through here, so both follow the same format, signature and SSRF rules.
 */
export async function deliver(
  send: SendWebhook,
  endpoint: WebhookEndpoint,
  events: readonly EventRun[],
  registryUrl: string | undefined,
): Promise<DeliveryOutcome> {
  const started = performance.now();
  const took = (): number => Math.round(performance.now() - started);
  try {
    const request = formatDelivery(endpoint, events, registryUrl);
    const { status } = await send({
      url: endpoint.url,
      headers: request.headers,
      body: request.body,
      timeoutMs: endpoint.timeoutMs,
      allowPrivateAddresses: endpoint.allowPrivateAddresses,
    });
    if (status >= 200 && status < 400) return { ok: true, status, durationMs: took() };
    return { ok: false, status, error: `answered ${status}`, durationMs: took() };
  } catch (error) {
    return { ok: false, status: undefined, error: error instanceof Error ? error.message : String(error), durationMs: took() };
  }
}

/** One event in its own request (the admin API's test delivery). */
export function deliverOnce(
  send: SendWebhook,
  endpoint: WebhookEndpoint,
  eventId: string,
  eventJson: string,
  registryUrl: string | undefined,
): Promise<DeliveryOutcome> {
  return deliver(send, endpoint, [{ ids: [eventId], json: eventJson }], registryUrl);
}

/**
 * The wait before attempt n + 1 after n failures: short (the backoff, at most a second) for the
 * first `threshold` failures, then the backoff doubling at each failure up to maxBackoff.
 */
export function retryDelay(endpoint: Pick<WebhookEndpoint, 'threshold' | 'backoffMs' | 'maxBackoffMs'>, failures: number): number {
  if (failures < endpoint.threshold) return Math.min(endpoint.backoffMs, 1000);
  const doublings = Math.min(failures - endpoint.threshold, 30);
  return Math.min(endpoint.backoffMs * 2 ** doublings, Math.max(endpoint.maxBackoffMs, endpoint.backoffMs));
}
