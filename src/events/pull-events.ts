// Pull events in batches: what a manifest (or blob) GET costs when an endpoint wants its event.
// A busy registry serves thousands of pulls a second, so the request path does no more than ask
// the endpoints (registry-events.ts) and queue a PullRecord: a few strings and numbers, no id,
// no JSON. The record copies what it needs of the caller rather than holding it: a Caller reads
// from the request, and a queue of requests kept alive for a quarter of a second was most of the
// garbage collector's work in the bench's CPU profiles. The queue (write-batch.ts) is written every 250 ms or PULLS_PER_FLUSH pulls, and this module
// turns it into outbox rows: the pulls are grouped by endpoint set, repository and actor, and
// each group, in runs of at most PULLS_PER_ROW, becomes ONE events row whose body is a JSON array
// of Distribution's event objects, with one delivery row per endpoint (migration 10). Each event
// keeps its own id (the row's id plus its index: batchEventId) and timestamp, so receivers see
// the same events as before; the deliverer sends a row's array in Distribution's envelope as it
// is, and the admin API expands rows into events.
//
// The JSON is written here by hand, in exactly the shape JSON.stringify gives a RegistryEvent
// (the keys in the same order, undefined fields left out; pull-events.test.ts compares the two
// with JSON.parse): the fixed parts (the source, a target pulled again and again, the actor) are
// serialized once per row, and values that are known to be safe (ids, timestamps, digests,
// numbers) go in as they are, while free text (request ids, addresses, user agents, names, media
// types) goes through JSON.stringify.
import { batchEventId, batchRowId, type OutboxEvent } from '../metadata/index.js';
import type { Caller } from '../registry/interfaces.js';
import { uuidv7 } from './ids.js';

/** The media type Distribution gives blob events' targets. */
export const BLOB_MEDIA_TYPE = 'application/octet-stream';

/**
 * The most pulls in one row: the deliverer's batch (events per envelope), so a row goes in one
 * request and its X-Berth-Event-Id header stays under 2 KiB.
 */
export const PULLS_PER_ROW = 50;

/**
 * Pulls that start a write at once (else the queue is written 250 ms after its first pull). A
 * write is a transaction, a WAL fsync and, at the deliverer, a claim: a registry serving 8,000
 * pulls a second paid for 40 of them a second with 200, 8 with 1,000 (the rows are the same).
 */
export const PULLS_PER_FLUSH = 1000;

/** One pull as the request path queues it. */
export interface PullRecord {
  /** When it was served (ms): its event's timestamp. */
  readonly at: number;
  /** The endpoints that want it (EndpointDirectory.wanting). */
  readonly endpoints: readonly string[];
  readonly kind: 'manifests' | 'blobs';
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** The tag a manifest was pulled by. */
  readonly tag: string | undefined;
  /** The caller's fields (Caller's), copied; requestId undefined when there was no caller. */
  readonly actor: string | undefined;
  readonly requestId: string | undefined;
  readonly address: string | undefined;
  readonly host: string | undefined;
  readonly method: string | undefined;
  readonly userAgent: string | undefined;
}

/** A pull of `target` by `caller` at `at` as the queue holds it. */
export function pullRecord(
  at: number,
  endpoints: readonly string[],
  target: Pick<PullRecord, 'kind' | 'repository' | 'digest' | 'mediaType' | 'size' | 'tag'>,
  caller: Caller | undefined,
): PullRecord {
  return {
    at,
    endpoints,
    kind: target.kind,
    repository: target.repository,
    digest: target.digest,
    mediaType: target.mediaType,
    size: target.size,
    tag: target.tag,
    actor: caller?.name,
    requestId: caller?.requestId,
    address: caller?.address,
    host: caller?.host,
    method: caller?.method,
    userAgent: caller?.userAgent,
  };
}

/** Writes pull records as outbox rows. */
export class PullEventRows {
  private readonly sourceJson: string;
  private readonly urlPrefix: string;

  /**
   * `source` is this replica as events name it; `externalUrl` (http.host) prefixes targets' URLs,
   * which are relative without it.
   */
  constructor(source: { readonly addr: string; readonly instanceID: string }, externalUrl: string | undefined) {
    this.sourceJson = JSON.stringify(source);
    this.urlPrefix = externalUrl === undefined ? '' : externalUrl.replace(/\/+$/, '');
  }

  /** The rows of these pulls (queued in the order they happened): one per group and run. */
  rows(pulls: readonly PullRecord[]): OutboxEvent[] {
    const groups = new Map<string, PullRecord[]>();
    for (const pull of pulls) {
      // Endpoint ids, repository names and user names hold no newline; NUL stands for no actor.
      const key = `${pull.endpoints.join('\n')}\n\n${pull.repository}\n${pull.actor ?? '\0'}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [pull]);
      else group.push(pull);
    }
    const rows: OutboxEvent[] = [];
    for (const group of groups.values()) {
      for (let start = 0; start < group.length; start += PULLS_PER_ROW) rows.push(this.row(group.slice(start, start + PULLS_PER_ROW)));
    }
    return rows;
  }

  /** One row for pulls of one group (at least one). */
  private row(pulls: readonly PullRecord[]): OutboxEvent {
    const first = pulls[0] as PullRecord;
    const id = batchRowId(uuidv7(first.at));
    const actor = first.actor;
    const actorJson = actor === undefined ? '{}' : `{"name":${JSON.stringify(actor)}}`;
    // Pulls in a row mostly repeat the previous one's target and client: their JSON is reused.
    let previous: PullRecord | undefined;
    let timestamp = '';
    let target = '';
    let client = '';
    // Joined once at the end: a string grown by += is a rope, which SQLite's driver then walked
    // piece by piece to encode it (half of a pull's cost of writing its event, measured alone).
    const events: string[] = [];
    for (let index = 0; index < pulls.length; index++) {
      const pull = pulls[index] as PullRecord;
      if (previous === undefined || pull.at !== previous.at) timestamp = new Date(pull.at).toISOString();
      if (previous === undefined || !sameTarget(pull, previous)) target = this.targetJson(pull);
      if (previous === undefined || !sameClient(pull, previous)) client = clientJson(pull);
      previous = pull;
      const request = pull.requestId === undefined ? '{}' : `{"id":${JSON.stringify(pull.requestId)}${client}`;
      events.push(
        `{"id":"${batchEventId(id, index)}","timestamp":"${timestamp}","action":"pull","target":${target},` +
          `"request":${request},"actor":${actorJson},"source":${this.sourceJson}}`,
      );
    }
    return {
      id,
      createdAt: new Date(first.at).toISOString(),
      action: 'pull',
      repository: first.repository,
      digest: undefined,
      tag: undefined,
      actor,
      body: `[${events.join(',')}]`,
      endpoints: first.endpoints,
      batch: { size: pulls.length, lastCreatedAt: timestamp },
    };
  }

  /** The target as RegistryEvent has it: mediaType, size, digest, length, repository, url, tag. */
  private targetJson(pull: PullRecord): string {
    const url = `${this.urlPrefix}/v2/${pull.repository}/${pull.kind}/${pull.digest}`;
    const tag = pull.tag === undefined ? '' : `,"tag":${JSON.stringify(pull.tag)}`;
    return (
      `{"mediaType":${JSON.stringify(pull.mediaType)},"size":${pull.size},"digest":"${pull.digest}","length":${pull.size},` +
      `"repository":${JSON.stringify(pull.repository)},"url":${JSON.stringify(url)}${tag}}`
    );
  }
}

/** Whether two pulls (of one repository) name the same target. */
function sameTarget(a: PullRecord, b: PullRecord): boolean {
  return a.digest === b.digest && a.tag === b.tag && a.kind === b.kind && a.mediaType === b.mediaType && a.size === b.size;
}

/** Whether two pulls came from the same client (all but the request id alike). */
function sameClient(a: PullRecord, b: PullRecord): boolean {
  return a.address === b.address && a.userAgent === b.userAgent && a.host === b.host && a.method === b.method;
}

/**
 * The request as RegistryEvent has it after its id: `,"addr":...,"host":...,"method":...,
 * "useragent":...}`, each when known (a pull without a caller has no request id, and its request
 * is written `{}` without this).
 */
function clientJson(pull: PullRecord): string {
  let json = `,"addr":${JSON.stringify(pull.address)}`;
  if (pull.host !== undefined) json += `,"host":${JSON.stringify(pull.host)}`;
  json += `,"method":${JSON.stringify(pull.method)}`;
  if (pull.userAgent !== undefined) json += `,"useragent":${JSON.stringify(pull.userAgent)}`;
  return `${json}}`;
}
