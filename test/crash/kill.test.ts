// Crash safety under SIGKILL (DESIGN.md invariants 1, 2 and 4). Several workers push images
// concurrently over HTTP (chunked, monolithic and single-POST uploads, cross-repository mounts,
// OCI and Docker manifests, indexes, tags moved between manifests) into one data directory; the
// registry is killed with SIGKILL after a random delay, restarted on the same directory, and
// checked against a ledger of everything the workload attempted and everything Berth
// acknowledged. Each check category is its own test, so a failing one is reported by name.
// Replay a run's decisions with CRASH_TEST_SEED; CRASH_TEST_CYCLES sets the kill points (not BERTH_*:
// Berth reads those as configuration).
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  ACCEPT_ALL_MANIFESTS,
  describeResponse,
  header,
  imageManifest,
  indexManifest,
  inParallel,
  locationWith,
  MEDIA,
  ociErrorCodes,
  Random,
  referencesOf,
  RegistryClient,
  sha256,
  sleep,
  uploadedBytes,
  type BuiltManifest,
  type Descriptor,
  type HttpResponse,
} from './support.js';

const CYCLES = Number(process.env.CRASH_TEST_CYCLES ?? 22);
const SEED = Number(process.env.CRASH_TEST_SEED ?? randomInt(2 ** 31));
const WORKERS = 6;
/** Kill this long after the workload starts: early enough to hit first uploads, late enough for moved tags. */
const KILL_DELAY_MS = { min: 20, max: 1400 };
const REPOS = ['crash/alpha', 'crash/beta', 'crash/team/gamma', 'crash-delta'] as const;
const TAGS = ['latest', 'v1', 'v2', 'stable'] as const;
/** Stop cycling once this many problems were found: the report is long enough. */
const MAX_PROBLEMS = 40;

type Repo = (typeof REPOS)[number];
type UploadMethod = 'chunked' | 'chunked-stream' | 'post-put' | 'single-post';
const UPLOAD_METHODS: readonly UploadMethod[] = ['chunked', 'chunked-stream', 'post-put', 'single-post'];

const CATEGORIES = ['workload', 'tags', 'catalog', 'blobs', 'durability', 'uploads', 'after-restart'] as const;
type Category = (typeof CATEGORIES)[number];

interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
}

/** One push to a tag, on the ledger's logical clock. */
interface TagPush {
  readonly digest: string;
  readonly startedAt: number;
  ackedAt: number | undefined;
  failed: boolean;
}

/** An upload session the workload opened and did not see finish. */
interface OpenUpload {
  readonly repo: Repo;
  readonly id: string;
  location: string;
  readonly blob: Blob;
  /** Bytes acknowledged by a 202 (fsynced, so they must survive). */
  acked: number;
  /** The completing PUT was sent: the blob may have been moved into place already. */
  completing: boolean;
}

/** A request that never got an answer: the server is gone. */
class Interrupted extends Error {}
/** An answer the workload did not expect (already recorded as a problem). */
class Failed extends Error {}

/** What the workload tried and what Berth acknowledged, across all cycles. */
class Ledger {
  clock = 0;
  cycle = 0;
  killDelay = 0;
  /** Every blob or manifest ever attempted, by digest. */
  readonly content = new Map<string, Buffer>();
  readonly manifests = new Set<string>();
  /** Digests attempted since the last visibility check. */
  touched = new Set<string>();
  /** "repo@digest" of acknowledged blob pushes and mounts: they must survive every crash. */
  readonly ackedBlobs = new Set<string>();
  readonly ackedManifests = new Set<string>();
  readonly tagPushes = new Map<string, TagPush[]>();
  readonly uploads = new Map<string, OpenUpload>();
  readonly problems = new Map<Category, string[]>(CATEGORIES.map((c) => [c, []]));
  readonly inFlightAtKill = new Map<string, number>();
  resumed = 0;
  unknownAfterRestart = 0;

  problem(category: Category, message: string): void {
    this.problems.get(category)?.push(`kill ${this.cycle} (${this.killDelay} ms into the workload): ${message}`);
  }

  problemCount(): number {
    return [...this.problems.values()].reduce((sum, list) => sum + list.length, 0);
  }

  attempt(digest: string, bytes: Buffer): void {
    this.content.set(digest, bytes);
    this.touched.add(digest);
  }

  tagKey(repo: string, tag: string): string {
    return `${repo}:${tag}`;
  }
}

/** Runs the concurrent push workload against one registry process until it is killed. */
class Workload {
  killed = false;
  readonly #inFlight = new Map<string, number>();

  constructor(
    readonly client: RegistryClient,
    readonly ledger: Ledger,
    readonly rng: Random,
    readonly sharedLayers: readonly Blob[],
    readonly category: Category = 'workload',
  ) {}

  /** Workers push until a request fails because the server is gone. */
  run(workers: number): Promise<void> {
    return Promise.all(Array.from({ length: workers }, () => this.#worker())).then(() => undefined);
  }

  /** What was in flight, by request kind, when the kill came. */
  snapshotInFlight(): void {
    for (const [kind, count] of this.#inFlight) {
      if (count > 0) this.ledger.inFlightAtKill.set(kind, (this.ledger.inFlightAtKill.get(kind) ?? 0) + count);
    }
  }

  async #worker(): Promise<void> {
    while (!this.killed) {
      try {
        if (this.rng.chance(0.2)) await this.pushIndex();
        else await this.pushImage();
      } catch (error) {
        if (error instanceof Interrupted) return;
        if (!(error instanceof Failed)) throw error;
      }
    }
  }

  /** One request; network failures become Interrupted, unexpected statuses a recorded problem and Failed. */
  async call(
    kind: string,
    method: string,
    path: string,
    expected: readonly number[],
    options: {
      headers?: Record<string, string>;
      body?: Buffer;
    } = {},
  ): Promise<HttpResponse> {
    this.#inFlight.set(kind, (this.#inFlight.get(kind) ?? 0) + 1);
    let response: HttpResponse;
    try {
      response = await this.client.request(method, path, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!this.killed || message.includes('timed out')) {
        this.ledger.problem(this.category, `${method} ${path}: no answer (${message})`);
      }
      throw new Interrupted(message);
    } finally {
      this.#inFlight.set(kind, (this.#inFlight.get(kind) ?? 1) - 1);
    }
    if (!expected.includes(response.status)) {
      this.ledger.problem(this.category, `${method} ${path}: expected ${expected.join('/')}, got ${describeResponse(response)}`);
      throw new Failed();
    }
    return response;
  }

  async pushImage(options: { repo?: Repo; tag?: string; methods?: readonly UploadMethod[] } = {}): Promise<BuiltManifest> {
    const repo = options.repo ?? this.rng.pick(REPOS);
    const format = this.rng.pick(['oci', 'docker'] as const);
    const blobs = this.#imageBlobs(format, 'amd64');
    await this.#pushBlobs(repo, [blobs.config, ...blobs.layers], options.methods);
    const manifest = imageManifest(format, blobs.configDescriptor, blobs.layerDescriptors);
    await this.putManifest(repo, options.tag ?? this.rng.pick(TAGS), manifest);
    return manifest;
  }

  /** Two image manifests pushed by digest, then an index over them pushed by tag. */
  async pushIndex(): Promise<void> {
    const repo = this.rng.pick(REPOS);
    const format = this.rng.pick(['oci', 'docker'] as const);
    const children: Descriptor[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      const blobs = this.#imageBlobs(format, architecture);
      await this.#pushBlobs(repo, [blobs.config, ...blobs.layers]);
      const manifest = imageManifest(format, blobs.configDescriptor, blobs.layerDescriptors);
      await this.putManifest(repo, manifest.digest, manifest);
      children.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
        platform: { architecture, os: 'linux' },
      });
    }
    await this.putManifest(repo, this.rng.pick(TAGS), indexManifest(format, children));
  }

  async putManifest(repo: Repo, reference: string, manifest: BuiltManifest): Promise<void> {
    const { ledger } = this;
    ledger.attempt(manifest.digest, manifest.bytes);
    ledger.manifests.add(manifest.digest);
    let push: TagPush | undefined;
    if (!reference.includes(':')) {
      push = { digest: manifest.digest, startedAt: ledger.clock++, ackedAt: undefined, failed: false };
      const key = ledger.tagKey(repo, reference);
      ledger.tagPushes.set(key, [...(ledger.tagPushes.get(key) ?? []), push]);
    }
    try {
      const response = await this.call('PUT manifest', 'PUT', `/v2/${repo}/manifests/${reference}`, [201], {
        headers: { 'content-type': manifest.mediaType },
        body: manifest.bytes,
      });
      if (header(response, 'docker-content-digest') !== manifest.digest) {
        const answered = header(response, 'docker-content-digest');
        ledger.problem(this.category, `PUT manifest ${manifest.digest}: Docker-Content-Digest ${answered}`);
      }
    } catch (error) {
      if (error instanceof Failed && push) push.failed = true;
      throw error;
    }
    ledger.ackedManifests.add(`${repo}@${manifest.digest}`);
    if (push) push.ackedAt = ledger.clock++;
  }

  #imageBlobs(format: 'oci' | 'docker', architecture: string) {
    const config = blobOf(
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [] },
          nonce: randomBytes(8).toString('hex'),
        }),
      ),
    );
    const unique = blobOf(randomBytes(this.rng.pick([700, 40_000, 300_000, 1_300_000]) + this.rng.int(0, 9999)));
    const shared = [...this.sharedLayers].sort(() => this.rng.next() - 0.5).slice(0, this.rng.int(1, 3));
    const layers = [...shared, unique];
    const layerType = format === 'oci' ? MEDIA.ociLayer : MEDIA.dockerLayer;
    return {
      config,
      layers,
      configDescriptor: {
        mediaType: format === 'oci' ? MEDIA.ociConfig : MEDIA.dockerConfig,
        digest: config.digest,
        size: config.bytes.length,
      },
      layerDescriptors: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.bytes.length })),
    };
  }

  /** Pushes blobs in parallel, as clients do; the first failure is rethrown once all settled. */
  async #pushBlobs(repo: Repo, blobs: readonly Blob[], methods?: readonly UploadMethod[]): Promise<void> {
    const results = await Promise.allSettled(blobs.map((blob) => this.pushBlob(repo, blob, methods)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async pushBlob(repo: Repo, blob: Blob, methods: readonly UploadMethod[] = UPLOAD_METHODS): Promise<void> {
    const { ledger } = this;
    ledger.attempt(blob.digest, blob.bytes);
    const from = REPOS.filter((r) => r !== repo && ledger.ackedBlobs.has(`${r}@${blob.digest}`));
    let location: string | undefined;
    if (from.length > 0 && this.rng.chance(0.5)) {
      const source = this.rng.pick(from);
      const response = await this.call('POST mount', 'POST', `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${source}`, [201, 202]);
      if (response.status === 201) {
        ledger.ackedBlobs.add(`${repo}@${blob.digest}`);
        return;
      }
      location = header(response, 'location');
      this.#open(repo, response, blob);
    }
    const method = location ? 'post-put' : this.rng.pick(methods);
    if (method === 'single-post') {
      await this.call('POST monolithic', 'POST', `/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, [201], {
        headers: { 'content-type': 'application/octet-stream' },
        body: blob.bytes,
      });
      ledger.ackedBlobs.add(`${repo}@${blob.digest}`);
      return;
    }
    const upload =
      location === undefined
        ? this.#open(repo, await this.call('POST upload', 'POST', `/v2/${repo}/blobs/uploads/`, [202]), blob)
        : ledger.uploads.get(idOf(location));
    if (!upload) throw new Failed();
    if (method === 'chunked' || method === 'chunked-stream') {
      const inner = Array.from({ length: this.rng.int(0, 3) }, () => this.rng.int(0, blob.bytes.length));
      const cuts = [0, ...inner, blob.bytes.length].sort((a, b) => a - b);
      for (let i = 0; i + 1 < cuts.length; i++) {
        const start = cuts[i] ?? 0;
        const end = cuts[i + 1] ?? 0;
        if (end === start) continue;
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
        if (method === 'chunked') headers['content-range'] = `${start}-${end - 1}`;
        const response = await this.call('PATCH', 'PATCH', upload.location, [202], { headers, body: blob.bytes.subarray(start, end) });
        if (header(response, 'range') !== `0-${end - 1}`) {
          ledger.problem(this.category, `PATCH ${upload.id} ${start}-${end - 1}: Range ${header(response, 'range')}`);
        }
        upload.acked = end;
        upload.location = header(response, 'location') ?? upload.location;
      }
      upload.completing = true;
      await this.call('PUT blob', 'PUT', locationWith(this.client.baseUrl, upload.location, { digest: blob.digest }), [201]);
    } else {
      upload.completing = true;
      await this.call('PUT blob (with body)', 'PUT', locationWith(this.client.baseUrl, upload.location, { digest: blob.digest }), [201], {
        headers: { 'content-type': 'application/octet-stream' },
        body: blob.bytes,
      });
    }
    ledger.uploads.delete(upload.id);
    ledger.ackedBlobs.add(`${repo}@${blob.digest}`);
  }

  #open(repo: Repo, response: HttpResponse, blob: Blob): OpenUpload {
    const location = header(response, 'location');
    if (location === undefined) {
      this.ledger.problem(this.category, `POST upload in ${repo}: no Location`);
      throw new Failed();
    }
    const upload: OpenUpload = { repo, id: idOf(location), location, blob, acked: 0, completing: false };
    this.ledger.uploads.set(upload.id, upload);
    return upload;
  }
}

function blobOf(bytes: Buffer): Blob {
  return { digest: sha256(bytes), bytes };
}

function idOf(location: string): string {
  return new URL(location, 'http://x').pathname.split('/').pop() ?? '';
}

/** Checks a restarted registry against the ledger; every finding goes to the ledger's problems. */
class Checker {
  /** "repo@digest" whose bytes were fetched and verified in this pass. */
  readonly #verified = new Set<string>();

  constructor(
    readonly client: RegistryClient,
    readonly ledger: Ledger,
  ) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.client.request('GET', path, { headers });
  }

  /** Catalog and tags: every tag resolves to a complete, intact manifest the ledger allows. */
  async tagsAndCatalog(): Promise<void> {
    const { ledger } = this;
    const catalog = await this.get('/v2/_catalog?n=1000');
    let listed: string[] = [];
    if (catalog.status !== 200) ledger.problem('catalog', `GET /v2/_catalog: ${describeResponse(catalog)}`);
    else listed = (JSON.parse(catalog.body.toString('utf8')) as { repositories: string[] }).repositories;
    for (const name of listed) {
      if (!(REPOS as readonly string[]).includes(name)) ledger.problem('catalog', `catalog lists ${name}, which the workload never pushed`);
    }
    for (const repo of REPOS) {
      const hasAcked = [...ledger.ackedManifests].some((k) => k.startsWith(`${repo}@`));
      if (hasAcked && !listed.includes(repo)) {
        ledger.problem('durability', `${repo} had acknowledged manifests but is missing from the catalog`);
      }
      const response = await this.get(`/v2/${repo}/tags/list?n=1000`);
      if (response.status === 404 && !listed.includes(repo) && !hasAcked) continue;
      if (response.status !== 200) {
        ledger.problem('tags', `GET tags of ${repo}: ${describeResponse(response)}`);
        continue;
      }
      const tags = (JSON.parse(response.body.toString('utf8')) as { tags: string[] | null }).tags ?? [];
      for (const tag of TAGS) {
        const pushes = ledger.tagPushes.get(ledger.tagKey(repo, tag)) ?? [];
        if (!tags.includes(tag) && pushes.some((p) => p.ackedAt !== undefined)) {
          ledger.problem('durability', `${repo}:${tag} was acknowledged but is not listed`);
        }
        // Pushes cut off by the kill that left no tag can no longer explain one.
        if (!tags.includes(tag)) ledger.tagPushes.set(ledger.tagKey(repo, tag), []);
      }
      for (const tag of tags) {
        const ok = await this.tag(repo, tag);
        if (!ok && listed.includes(repo)) ledger.problem('catalog', `catalog lists ${repo}, whose tag ${tag} does not resolve`);
      }
    }
  }

  /** One tag; true when it resolves to an intact manifest with everything it references. */
  async tag(repo: Repo, tag: string): Promise<boolean> {
    const { ledger } = this;
    const response = await this.get(`/v2/${repo}/manifests/${tag}`, { accept: ACCEPT_ALL_MANIFESTS });
    const where = `${repo}:${tag}`;
    if (response.status !== 200) {
      ledger.problem('tags', `${where} is listed but GET gives ${describeResponse(response)}`);
      return false;
    }
    const digest = header(response, 'docker-content-digest') ?? '';
    const pushes = ledger.tagPushes.get(ledger.tagKey(repo, tag)) ?? [];
    if (sha256(response.body) !== digest) {
      ledger.problem('tags', `${where}: body hashes to ${sha256(response.body)}, header says ${digest}`);
      return false;
    }
    const ok = await this.manifestContent(repo, digest, response.body, where);
    // The tag must point at a push that was not definitely superseded: no other push to it
    // started after this one was acknowledged and was itself acknowledged.
    const candidate = pushes.find(
      (p) =>
        p.digest === digest &&
        !p.failed &&
        !pushes.some((later) => later.ackedAt !== undefined && p.ackedAt !== undefined && later.startedAt > p.ackedAt),
    );
    if (!candidate) {
      const history = pushes.map((p) => `${p.digest.slice(7, 19)}[${p.startedAt}-${p.ackedAt ?? 'in flight'}${p.failed ? ' failed' : ''}]`);
      ledger.problem('tags', `${where} points at ${digest}, which no surviving push explains (pushes: ${history.join(', ')})`);
    }
    // From here on, this is the tag's known state.
    ledger.tagPushes.set(ledger.tagKey(repo, tag), [{ digest, startedAt: -1, ackedAt: ledger.clock++, failed: false }]);
    return ok && candidate !== undefined;
  }

  /** A manifest's bytes are the ledger's, and its blobs and children exist in repo with the right bytes. */
  async manifestContent(repo: Repo, digest: string, bytes: Buffer, where: string): Promise<boolean> {
    const { ledger } = this;
    const pushed = ledger.content.get(digest);
    if (!pushed?.equals(bytes)) {
      ledger.problem('tags', `${where}: manifest ${digest} is not byte-for-byte one the workload pushed`);
      return false;
    }
    const references = referencesOf(bytes);
    let ok = true;
    for (const blob of references.blobs) {
      if (!(await this.blobBytes(repo, blob, `${where} references blob`, 'tags'))) ok = false;
    }
    for (const child of references.manifests) {
      const response = await this.get(`/v2/${repo}/manifests/${child}`, { accept: ACCEPT_ALL_MANIFESTS });
      if (response.status !== 200 || sha256(response.body) !== child) {
        ledger.problem('tags', `${where}: child manifest ${child} in ${repo}: ${describeResponse(response)}`);
        ok = false;
      } else if (!(await this.manifestContent(repo, child, response.body, `${where} -> ${child.slice(0, 19)}`))) {
        ok = false;
      }
    }
    return ok;
  }

  /** GETs a blob in repo and checks its bytes; false (and a problem) unless 200 with the right bytes. */
  async blobBytes(repo: string, digest: string, what: string, category: Category): Promise<boolean> {
    if (this.#verified.has(`${repo}@${digest}`)) return true;
    const response = await this.get(`/v2/${repo}/blobs/${digest}`);
    if (response.status !== 200) {
      this.ledger.problem(category, `${what} ${digest} in ${repo}: ${describeResponse(response)}`);
      return false;
    }
    if (sha256(response.body) !== digest) {
      this.ledger.problem(
        category,
        `${what} ${digest} in ${repo} is served with WRONG BYTES (${response.body.length} bytes hashing to ` +
          `${sha256(response.body)}; expected ${this.ledger.content.get(digest)?.length ?? '?'} bytes)`,
      );
      return false;
    }
    this.#verified.add(`${repo}@${digest}`);
    return true;
  }

  /** Acknowledged blobs and manifests are still there. */
  async durability(): Promise<void> {
    const { ledger } = this;
    await inParallel([...ledger.ackedBlobs], 16, async (key) => {
      const [repo = '', digest = ''] = key.split('@');
      if (this.#verified.has(key)) return;
      const response = await this.client.request('HEAD', `/v2/${repo}/blobs/${digest}`);
      if (response.status !== 200) ledger.problem('durability', `acknowledged blob ${digest} in ${repo}: HEAD ${response.status}`);
    });
    await inParallel([...ledger.ackedManifests], 16, async (key) => {
      const [repo = '', digest = ''] = key.split('@');
      const response = await this.get(`/v2/${repo}/manifests/${digest}`, { accept: ACCEPT_ALL_MANIFESTS });
      if (response.status !== 200 || sha256(response.body) !== digest) {
        ledger.problem('durability', `acknowledged manifest ${digest} in ${repo}: ${describeResponse(response)}`);
      }
    });
  }

  /** No digest is visible in any repository with bytes that do not match it. */
  async visibility(digests: Iterable<string>): Promise<number> {
    const { ledger } = this;
    const pairs = [...digests].flatMap((digest) => REPOS.map((repo) => ({ repo, digest })));
    await inParallel(pairs, 16, async ({ repo, digest }) => {
      const expected = ledger.content.get(digest);
      const head = await this.client.request('HEAD', `/v2/${repo}/blobs/${digest}`);
      if (head.status === 200) {
        if (header(head, 'content-length') !== String(expected?.length)) {
          const length = header(head, 'content-length');
          ledger.problem('blobs', `HEAD ${digest} in ${repo}: Content-Length ${length}, expected ${expected?.length}`);
        }
        this.#verified.delete(`${repo}@${digest}`);
        await this.blobBytes(repo, digest, 'visible blob', 'blobs');
      } else if (head.status !== 404) {
        ledger.problem('blobs', `HEAD ${digest} in ${repo}: ${head.status}`);
      }
      if (ledger.manifests.has(digest)) {
        const response = await this.get(`/v2/${repo}/manifests/${digest}`, { accept: ACCEPT_ALL_MANIFESTS });
        if (response.status === 200 && (sha256(response.body) !== digest || !expected?.equals(response.body))) {
          ledger.problem('blobs', `manifest ${digest} in ${repo} is served with WRONG BYTES`);
        } else if (response.status !== 200 && response.status !== 404) {
          ledger.problem('blobs', `GET manifest ${digest} in ${repo}: ${describeResponse(response)}`);
        }
      }
    });
    return pairs.length;
  }

  /** Interrupted uploads either report a consistent Range and can be finished, or are unknown. */
  async uploads(): Promise<string[]> {
    const { ledger } = this;
    const finished: string[] = [];
    const open = [...ledger.uploads.values()];
    ledger.uploads.clear();
    await inParallel(open, 8, async (upload) => {
      const sent = `${upload.blob.bytes.length} bytes, ${upload.acked} acknowledged${upload.completing ? ', PUT sent' : ''}`;
      const where = `upload ${upload.id} (${sent}) in ${upload.repo}`;
      const status = await this.get(upload.location);
      if (status.status === 404) {
        if (!ociErrorCodes(status)?.includes('BLOB_UPLOAD_UNKNOWN')) {
          ledger.problem('uploads', `${where}: 404 without BLOB_UPLOAD_UNKNOWN: ${describeResponse(status)}`);
        }
        ledger.unknownAfterRestart += 1;
        return;
      }
      if (status.status !== 204) {
        ledger.problem('uploads', `${where}: status ${describeResponse(status)}`);
        return;
      }
      const range = header(status, 'range');
      let offset = uploadedBytes(range);
      const total = upload.blob.bytes.length;
      // "0-0" may mean one byte; acknowledged bytes must still be there unless the PUT already
      // moved them into place.
      const lowest = range === '0-0' ? 1 : offset;
      if (offset === undefined || lowest === undefined || offset > total || (lowest < upload.acked && !upload.completing)) {
        ledger.problem('uploads', `${where}: Range ${range} after restart is inconsistent with the bytes sent`);
        return;
      }
      let location = header(status, 'location') ?? upload.location;
      if (offset < total) {
        let patch = await this.#patch(location, upload.blob.bytes, offset);
        if (patch.status === 416 && range === '0-0') {
          // "0-0" meant one byte, not none.
          offset = 1;
          patch = await this.#patch(location, upload.blob.bytes, offset);
        }
        if (patch.status !== 202 || header(patch, 'range') !== `0-${total - 1}`) {
          ledger.problem('uploads', `${where}: resuming at ${offset}: ${describeResponse(patch)} Range ${header(patch, 'range')}`);
          return;
        }
        location = header(patch, 'location') ?? location;
      }
      const put = await this.client.request('PUT', locationWith(this.client.baseUrl, location, { digest: upload.blob.digest }));
      if (put.status !== 201) {
        const codes = ociErrorCodes(put) ?? [];
        ledger.problem(
          'uploads',
          `${where}: completing after a resume at ${offset}: ${describeResponse(put)}` +
            (codes.includes('DIGEST_INVALID') ? ' (the stored prefix is not the bytes the client sent)' : ''),
        );
        return;
      }
      ledger.resumed += 1;
      ledger.ackedBlobs.add(`${upload.repo}@${upload.blob.digest}`);
      finished.push(upload.blob.digest);
    });
    return finished;
  }

  #patch(location: string, bytes: Buffer, offset: number): Promise<HttpResponse> {
    return this.client.request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${bytes.length - 1}` },
      body: bytes.subarray(offset),
    });
  }
}

describe('crash safety: SIGKILL during concurrent pushes', { timeout: 900_000 }, () => {
  const ledger = new Ledger();
  const rng = new Random(SEED);
  const sharedLayers: Blob[] = [0, 3_000, 200_000, 700_000, 1_100_000, 2_500_000].map((size) => blobOf(randomBytes(size)));
  let dataDir = '';
  let registry: TestRegistry | undefined;
  let cyclesRun = 0;
  let visibilityChecks = 0;
  const started = Date.now();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'berth-crash-'));
    console.log(`crash test seed ${SEED} (replay with CRASH_TEST_SEED=${SEED}), ${CYCLES} kill points, data in ${dataDir}`);
  });

  after(async () => {
    await registry?.stop({ keepData: true });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('survives SIGKILL at random moments, restarting on the same data directory', async () => {
    for (let cycle = 1; cycle <= CYCLES && ledger.problemCount() < MAX_PROBLEMS; cycle++) {
      const server = await startRegistry({ dataDir });
      registry = server;
      let client = new RegistryClient(server.url);
      // Problems found here are reported against the previous kill.
      if (cycle > 1) await verify(client);
      ledger.cycle = cycle;
      ledger.killDelay = rng.int(KILL_DELAY_MS.min, KILL_DELAY_MS.max);

      // The workload, and a kill after a random delay.
      const workload = new Workload(client, ledger, rng, sharedLayers);
      const running = workload.run(WORKERS);
      const exitedEarly = await Promise.race([sleep(ledger.killDelay).then(() => false), server.exited().then(() => true)]);
      if (exitedEarly) {
        ledger.problem('workload', `Berth exited on its own (${String(await server.exited())}):\n${server.output().slice(-3000)}`);
      }
      workload.snapshotInFlight();
      workload.killed = true;
      await server.stop({ keepData: true, signal: 'SIGKILL' });
      if (!exitedEarly) assert.equal(await server.exited(), 'SIGKILL');
      await running;
      client.close();
      cyclesRun = cycle;

      if (cycle === CYCLES) {
        // The last restart: check, then sweep every digest ever attempted in every repository.
        const last = await startRegistry({ dataDir });
        registry = last;
        client = new RegistryClient(last.url);
        await verify(client);
        ledger.touched = new Set(ledger.content.keys());
        const checker = new Checker(client, ledger);
        visibilityChecks += await checker.visibility(ledger.touched);
        await checker.durability();
        client.close();
        await last.stop({ keepData: true });
      }
    }
    const leftovers = await countTemporaryFiles(dataDir);
    const inFlight = [...ledger.inFlightAtKill].map(([kind, n]) => `${kind} ${n}`).join(', ');
    console.log(
      `kill points covered: ${cyclesRun} in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `requests in flight at the kills: ${inFlight}; ${ledger.content.size} digests attempted, ` +
        `${ledger.ackedBlobs.size} blob links and ${ledger.ackedManifests.size} manifests acknowledged; ` +
        `${visibilityChecks} repository x digest visibility checks; interrupted uploads resumed: ${ledger.resumed}, ` +
        `unknown after restart: ${ledger.unknownAfterRestart}; temporary files left in the data directory: ${leftovers}`,
    );
    assert.ok(cyclesRun >= Math.min(CYCLES, 1));
  });

  /** Everything that must hold after a restart, then a push that must succeed. */
  async function verify(client: RegistryClient): Promise<void> {
    const checker = new Checker(client, ledger);
    await checker.tagsAndCatalog();
    await checker.durability();
    visibilityChecks += await checker.visibility(ledger.touched);
    ledger.touched = new Set();
    const resumed = await checker.uploads();
    visibilityChecks += await checker.visibility(resumed);
    // Pushes after the restart succeed: one image with chunked uploads, one with monolithic ones.
    const after = new Workload(client, ledger, rng, sharedLayers, 'after-restart');
    for (const methods of [['chunked'], ['post-put', 'single-post']] as const) {
      const repo = rng.pick(REPOS);
      try {
        await after.pushImage({ repo, tag: 'after-restart', methods });
        await checker.tag(repo, 'after-restart');
      } catch (error) {
        if (!(error instanceof Interrupted || error instanceof Failed)) throw error;
      }
    }
  }

  for (const category of CATEGORIES) {
    const title: Record<Category, string> = {
      workload: 'the workload gets the answers it expects before each kill, and Berth never exits on its own',
      tags: 'every tag resolves to an intact manifest whose blobs and children exist in the repository, and that a surviving push explains',
      catalog: 'the catalog lists only repositories whose tags resolve',
      blobs: 'no blob (or manifest) is visible with bytes that do not match its digest, in any repository',
      durability: 'acknowledged blobs, manifests and tags survive every kill',
      uploads: 'interrupted uploads resume with a consistent Range or are cleanly unknown',
      'after-restart': 'pushes after each restart succeed',
    };
    it(title[category], () => {
      assert.ok(cyclesRun > 0, 'the kill cycles did not run');
      assert.deepEqual(ledger.problems.get(category), []);
    });
  }
});

/** Files a killed putContent() left behind (harmless, but worth reporting). */
async function countTemporaryFiles(root: string): Promise<number> {
  let count = 0;
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isFile() && entry.name.includes('~berth-tmp~')) count += 1;
  return count;
}
