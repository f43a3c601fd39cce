// Events of the registry's use cases, in the shape of Distribution's notifications (the event
// objects inside its envelope, docs/events.md), and the decorator that records them: it wraps
// the registry interfaces (as the pull-through cache and the quota and immutability decorators
// do) and hands each write a ChangeRecorder, which the index calls inside the write's
// transaction with what it did; the events it returns are written in that transaction (the
// outbox). Pulls change nothing, so their events are written after the read, and only when an
// endpoint wants them: a pull queues a compact record (pull-events.ts), and the queue is written
// every 250 ms or 1,000 pulls (write-batch.ts) as a few rows, one per batch of a repository's
// pulls, so a manifest GET pays neither a transaction nor a row or JSON of its own; a crash loses
// the last quarter second of pull events, never a change's. The endpoints are asked before
// anything is queued, so a pull that no endpoint wants costs one pass over their filters, and
// when no endpoint is configured, writes get no recorder at all: the hot path pays nothing.
// Refusals the registry throws (an immutable tag, a quota) become Berth's
// own events (berth-events.ts) on their way out.
import type { ChangeRecorder, EventOutboxQueries, OutboxEvent, RecordedChange } from '../metadata/index.js';
import type { Digest, RepositoryName } from '../oci/index.js';
import type {
  BlobContent,
  BlobInfo,
  BlobRead,
  BlobReader,
  BlobRedirect,
  BlobUploads,
  BlobWriter,
  Caller,
  ManifestPush,
  ManifestReader,
  ManifestWriter,
  Reference,
  RegistryServices,
  RequestScope,
  StoredManifest,
  WriteScope,
} from '../registry/interfaces.js';
import type { ParsedManifest } from '../oci/index.js';
import type { EndpointDirectory, EventFacts } from './endpoints.js';
import { uuidv7 } from './ids.js';
import { BLOB_MEDIA_TYPE, PULLS_PER_FLUSH, PullEventRows, pullRecord, type PullRecord } from './pull-events.js';
import { WriteBatch } from './write-batch.js';

/** One event as Distribution's envelope carries it (Berth adds fromRepository to mounts, as Distribution does). */
export interface RegistryEvent {
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly target: {
    readonly mediaType?: string;
    readonly size?: number;
    readonly digest?: string;
    readonly length?: number;
    readonly repository?: string;
    readonly fromRepository?: string;
    readonly url?: string;
    readonly tag?: string;
  };
  readonly request: {
    readonly id?: string | undefined;
    readonly addr?: string | undefined;
    readonly host?: string | undefined;
    readonly method?: string | undefined;
    readonly useragent?: string | undefined;
  };
  readonly actor: { readonly name?: string };
  readonly source: { readonly addr: string; readonly instanceID: string };
  /** Berth's own events say more here (docs/events.md). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface EventRecorderOptions {
  /** This replica, as events name their source. */
  readonly source: { readonly addr: string; readonly instanceID: string };
  /** http.host: targets get a URL under it; relative otherwise. */
  readonly externalUrl: string | undefined;
  /** Whether blob pulls are recorded (off by default: a pull of an image is one per layer). */
  readonly blobPulls: boolean;
  /** Called after events were written outside a write (the deliverer may look at once). */
  readonly onRecorded?: (() => void) | undefined;
  /** A batch of pull events could not be written (they are lost; pulls are not failed for it). */
  readonly warn?: ((error: unknown, message: string) => void) | undefined;
  /** Longest a pull event waits in memory before its batch is written; default 250 ms. */
  readonly pullDelayMs?: number | undefined;
}

type Target = RegistryEvent['target'];

/** The event object of an action by `caller` on `target`, as the envelope carries it (JSON.stringify drops undefined fields). */
export function registryEvent(parts: {
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly target: Target;
  readonly caller: Caller | undefined;
  readonly source: RegistryEvent['source'];
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}): RegistryEvent {
  const { caller, detail } = parts;
  return {
    id: parts.id,
    timestamp: parts.timestamp,
    action: parts.action,
    target: parts.target,
    request: caller
      ? { id: caller.requestId, addr: caller.address, host: caller.host, method: caller.method, useragent: caller.userAgent }
      : {},
    actor: caller?.name === undefined ? {} : { name: caller.name },
    source: parts.source,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Where the decorator hands a write's failure, which may be a refusal worth an event (BerthEvents). */
export interface RefusalRecorder {
  refused(error: unknown, repository: string, caller: Caller | undefined): void;
}

/** Builds events and decides which endpoints get them. */
export class EventRecorder {
  private readonly pulls: WriteBatch<PullRecord>;
  private readonly pullRows: PullEventRows;

  constructor(
    private readonly endpoints: EndpointDirectory,
    private readonly outbox: EventOutboxQueries,
    private readonly options: EventRecorderOptions,
  ) {
    this.pullRows = new PullEventRows(options.source, options.externalUrl);
    this.pulls = new WriteBatch((pulls) => this.recordNow(this.pullRows.rows(pulls)), {
      delayMs: options.pullDelayMs ?? 250,
      maxBatch: PULLS_PER_FLUSH,
      maxQueued: 20_000,
      failed: (error, count) => options.warn?.(error, `could not record ${count} pull events`),
    });
  }

  /** Pull events dropped because the queue was full (the database is down). */
  get droppedPulls(): number {
    return this.pulls.dropped;
  }

  /** Writes the queued pull events now (shutdown, tests). */
  flush(): Promise<void> {
    return this.pulls.flush();
  }

  /** Whether any endpoint is configured (else nothing is recorded). */
  get active(): boolean {
    return this.endpoints.current().length > 0;
  }

  /** The recorder a write hands the index; undefined when no endpoint exists (nothing to record). */
  recorderFor(caller: Caller | undefined, extra?: { fromRepository?: string }): ChangeRecorder | undefined {
    if (!this.active) return undefined;
    return (change) => this.eventsOf(change, caller, extra?.fromRepository);
  }

  /** An event for each endpoint set that wants it; none when no endpoint does. */
  build(action: string, target: Target, caller: Caller | undefined, detail?: Record<string, unknown>): OutboxEvent | undefined {
    const facts: EventFacts = { action, repository: target.repository, tag: target.tag, mediaType: target.mediaType };
    const endpoints = this.endpoints.wanting(facts);
    if (endpoints.length === 0) return undefined;
    return this.eventFor(endpoints, action, target, caller, detail);
  }

  /**
   * Queues the event of a manifest GET when an endpoint wants it. The endpoints are asked first,
   * from the facts alone, so a pull no endpoint wants queues nothing; one that is wanted queues a
   * record, whose id and JSON are made with its batch's (pull-events.ts).
   */
  recordManifestPull(
    repository: string,
    manifest: Pick<StoredManifest, 'digest' | 'mediaType' | 'size'>,
    tag: string | undefined,
    caller: Caller | undefined,
  ): void {
    const mediaType = manifest.mediaType;
    const endpoints = this.endpoints.wanting({ action: 'pull', repository, tag, mediaType });
    if (endpoints.length === 0) return;
    const target = { kind: 'manifests', repository, digest: manifest.digest.toString(), mediaType, size: manifest.size, tag } as const;
    this.pulls.add(pullRecord(Date.now(), endpoints, target, caller));
  }

  /** The same for a blob GET (notifications.blobpulls). */
  recordBlobPull(repository: string, digest: string, size: number, caller: Caller | undefined): void {
    if (!this.options.blobPulls) return;
    const endpoints = this.endpoints.wanting({ action: 'pull', repository, tag: undefined, mediaType: BLOB_MEDIA_TYPE });
    if (endpoints.length === 0) return;
    const target = { kind: 'blobs', repository, digest, mediaType: BLOB_MEDIA_TYPE, size, tag: undefined } as const;
    this.pulls.add(pullRecord(Date.now(), endpoints, target, caller));
  }

  /** The event as the outbox stores it, for the endpoints that want it. */
  private eventFor(
    endpoints: readonly string[],
    action: string,
    target: Target,
    caller: Caller | undefined,
    detail?: Record<string, unknown>,
  ): OutboxEvent {
    const at = Date.now();
    const id = uuidv7(at);
    const timestamp = new Date(at).toISOString();
    const event = registryEvent({ id, timestamp, action, target, caller, source: this.options.source, detail });
    return {
      id,
      createdAt: timestamp,
      action,
      repository: target.repository,
      digest: target.digest,
      tag: target.tag,
      actor: caller?.name,
      body: JSON.stringify(event),
      endpoints,
    };
  }

  /** Records events outside a write (pulls, Berth's own events); failures are the caller's to log. */
  async recordNow(events: readonly (OutboxEvent | undefined)[]): Promise<void> {
    const present = events.filter((event): event is OutboxEvent => event !== undefined);
    if (present.length === 0) return;
    await this.outbox.record(present);
    this.options.onRecorded?.();
  }

  /** Tells the deliverer that a write with events has committed. */
  committed(): void {
    this.options.onRecorded?.();
  }

  private eventsOf(change: RecordedChange, caller: Caller | undefined, fromRepository: string | undefined): OutboxEvent[] {
    const events: (OutboxEvent | undefined)[] = [];
    switch (change.kind) {
      case 'push': {
        const base = this.manifestTarget(change.repository, change.digest, change.mediaType, change.size);
        // One event per tag, as Distribution sends one per tagged push; one without a tag for a push by digest.
        if (change.tags.length === 0) events.push(this.build('push', base, caller));
        for (const tag of change.tags) events.push(this.build('push', { ...base, tag }, caller));
        break;
      }
      case 'delete-manifest':
        events.push(
          this.build(
            'delete',
            { repository: change.repository, digest: change.digest, mediaType: change.mediaType, size: change.size },
            caller,
          ),
        );
        break;
      case 'delete-tag':
        events.push(this.build('delete', { repository: change.repository, tag: change.tag, digest: change.digest }, caller));
        break;
      case 'delete-blob':
        events.push(this.build('delete', { repository: change.repository, digest: change.digest, mediaType: BLOB_MEDIA_TYPE }, caller));
        break;
      case 'mount':
        events.push(
          this.build(
            'mount',
            {
              mediaType: BLOB_MEDIA_TYPE,
              size: change.size,
              length: change.size,
              digest: change.digest,
              repository: change.repository,
              ...(fromRepository === undefined ? {} : { fromRepository }),
              url: this.url(`/v2/${change.repository}/blobs/${change.digest}`),
            },
            caller,
          ),
        );
        break;
    }
    return events.filter((event): event is OutboxEvent => event !== undefined);
  }

  private manifestTarget(repository: string, digest: string, mediaType: string, size: number): Target {
    return { mediaType, size, digest, length: size, repository, url: this.url(`/v2/${repository}/manifests/${digest}`) };
  }

  private url(path: string): string {
    return this.options.externalUrl === undefined ? path : `${this.options.externalUrl.replace(/\/+$/, '')}${path}`;
  }
}

/** The services with events recorded for manifest and blob writes, mounts and (when wanted) pulls. */
export function withEvents(services: RegistryServices, recorder: EventRecorder, own: RefusalRecorder): RegistryServices {
  return {
    blobs: new EventBlobs(services.blobs, recorder),
    uploads: refusalsRecorded(services.uploads, own),
    manifests: new EventManifests(services.manifests, recorder, own),
    listings: services.listings,
    referrers: services.referrers,
    assertPushable: (repository) => services.assertPushable(repository),
    health: () => services.health(),
  };
}

/** The write's scope with the recorder added (the request's own object is not copied whole). */
function withRecorder(scope: WriteScope | undefined, record: ChangeRecorder | undefined): WriteScope | undefined {
  if (record === undefined) return scope;
  return { signal: scope?.signal, namespace: scope?.namespace, caller: scope?.caller, record };
}

/** Uploads whose quota refusals are recorded, naming who sent the refused chunk. */
function refusalsRecorded(uploads: BlobUploads, own: RefusalRecorder): BlobUploads {
  const noted = <T>(repository: RepositoryName, caller: Caller | undefined, work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      own.refused(error, repository, caller);
      throw error;
    });
  return {
    start: (repository) => uploads.start(repository),
    status: (repository, id) => uploads.status(repository, id),
    cancel: (repository, id) => uploads.cancel(repository, id),
    append: (repository, id, chunk, options) => noted(repository, options?.caller, uploads.append(repository, id, chunk, options)),
    complete: (repository, id, digest, lastChunk, options) =>
      noted(repository, options?.caller, uploads.complete(repository, id, digest, lastChunk, options)),
  };
}

class EventManifests implements ManifestReader, ManifestWriter {
  constructor(
    private readonly inner: ManifestReader & ManifestWriter,
    private readonly recorder: EventRecorder,
    private readonly own: RefusalRecorder,
  ) {}

  describe(repository: RepositoryName, reference: Reference, accept?: readonly string[], scope?: RequestScope): Promise<StoredManifest> {
    return this.inner.describe(repository, reference, accept, scope);
  }

  async get(
    repository: RepositoryName,
    reference: Reference,
    accept?: readonly string[],
    scope?: RequestScope,
  ): Promise<StoredManifest & { bytes: Buffer }> {
    const manifest = await this.inner.get(repository, reference, accept, scope);
    this.recorder.recordManifestPull(repository, manifest, reference.kind === 'tag' ? reference.tag : undefined, scope?.caller);
    return manifest;
  }

  async put(push: ManifestPush): Promise<StoredManifest & { manifest: ParsedManifest }> {
    const record = this.recorder.recorderFor(push.scope?.caller);
    try {
      const stored = await this.inner.put(record === undefined ? push : { ...push, scope: withRecorder(push.scope, record) });
      if (record !== undefined) this.recorder.committed();
      return stored;
    } catch (error) {
      this.own.refused(error, push.repository, push.scope?.caller);
      throw error;
    }
  }

  async delete(repository: RepositoryName, reference: Reference, scope?: WriteScope): Promise<void> {
    const record = this.recorder.recorderFor(scope?.caller);
    try {
      await this.inner.delete(repository, reference, withRecorder(scope, record));
    } catch (error) {
      this.own.refused(error, repository, scope?.caller);
      throw error;
    }
    if (record !== undefined) this.recorder.committed();
  }
}

class EventBlobs implements BlobReader, BlobWriter {
  constructor(
    private readonly inner: BlobReader & BlobWriter,
    private readonly recorder: EventRecorder,
  ) {}

  stat(repository: RepositoryName, digest: Digest, scope?: RequestScope): Promise<BlobInfo> {
    return this.inner.stat(repository, digest, scope);
  }

  async open(repository: RepositoryName, digest: Digest, read?: BlobRead, scope?: RequestScope): Promise<BlobContent | BlobRedirect> {
    const content = await this.inner.open(repository, digest, read, scope);
    if ('size' in content) this.recorder.recordBlobPull(repository, digest.toString(), content.size, scope?.caller);
    return content;
  }

  async mount(repository: RepositoryName, from: RepositoryName, digest: Digest, scope?: WriteScope): Promise<BlobInfo | undefined> {
    const record = this.recorder.recorderFor(scope?.caller, { fromRepository: from });
    const mounted = await this.inner.mount(repository, from, digest, withRecorder(scope, record));
    if (record !== undefined && mounted !== undefined) this.recorder.committed();
    return mounted;
  }

  async delete(repository: RepositoryName, digest: Digest, scope?: WriteScope): Promise<void> {
    const record = this.recorder.recorderFor(scope?.caller);
    await this.inner.delete(repository, digest, withRecorder(scope, record));
    if (record !== undefined) this.recorder.committed();
  }
}
