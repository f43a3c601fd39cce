// Property-based hostile-input suite: thousands of generated malformed requests (paths, digests,
// Range headers, query strings, manifests, upload chunk sequences against a model, header
// framing, Accept negotiation, concurrent races) against one running Berth process. Every answer
// must be below 500, every 4xx an OCI error body (HEAD: no body), and at the end the process must
// be alive, the known image pushed first must be served byte-for-byte, nothing may have been
// written outside the data directory, and the server's log must show no failure the client could
// not see. BERTH_FUZZ_SEED reproduces a run and BERTH_FUZZ_SCALE multiplies the number of runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc, { type Arbitrary, type AsyncCommand } from 'fast-check';
import {
  anyDigest,
  anyMethod,
  anyName,
  anySuffix,
  anyTagLike,
  applyMutations,
  arbitraryRangeHeader,
  encodeUnsafe,
  headerSafeString,
  hex,
  junkManifestBody,
  manifestContentType,
  manifestMutation,
  paginationNumber,
  pathPrefix,
  queryValue,
  rangeHeaderOf,
  serialise,
  structuredRange,
  type Expectation,
  type Mutation,
  type StructuredRange,
} from './arbitraries.js';
import {
  baseSeed,
  blobsOf,
  CATALOG_DEFAULT_ENTRIES,
  checkAnswer,
  checkDataDirectory,
  checkWireAnswer,
  EMPTY_SHA256,
  expectCodes,
  isAcceptedDigest,
  isAlive,
  isValidName,
  isValidTag,
  MANIFEST_MAX_BYTES,
  MAX_TAGS_PER_PUSH,
  MANIFEST_TYPES,
  MEDIA,
  PAGINATION_MAX_ENTRIES,
  pushKnownImage,
  reviewServerLog,
  requests,
  runProperty,
  runScale,
  send,
  sendWire,
  sha256,
  sha512,
  snapshotOutsideData,
  startTarget,
  stopTarget,
  verifyKnownImage,
  wireRequest,
  type HttpResponse,
  type KnownImage,
  type Target,
  type WireOutcome,
} from './support.js';

const KNOWN_REPO = 'fuzz/known';
const KNOWN_TAG = 'stable';
/** Repositories the mutating generators write to, so the known image is only ever read. */
const DIGESTS_REPO = 'fuzz/digests';
const MANIFESTS_REPO = 'fuzz/manifests';
const QUERIES_REPO = 'fuzz/queries';
const HEADERS_REPO = 'fuzz/headers';
/** An index over the known image, for Accept negotiation. */
const INDEX_REPO = 'fuzz/index';
/** Holds the known blobs and no manifest, for DELETEs. */
const DELETES_REPO = 'fuzz/deletes';

function header(response: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function describeRequest(method: string, path: string | Buffer, extra = ''): string {
  const shown = typeof path === 'string' ? path : path.toString('utf8');
  return `${method} ${JSON.stringify(shown.length > 300 ? `${shown.slice(0, 300)}...(${shown.length})` : shown)}${extra}`;
}

/** A body in chunked transfer coding, 64 KiB per chunk. */
function chunkedBody(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) {
    const piece = bytes.subarray(at, at + 65_536);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

describe('hostile input', { timeout: 900_000 }, () => {
  const startedAt = Date.now();
  let target: Target;
  let image: KnownImage;
  let outsideBefore: Map<string, string>;
  /** A valid image manifest over the known blobs, pushable to any repository they are mounted in. */
  let baseManifest: () => Record<string, unknown>;
  let manifestCounter = 0;

  before(async () => {
    console.log(`hostile-input fuzz: BERTH_FUZZ_SEED=${baseSeed} BERTH_FUZZ_SCALE=${runScale}`);
    target = await startTarget();
    image = await pushKnownImage(target, KNOWN_REPO, KNOWN_TAG);
    for (const repo of [DIGESTS_REPO, MANIFESTS_REPO, QUERIES_REPO, HEADERS_REPO, DELETES_REPO]) {
      for (const blob of blobsOf(image)) {
        const mount = await send(target, 'setup', 'POST', `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${KNOWN_REPO}`, {
          headers: { 'content-length': '0' },
        });
        assert.equal(mount.status, 201, `mount ${blob.digest} into ${repo}: ${mount.body.toString()}`);
      }
    }
    baseManifest = () => ({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: image.config.mediaType, digest: image.config.digest, size: image.config.bytes.length },
      layers: image.layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length })),
      // A counter, not randomness, so that a seed reproduces the same bytes.
      annotations: { 'org.example.fuzz.nonce': String(++manifestCounter) },
    });
    outsideBefore = await snapshotOutsideData(target.workspace);
  });

  after(async () => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    console.log(`hostile-input fuzz: requests per generator (seed ${baseSeed}, ${seconds} s):\n${requests.report()}`);
    console.log(`hostile-input fuzz: ${requests.total()} requests in total`);
    if (target) await stopTarget(target);
  });

  // ---- Paths: any method, any name, any suffix ---------------------------------------------

  it('paths: random names, suffixes and methods never get a 5xx', async () => {
    const references = fc.oneof(anyTagLike, anyDigest, fc.constant(KNOWN_TAG), fc.constant(image.manifest.digest));
    const digests = fc.oneof(
      { weight: 5, arbitrary: anyDigest },
      { weight: 1, arbitrary: fc.constantFrom(...blobsOf(image).map((b) => b.digest)) },
    );
    const pathCase = fc.record({
      method: anyMethod,
      prefix: pathPrefix,
      name: fc.oneof({ weight: 8, arbitrary: anyName }, { weight: 1, arbitrary: fc.constant(KNOWN_REPO) }),
      suffix: anySuffix(references, digests),
      query: fc.option(
        fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((q) => `?${encodeUnsafe(q)}`),
        { nil: undefined, freq: 4 },
      ),
      body: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
      rawUnicodeName: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), { nil: undefined, freq: 12 }),
    });
    await runProperty(
      'paths',
      fc.asyncProperty(pathCase, async (c) => {
        // DELETE on the known repository could legitimately remove the known image.
        const name = c.method === 'DELETE' && c.name === KNOWN_REPO ? 'fuzz/known-shadow' : c.name;
        const usedName = c.rawUnicodeName === undefined ? name : c.rawUnicodeName.replace(/[\r\n]/g, '');
        const pathText = `${c.prefix}${usedName}${c.suffix}${c.query ?? ''}`;
        // Raw UTF-8 (and raw spaces) go out as bytes no HTTP client would send.
        const path = c.rawUnicodeName === undefined ? pathText : Buffer.from(pathText, 'utf8');
        const body = c.body === undefined ? undefined : Buffer.from(c.body);
        const context = describeRequest(c.method, path, body ? ` (${body.length}-byte body)` : '');
        const outcome = await sendWire(target, 'paths', wireRequest(target, c.method, path, [], body), { method: c.method });
        const { status } = checkWireAnswer(outcome, c.method, context);
        if (status >= 200 && status < 300) {
          // Success only for clean paths: no dot segments, empty segments, escapes or raw bytes.
          const pathOnly = pathText.split('?')[0] ?? '';
          const segments = pathOnly.split('/').slice(1);
          assert.ok(!/[^\x21-\x7e]/.test(usedName), `raw bytes in the path succeeded: ${context} -> ${status}`);
          assert.ok(
            !segments.some((segment, i) => segment === '.' || segment === '..' || (segment === '' && i < segments.length - 1)),
            `a path with dot or empty segments succeeded: ${context} -> ${status}`,
          );
          assert.ok(!/[%\\]/.test(pathOnly), `a path with escapes succeeded: ${context} -> ${status}`);
          assert.ok(pathOnly.startsWith('/v2/') || pathOnly === '/v2', `a path outside /v2/ succeeded: ${context}`);
        }
      }),
      1400,
    );
  });

  // ---- Digests: every place a digest goes ----------------------------------------------------

  it('digests: malformed digests in paths and query parameters get 4xx with the right code', async () => {
    const knownBlobs = new Map(blobsOf(image).map((blob) => [blob.digest, blob.bytes]));
    // A manifest is also readable through the blob endpoint of its repository (as in Distribution).
    const readableAsBlob = new Map([...knownBlobs, [image.manifest.digest, image.manifest.bytes]]);
    const bodyBytes = Buffer.from('fuzz digest body');
    const bodyDigest = sha256(bodyBytes);
    const manifestBytes = Buffer.from(JSON.stringify({ ...baseManifest(), annotations: { fixed: 'digests' } }));

    /** Codes a digest in a path segment may draw when it is not an accepted digest. */
    const loose = [
      'DIGEST_INVALID',
      'BAD_REQUEST',
      'NOT_FOUND',
      'UNSUPPORTED',
      'NAME_INVALID',
      'TAG_INVALID',
      'MANIFEST_UNKNOWN',
      'BLOB_UNKNOWN',
      'BLOB_UPLOAD_UNKNOWN',
    ];
    /** A path segment the route table sees as one digest parameter, unescaped. */
    const plainSegment = (segment: string): boolean => segment !== '' && !/[/%]/.test(segment) && segment !== 'uploads';

    await runProperty(
      'digests',
      fc.asyncProperty(
        fc.oneof(
          { weight: 6, arbitrary: anyDigest },
          { weight: 1, arbitrary: fc.constantFrom(...knownBlobs.keys(), image.manifest.digest, bodyDigest) },
        ),
        async (digest) => {
          const inPath = encodeUnsafe(digest);
          const inQuery = encodeURIComponent(digest);
          const accepted = isAcceptedDigest(digest);
          const plain = plainSegment(inPath);
          const checks: Promise<void>[] = [];

          // GET and HEAD a blob of the known repository.
          for (const method of ['GET', 'HEAD'] as const) {
            checks.push(
              (async () => {
                const path = `/v2/${KNOWN_REPO}/blobs/${inPath}`;
                const context = describeRequest(method, path);
                const outcome = await sendWire(target, 'digests', wireRequest(target, method, path), { method });
                const { status, codes, response } = checkWireAnswer(outcome, method, context);
                const known = readableAsBlob.get(digest);
                if (accepted && known) {
                  assert.equal(status, 200, context);
                  assert.equal(response.headers['content-length'], String(known.length), context);
                  if (method === 'GET') assert.ok(response.body.equals(known), `bytes differ: ${context}`);
                } else if (accepted) {
                  assert.equal(status, 404, context);
                  if (method === 'GET') expectCodes(codes, status, ['BLOB_UNKNOWN'], context);
                } else {
                  assert.ok(status >= 400, `invalid digest accepted: ${context} -> ${status}`);
                  if (method === 'GET') expectCodes(codes, status, plain ? ['DIGEST_INVALID'] : loose, context);
                  if (plain) assert.equal(status, 400, context);
                }
              })(),
            );
          }

          // GET a manifest of the known repository by this "digest".
          checks.push(
            (async () => {
              const path = `/v2/${KNOWN_REPO}/manifests/${inPath}`;
              const context = describeRequest('GET', path);
              const response = await send(target, 'digests', 'GET', path);
              const codes = checkAnswer(response, 'GET', context);
              if (accepted && digest === image.manifest.digest) {
                assert.equal(response.status, 200, context);
                assert.ok(response.body.equals(image.manifest.bytes), `bytes differ: ${context}`);
              } else if (accepted) {
                assert.equal(response.status, 404, context);
                expectCodes(codes, response.status, ['MANIFEST_UNKNOWN'], context);
              } else if (plain && digest.includes(':')) {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              } else if (plain && digest === KNOWN_TAG) {
                assert.equal(response.status, 200, context);
              } else if (plain) {
                // Not a valid tag either: it names no manifest (404, as Distribution answers).
                assert.equal(response.status, 404, context);
                expectCodes(codes, response.status, ['MANIFEST_UNKNOWN'], context);
              } else {
                assert.ok(response.status >= 400, `${context} -> ${response.status}`);
                expectCodes(codes, response.status, loose, context);
              }
            })(),
          );

          // DELETE a blob and a manifest in a repository that holds the known blobs only.
          for (const kind of ['blobs', 'manifests'] as const) {
            checks.push(
              (async () => {
                const path = `/v2/${DELETES_REPO}/${kind}/${inPath}`;
                const context = describeRequest('DELETE', path);
                const response = await send(target, 'digests', 'DELETE', path);
                const codes = checkAnswer(response, 'DELETE', context);
                const unknown = kind === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
                if (accepted) {
                  // A known blob may be unlinked once (202); anything else is unknown there.
                  if (response.status < 400) {
                    assert.ok(
                      kind === 'blobs' && knownBlobs.has(digest) && response.status === 202,
                      `DELETE succeeded: ${context} -> ${response.status}`,
                    );
                  } else {
                    assert.equal(response.status, 404, context);
                    expectCodes(codes, response.status, [unknown], context);
                  }
                } else if (plain && (kind === 'blobs' || digest.includes(':'))) {
                  assert.equal(response.status, 400, context);
                  expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
                } else if (plain) {
                  // A tag, valid or not, that names nothing here.
                  assert.equal(response.status, 404, context);
                  expectCodes(codes, response.status, [unknown], context);
                } else {
                  assert.ok(response.status >= 400, `${context} -> ${response.status}`);
                  expectCodes(codes, response.status, loose, context);
                }
              })(),
            );
          }

          // The referrers of this "digest" in the known repository.
          checks.push(
            (async () => {
              const path = `/v2/${KNOWN_REPO}/referrers/${inPath}`;
              const context = describeRequest('GET', path);
              const response = await send(target, 'digests', 'GET', path);
              const codes = checkAnswer(response, 'GET', context);
              if (accepted) {
                assert.equal(response.status, 200, context);
                assert.equal(header(response, 'content-type'), MEDIA.ociIndex, context);
                const index = JSON.parse(response.body.toString()) as { schemaVersion?: unknown; manifests?: unknown };
                assert.equal(index.schemaVersion, 2, context);
                assert.ok(Array.isArray(index.manifests), context);
              } else if (plain) {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              } else {
                assert.ok(response.status >= 400, `${context} -> ${response.status}`);
                expectCodes(codes, response.status, loose, context);
              }
            })(),
          );

          // Complete an upload session with ?digest=.
          checks.push(
            (async () => {
              const start = await send(target, 'digests', 'POST', `/v2/${DIGESTS_REPO}/blobs/uploads/`, {
                headers: { 'content-length': '0' },
              });
              assert.equal(start.status, 202);
              const location = header(start, 'location') ?? '';
              const path = `${location}?digest=${inQuery}`;
              const context = describeRequest('PUT', path);
              const response = await send(target, 'digests', 'PUT', path, {
                body: bodyBytes,
                headers: { 'content-type': 'application/octet-stream' },
              });
              const codes = checkAnswer(response, 'PUT', context);
              if (digest === bodyDigest) assert.equal(response.status, 201, context);
              else {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              }
            })(),
          );

          // Monolithic POST ?digest=, and a mount from the known repository.
          checks.push(
            (async () => {
              const path = `/v2/${DIGESTS_REPO}/blobs/uploads/?digest=${inQuery}`;
              const context = describeRequest('POST', path);
              const response = await send(target, 'digests', 'POST', path, {
                body: bodyBytes,
                headers: { 'content-type': 'application/octet-stream' },
              });
              const codes = checkAnswer(response, 'POST', context);
              if (digest === bodyDigest) assert.equal(response.status, 201, context);
              else {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              }
            })(),
            (async () => {
              const path = `/v2/${DIGESTS_REPO}/blobs/uploads/?mount=${inQuery}&from=${KNOWN_REPO}`;
              const context = describeRequest('POST', path);
              const response = await send(target, 'digests', 'POST', path, { headers: { 'content-length': '0' } });
              const codes = checkAnswer(response, 'POST', context);
              if (accepted && knownBlobs.has(digest)) {
                assert.equal(response.status, 201, context);
                assert.equal(header(response, 'docker-content-digest'), digest, context);
              } else if (accepted) {
                // Not mountable: an ordinary upload session starts (a manifest digest may mount).
                assert.ok(
                  response.status === 202 || (response.status === 201 && digest === image.manifest.digest),
                  `${context} -> ${response.status}`,
                );
              } else {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              }
            })(),
          );

          // PUT a valid manifest with this reference.
          checks.push(
            (async () => {
              const path = `/v2/${DIGESTS_REPO}/manifests/${inPath}`;
              const context = describeRequest('PUT', path);
              const response = await send(target, 'digests', 'PUT', path, {
                body: manifestBytes,
                headers: { 'content-type': MEDIA.ociManifest },
              });
              const codes = checkAnswer(response, 'PUT', context);
              const matches = digest === sha256(manifestBytes) || digest === sha512(manifestBytes);
              if (accepted) {
                assert.equal(response.status, matches ? 201 : 400, context);
                if (!matches) expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              } else if (plain && digest.includes(':')) {
                assert.equal(response.status, 400, context);
                expectCodes(codes, response.status, ['DIGEST_INVALID'], context);
              } else if (plain) {
                // No colon: a tag.
                if (isValidTag(digest)) assert.equal(response.status, 201, context);
                else expectCodes(codes, response.status, ['TAG_INVALID'], context);
              } else {
                assert.ok(response.status >= 400, `${context} -> ${response.status}`);
                expectCodes(codes, response.status, loose, context);
              }
            })(),
          );
          await Promise.all(checks);
        },
      ),
      220,
    );
  });

  // ---- Range headers on the known blob -----------------------------------------------------

  it('ranges: blob GETs answer 200, 206 with exactly the bytes asked for, or 416', async () => {
    const layer = image.layers[0];
    assert.ok(layer);
    const size = layer.bytes.length;
    const path = `/v2/${KNOWN_REPO}/blobs/${layer.digest}`;

    /** What RFC 9110 allows for a single well-formed range: the whole blob, a slice, or 416. */
    function allowed(range: StructuredRange): { full: boolean; unsatisfiable: boolean; slice?: [number, number] } {
      const n = (value: string): bigint => BigInt(value);
      const last = BigInt(size - 1);
      const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
      switch (range.kind) {
        case 'from-to': {
          const first = n(range.first);
          const end = n(range.last);
          // last < first makes the range invalid: a server may ignore (200) or refuse (416) it.
          if (end < first) return { full: true, unsatisfiable: true };
          if (first > last) return { full: false, unsatisfiable: true };
          return { full: false, unsatisfiable: false, slice: [Number(first), Number(min(end, last))] };
        }
        case 'from': {
          const first = n(range.first);
          if (first > last) return { full: false, unsatisfiable: true };
          return { full: false, unsatisfiable: false, slice: [Number(first), size - 1] };
        }
        case 'suffix': {
          const length = n(range.last);
          if (length === 0n) return { full: false, unsatisfiable: true };
          const start = BigInt(size) - length;
          return { full: false, unsatisfiable: false, slice: [start < 0n ? 0 : Number(start), size - 1] };
        }
      }
    }

    function checkRangeAnswer(response: HttpResponse, rangeHeader: string): void {
      const context = describeRequest('GET', path, ` Range: ${JSON.stringify(rangeHeader.slice(0, 200))}`);
      const codes = checkAnswer(response, 'GET', context);
      assert.ok([200, 206, 416].includes(response.status), `${context} -> ${response.status}`);
      if (response.status === 200) {
        assert.ok(response.body.equals(layer!.bytes), `200 with the wrong bytes: ${context}`);
      } else if (response.status === 206) {
        const contentRange = header(response, 'content-range') ?? '';
        const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange);
        assert.ok(match, `206 without a valid Content-Range (${contentRange}): ${context}`);
        const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
        assert.equal(total, size, context);
        assert.ok(start <= end && end < size, `bad Content-Range ${contentRange}: ${context}`);
        assert.equal(header(response, 'content-length'), String(end - start + 1), context);
        assert.ok(response.body.equals(layer!.bytes.subarray(start, end + 1)), `206 with the wrong bytes: ${context}`);
      } else {
        expectCodes(codes, 416, ['RANGE_INVALID'], context);
        assert.equal(header(response, 'content-range'), `bytes */${size}`, context);
      }
    }

    await runProperty(
      'ranges',
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: fc.tuple(structuredRange(size), fc.constantFrom('bytes', 'bytes', 'bytes', 'BYTES', 'Bytes')) },
          { weight: 2, arbitrary: arbitraryRangeHeader },
        ),
        async (choice) => {
          const rangeHeader = typeof choice === 'string' ? choice : rangeHeaderOf(choice[0], choice[1]);
          const response = await send(target, 'ranges', 'GET', path, { headers: { range: rangeHeader } });
          checkRangeAnswer(response, rangeHeader);
          if (typeof choice !== 'string') {
            const expected = allowed(choice[0]);
            const context = `Range: ${rangeHeader} on a ${size}-byte blob -> ${response.status} ${header(response, 'content-range') ?? ''}`;
            if (expected.slice) {
              assert.equal(response.status, 206, context);
              assert.equal(header(response, 'content-range'), `bytes ${expected.slice[0]}-${expected.slice[1]}/${size}`, context);
            } else {
              assert.ok((expected.full && response.status === 200) || (expected.unsatisfiable && response.status === 416), context);
            }
          }
        },
      ),
      700,
    );
  });

  // ---- Query strings -------------------------------------------------------------------------

  it('queries: pagination, mount/from/digest and repeated tag= parameters', async () => {
    const knownBlobDigests = blobsOf(image).map((blob) => blob.digest);
    const pairs = (keys: Arbitrary<string>, values: Arbitrary<string>): Arbitrary<string> =>
      fc.array(fc.tuple(keys, values), { maxLength: 5 }).map((list) => list.map(([k, v]) => `${k}=${v}`).join('&'));

    type QueryCase =
      | { readonly kind: 'referrers'; readonly query: string }
      | { readonly kind: 'tags'; readonly query: string }
      | { readonly kind: 'catalog'; readonly query: string }
      | { readonly kind: 'upload'; readonly query: string }
      | { readonly kind: 'tag-params'; readonly reference: string; readonly query: string };

    const listQuery = pairs(
      fc.constantFrom('n', 'n', 'last', 'N', 'x', '', 'n[]', 'last'),
      fc.oneof(queryValue(paginationNumber), queryValue(anyTagLike)),
    );
    const uploadQuery = pairs(
      fc.constantFrom('mount', 'from', 'digest', 'mount', 'from', 'Mount'),
      fc.oneof(
        queryValue(
          fc.constantFrom(...knownBlobDigests, KNOWN_REPO, EMPTY_SHA256, 'fuzz/nowhere', KNOWN_REPO.toUpperCase(), '../fuzz/known'),
        ),
        queryValue(anyDigest),
        queryValue(anyName),
      ),
    );
    const tagValue = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,15}$/) },
      { weight: 1, arbitrary: anyTagLike },
    );
    const queryCase: Arbitrary<QueryCase> = fc.oneof(
      fc.record({ kind: fc.constantFrom('tags' as const, 'catalog' as const), query: listQuery }),
      fc.record({
        kind: fc.constant('referrers' as const),
        query: fc.oneof(
          listQuery,
          pairs(fc.constantFrom('artifactType', 'artifacttype', 'n'), fc.oneof(queryValue(anyTagLike), queryValue(paginationNumber))),
        ),
      }),
      fc.record({ kind: fc.constant('upload' as const), query: uploadQuery }),
      fc.record({
        kind: fc.constant('tag-params' as const),
        reference: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/),
        query: fc.array(queryValue(tagValue), { minLength: 1, maxLength: 12 }).map((tags) => tags.map((t) => `tag=${t}`).join('&')),
      }),
    );

    /** The n parameter as the registry must judge it; undefined when absent. */
    function pageSize(params: URLSearchParams): number | 'invalid' | undefined {
      const n = params.get('n');
      if (n === null || n === '') return undefined;
      if (!/^\d{1,9}$/.test(n) || Number(n) > PAGINATION_MAX_ENTRIES) return 'invalid';
      return Number(n);
    }

    await runProperty(
      'queries',
      fc.asyncProperty(queryCase, async (c) => {
        const params = new URLSearchParams(c.query);
        if (c.kind === 'referrers') {
          const path = `/v2/${KNOWN_REPO}/referrers/${image.manifest.digest}?${c.query}`;
          const context = describeRequest('GET', path);
          const response = await send(target, 'queries', 'GET', path);
          const codes = checkAnswer(response, 'GET', context);
          if (response.status === 431 && path.length > 15_000) return;
          if (pageSize(params) === 'invalid') {
            assert.equal(response.status, 400, context);
            expectCodes(codes, 400, ['PAGINATION_NUMBER_INVALID'], context);
            return;
          }
          assert.equal(response.status, 200, `${context}: ${response.body.toString().slice(0, 300)}`);
          const index = JSON.parse(response.body.toString()) as { manifests?: unknown };
          assert.deepEqual(index.manifests, [], context);
          return;
        }
        if (c.kind === 'tags' || c.kind === 'catalog') {
          const path = c.kind === 'tags' ? `/v2/${KNOWN_REPO}/tags/list?${c.query}` : `/v2/_catalog?${c.query}`;
          const context = describeRequest('GET', path);
          const response = await send(target, 'queries', 'GET', path);
          const codes = checkAnswer(response, 'GET', context);
          if (response.status === 431 && path.length > 15_000) return;
          const n = pageSize(params);
          if (n === 'invalid') {
            assert.equal(response.status, 400, context);
            expectCodes(codes, 400, ['PAGINATION_NUMBER_INVALID'], context);
            return;
          }
          assert.equal(response.status, 200, `${context}: ${response.body.toString().slice(0, 300)}`);
          const body = JSON.parse(response.body.toString()) as { name?: unknown; tags?: unknown; repositories?: unknown };
          const list = c.kind === 'tags' ? body.tags : body.repositories;
          assert.ok(Array.isArray(list) && list.every((item) => typeof item === 'string'), context);
          const limit = n ?? (c.kind === 'catalog' ? CATALOG_DEFAULT_ENTRIES : Infinity);
          assert.ok(list.length <= limit, `${list.length} entries for n=${String(n)}: ${context}`);
          const last = params.get('last');
          if (c.kind === 'tags') {
            assert.equal(body.name, KNOWN_REPO, context);
            const expected = (last === null || last < KNOWN_TAG) && limit >= 1 ? [KNOWN_TAG] : [];
            // `last` compares as the index orders tags; only assert when it is plain ASCII.
            if (last === null || /^[\x20-\x7e]*$/.test(last)) assert.deepEqual(list, expected, context);
          }
          return;
        }

        if (c.kind === 'upload') {
          const path = `/v2/${QUERIES_REPO}/blobs/uploads/?${c.query}`;
          const context = describeRequest('POST', path);
          const response = await send(target, 'queries', 'POST', path, { headers: { 'content-length': '0' } });
          const codes = checkAnswer(response, 'POST', context);
          // A request line near Node's 16 KiB header limit is refused before any parameter is read.
          if (response.status === 431 && path.length > 15_000) return;
          const mount = params.get('mount');
          const from = params.get('from');
          const digest = params.get('digest');
          let expected: { status: number; code?: string } | undefined;
          if (mount !== null && from !== null) {
            if (!isAcceptedDigest(mount)) expected = { status: 400, code: 'DIGEST_INVALID' };
            else if (!isValidName(from)) expected = { status: 400, code: 'NAME_INVALID' };
            else if (from === KNOWN_REPO && knownBlobDigests.includes(mount)) expected = { status: 201 };
          }
          if (expected === undefined && digest !== null) {
            if (!isAcceptedDigest(digest)) expected = { status: 400, code: 'DIGEST_INVALID' };
            else expected = digest === EMPTY_SHA256 ? { status: 201 } : { status: 400, code: 'DIGEST_INVALID' };
          }
          expected ??= { status: 202 };
          assert.equal(response.status, expected.status, `${context}: ${response.body.toString().slice(0, 300)}`);
          if (expected.code) expectCodes(codes, response.status, [expected.code], context);
          return;
        }

        // Repeated tag= parameters on a manifest PUT.
        const manifestBytes = Buffer.from(JSON.stringify(baseManifest()));
        const path = `/v2/${QUERIES_REPO}/manifests/${c.reference}?${c.query}`;
        const context = describeRequest('PUT', path);
        const response = await send(target, 'queries', 'PUT', path, {
          body: manifestBytes,
          headers: { 'content-type': MEDIA.ociManifest },
        });
        const codes = checkAnswer(response, 'PUT', context);
        if (response.status === 431 && path.length > 15_000) return;
        const tags = params.getAll('tag');
        if (tags.length > MAX_TAGS_PER_PUSH || !tags.every(isValidTag)) {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, ['TAG_INVALID'], context);
          return;
        }
        assert.equal(response.status, 201, `${context}: ${response.body.toString().slice(0, 300)}`);
        const digest = sha256(manifestBytes);
        assert.equal(header(response, 'docker-content-digest'), digest, context);
        for (const tag of new Set([c.reference, ...tags])) {
          const read = await send(target, 'queries', 'GET', `/v2/${QUERIES_REPO}/manifests/${tag}`, {
            headers: { accept: MANIFEST_TYPES.join(', ') },
          });
          assert.equal(read.status, 200, `tag ${tag} after ${context}`);
          assert.ok(read.body.equals(manifestBytes), `tag ${tag} serves other bytes after ${context}`);
        }
      }),
      500,
    );
  });

  // ---- Manifests -----------------------------------------------------------------------------

  it('manifests: junk and mutated manifests get 4xx, valid ones 201 and are served byte-for-byte', async () => {
    const unknownDigest = hex(64).map((h) => `sha256:${h}`);
    type Body =
      | { readonly kind: 'mutated'; readonly mutations: readonly Mutation[]; readonly indent: number | string | undefined }
      | { readonly kind: 'junk'; readonly bytes: Buffer };
    const body: Arbitrary<Body> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('mutated' as const),
          mutations: fc.array(manifestMutation(unknownDigest, fc.oneof(fc.constant(image.manifest.digest), unknownDigest)), {
            maxLength: 3,
          }),
          indent: fc.constantFrom<number | string | undefined>(undefined, undefined, 2, '\t', ' '),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('junk' as const), bytes: junkManifestBody }) },
    );
    const reference = fc.oneof(
      { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,12}$/).map((tag) => ({ kind: 'tag' as const, tag })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('right-sha256' as const, 'right-sha512' as const, 'wrong' as const).map((kind) => ({ kind })),
      },
    );

    function combine(...parts: Expectation[]): Expectation {
      if (parts.includes('invalid')) return 'invalid';
      return parts.includes('either') ? 'either' : 'valid';
    }

    /** What the Content-Type does to an otherwise valid image manifest with this mediaType. */
    function contentTypeEffect(contentType: string | undefined, declared: unknown): Expectation {
      const bare = contentType?.split(';')[0]?.trim().toLowerCase();
      if (!bare || !MANIFEST_TYPES.includes(bare)) return 'valid';
      if (bare === MEDIA.ociIndex || bare === MEDIA.dockerList) return 'invalid';
      if (declared === undefined || declared === bare) return 'valid';
      return 'invalid';
    }

    await runProperty(
      'manifests',
      fc.asyncProperty(body, manifestContentType, reference, async (b, contentType, ref) => {
        let bytes: Buffer;
        let expect: Expectation;
        let document: Record<string, unknown> | undefined;
        if (b.kind === 'mutated') {
          document = baseManifest();
          const effective = applyMutations(document, b.mutations);
          const nesting = effective.find((m) => m.raw !== undefined);
          bytes = Buffer.from(serialise(document, b.indent, nesting?.raw));
          expect = combine(...effective.map((m) => m.expect), contentTypeEffect(contentType, document.mediaType));
        } else {
          bytes = b.bytes;
          let schemaVersion: unknown;
          try {
            schemaVersion = (JSON.parse(bytes.toString()) as { schemaVersion?: unknown } | null)?.schemaVersion;
          } catch {
            schemaVersion = undefined;
          }
          expect = schemaVersion === 2 ? 'either' : 'invalid';
        }
        const referenceText =
          ref.kind === 'tag'
            ? ref.tag
            : ref.kind === 'right-sha256'
              ? sha256(bytes)
              : ref.kind === 'right-sha512'
                ? sha512(bytes)
                : sha256(`not ${bytes.length}`);
        if (ref.kind === 'wrong') expect = 'invalid';
        const path = `/v2/${MANIFESTS_REPO}/manifests/${referenceText}`;
        const headers: Record<string, string> = {};
        if (contentType !== undefined) headers['content-type'] = contentType;
        const mutationNames = b.kind === 'mutated' ? b.mutations.map((m) => m.name).join('; ') : 'junk';
        const context = describeRequest(
          'PUT',
          path,
          ` Content-Type: ${JSON.stringify(contentType)} [${mutationNames}] body ${bytes.subarray(0, 300).toString()}`,
        );
        let response: { status: number; headers: Readonly<Record<string, string | string[] | undefined>>; body: Buffer };
        let codes: string[];
        if (bytes.length > 1024 * 1024) {
          // Large bodies on a bare socket: the server may answer 413 while they are still being sent.
          const request = wireRequest(target, 'PUT', path, Object.entries(headers), bytes, { connection: 'keep-alive' });
          const outcome = await sendWire(target, 'manifests', request, { method: 'PUT', untilFirstResponse: true });
          const checked = checkWireAnswer(outcome, 'PUT', context);
          response = checked.response;
          codes = checked.codes;
        } else {
          response = await send(target, 'manifests', 'PUT', path, { headers, body: bytes });
          codes = checkAnswer(response, 'PUT', context);
        }
        if (expect === 'valid') assert.equal(response.status, 201, `${context} -> ${response.body.toString().slice(0, 300)}`);
        if (expect === 'invalid') {
          assert.ok(response.status >= 400, `invalid manifest accepted: ${context} -> ${response.status}`);
          expectCodes(
            codes,
            response.status,
            ['MANIFEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'DIGEST_INVALID', 'SIZE_INVALID', 'TAG_INVALID'],
            context,
          );
        }
        if (response.status === 201) {
          const digest = ref.kind === 'right-sha512' ? sha512(bytes) : sha256(bytes);
          assert.equal(header(response, 'docker-content-digest'), digest, context);
          const read = await send(target, 'manifests', 'GET', `/v2/${MANIFESTS_REPO}/manifests/${digest}`, {
            headers: { accept: MANIFEST_TYPES.join(', ') },
          });
          assert.equal(read.status, 200, `read back: ${context}`);
          assert.ok(read.body.equals(bytes), `manifest not served byte-for-byte: ${context}`);
          assert.equal(header(read, 'docker-content-digest'), digest);
          // A manifest with a subject is announced (OCI-Subject) and listed among the referrers.
          const subject = document?.subject as { digest?: unknown } | undefined;
          if (b.kind === 'mutated' && typeof subject?.digest === 'string') {
            assert.equal(header(response, 'oci-subject'), subject.digest, `OCI-Subject: ${context}`);
            const referrers = await send(target, 'manifests', 'GET', `/v2/${MANIFESTS_REPO}/referrers/${subject.digest}`);
            assert.equal(referrers.status, 200, `referrers after ${context}`);
            const index = JSON.parse(referrers.body.toString()) as { manifests?: { digest?: unknown; artifactType?: unknown }[] };
            const listed = index.manifests?.find((m) => m.digest === digest);
            assert.ok(listed, `${digest} not among the referrers of ${subject.digest}: ${context}`);
            if (typeof document?.artifactType === 'string') assert.equal(listed.artifactType, document.artifactType, context);
          }
        }
      }),
      450,
    );
  });

  it('manifests: bodies around and over the size limit (Content-Length and chunked)', async () => {
    await runProperty(
      'manifest-sizes',
      fc.asyncProperty(
        fc.constantFrom(MANIFEST_MAX_BYTES - 1000, MANIFEST_MAX_BYTES + 1, MANIFEST_MAX_BYTES + 4096, 5 * 1024 * 1024),
        fc.boolean(),
        fc.constantFrom('keep-alive' as const, 'close' as const),
        async (size, chunked, connection) => {
          const document = baseManifest();
          const skeleton = JSON.stringify({ ...document, annotations: { pad: '' } });
          const bytes = Buffer.from(JSON.stringify({ ...document, annotations: { pad: 'x'.repeat(Math.max(0, size - skeleton.length)) } }));
          const path = `/v2/${MANIFESTS_REPO}/manifests/size-${size}`;
          const context = describeRequest('PUT', path, ` ${bytes.length} bytes${chunked ? ' chunked' : ''} Connection: ${connection}`);
          // The bare-socket client keeps whatever the server answered even when it closes the
          // connection while the body is still being written (node:http reports only EPIPE then).
          const request = chunked
            ? wireRequest(
                target,
                'PUT',
                path,
                [
                  ['Content-Type', MEDIA.ociManifest],
                  ['Transfer-Encoding', 'chunked'],
                ],
                chunkedBody(bytes),
                { contentLength: false, connection },
              )
            : wireRequest(target, 'PUT', path, [['Content-Type', MEDIA.ociManifest]], bytes, { connection });
          const outcome = await sendWire(target, 'manifests', request, { method: 'PUT', untilFirstResponse: true });
          const tooLarge = bytes.length > MANIFEST_MAX_BYTES;
          const { status, codes } = checkWireAnswer(outcome, 'PUT', context);
          if (!tooLarge) assert.equal(status, 201, context);
          else {
            assert.equal(status, 413, context);
            expectCodes(codes, 413, ['SIZE_INVALID'], context);
          }
        },
      ),
      12,
    );
  });

  // ---- Upload chunk sequences against a model ------------------------------------------------

  it('chunks: random upload sequences behave like a simple model', async () => {
    let runNumber = 0;

    interface SessionModel {
      readonly path: string;
      data: Buffer;
      open: boolean;
    }
    interface UploadModel {
      readonly repo: string;
      readonly sessions: SessionModel[];
      readonly committed: Map<string, Buffer>;
    }
    type Real = Target;
    type Cmd = AsyncCommand<UploadModel, Real>;
    type RangeMode = 'none' | 'right' | 'wrong' | 'garbage' | 'mismatch' | 'total';
    type DigestMode = 'right-sha256' | 'right-sha512' | 'wrong' | 'malformed' | 'missing';

    const rangeHeaderFor = (mode: RangeMode, offset: number, length: number, shift: number, garbage: string): string | undefined => {
      switch (mode) {
        case 'none':
          return undefined;
        case 'right':
          return `${offset}-${offset + length - 1}`;
        case 'total':
          return `bytes ${offset}-${offset + length - 1}/${shift % 2 === 0 ? '*' : offset + length + shift}`;
        case 'wrong': {
          const start = shift % 2 === 0 || offset === 0 ? offset + 1 + shift : Math.max(0, offset - 1 - (shift % offset));
          return `${start}-${start + length - 1}`;
        }
        case 'mismatch':
          return `${offset}-${offset + length + (shift % 5)}`;
        case 'garbage':
          return garbage;
      }
    };

    /** The registry's expected verdict on a chunk's headers, before it looks at the session. */
    const headerVerdict = (mode: RangeMode, length: number): string | undefined => {
      if (mode === 'none') return undefined;
      if (mode === 'garbage') return 'BLOB_UPLOAD_INVALID';
      // A well-formed range whose length differs from Content-Length.
      if (mode === 'mismatch') return 'SIZE_INVALID';
      // A zero-length chunk cannot have a well-formed range (end before start).
      if (length === 0) return 'BLOB_UPLOAD_INVALID';
      return undefined;
    };

    const garbageRange = fc.oneof(
      fc.constantFrom(
        '',
        ' ',
        'bytes=0-1',
        'abc',
        '-1-5',
        '5',
        '5-',
        '-5',
        '1-2-3',
        'bytes */5',
        '0-1/0',
        '0-1/1',
        '10-5',
        '0x1-0x2',
        '1e2-1e3',
        '9999999999999999-99999999999999999',
      ),
      fc.stringMatching(/^[a-z=*/ ]{1,12}$/),
    );

    const sessionPath = (model: UploadModel, index: number): SessionModel | undefined =>
      model.sessions.length === 0 ? undefined : model.sessions[index % model.sessions.length];

    const rangeValue = (size: number): string => `0-${Math.max(0, size - 1)}`;

    const readBlob = async (real: Real, repo: string, digest: string, bytes: Buffer | undefined, context: string): Promise<void> => {
      const response = await send(real, 'chunks', 'GET', `/v2/${repo}/blobs/${digest}`);
      const codes = checkAnswer(response, 'GET', context);
      if (bytes) {
        assert.equal(response.status, 200, `committed blob not readable: ${context}`);
        assert.ok(response.body.equals(bytes), `committed blob has other bytes: ${context}`);
      } else {
        assert.equal(response.status, 404, `blob readable after a failed upload: ${context}`);
        expectCodes(codes, 404, ['BLOB_UNKNOWN'], context);
      }
    };

    class Start implements Cmd {
      check(model: Readonly<UploadModel>): boolean {
        return model.sessions.length < 5;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const response = await send(real, 'chunks', 'POST', `/v2/${model.repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
        checkAnswer(response, 'POST', 'start');
        assert.equal(response.status, 202);
        assert.equal(header(response, 'range'), '0-0');
        const location = header(response, 'location');
        const id = header(response, 'docker-upload-uuid');
        assert.ok(location && id && location.endsWith(`/blobs/uploads/${id}`), `Location ${String(location)}`);
        model.sessions.push({ path: new URL(location, real.registry.url).pathname, data: Buffer.alloc(0), open: true });
      }
      toString(): string {
        return 'POST';
      }
    }

    /** The upload's size from its status (Range "0-<last>"); needs a size of at least 1 to be exact. */
    const settledRange = async (real: Real, session: SessionModel): Promise<string | undefined> => {
      // Status does not wait for a chunk still being written: read until two reads agree.
      let previous: string | undefined;
      for (let attempt = 0; attempt < 40; attempt++) {
        const response = await send(real, 'chunks', 'GET', session.path);
        const range = response.status === 204 ? header(response, 'range') : `status ${response.status}`;
        if (range === previous) return range;
        previous = range;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return previous;
    };

    class Patch implements Cmd {
      constructor(
        readonly index: number,
        readonly chunk: Buffer,
        readonly mode: RangeMode,
        readonly shift: number,
        readonly garbage: string,
        /** Send the chunk with Transfer-Encoding: chunked (no Content-Length to check up front). */
        readonly chunkedEncoding: boolean,
      ) {}
      check(model: Readonly<UploadModel>): boolean {
        return model.sessions.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index)!;
        // One byte of growth from an empty upload is invisible in Range ("0-0" either way).
        const chunked = this.chunkedEncoding && this.chunk.length >= 2;
        const contentRange = rangeHeaderFor(this.mode, session.data.length, this.chunk.length, this.shift, this.garbage);
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
        if (chunked) headers['transfer-encoding'] = 'chunked';
        else headers['content-length'] = String(this.chunk.length);
        if (contentRange !== undefined) headers['content-range'] = contentRange;
        const context = `${this.toString()} at offset ${session.data.length} (open: ${session.open}) Content-Range: ${String(contentRange)}`;
        const response = await send(real, 'chunks', 'PATCH', session.path, { headers, body: this.chunk });
        const codes = checkAnswer(response, 'PATCH', context);
        // Without Content-Length a length mismatch shows only once the body has arrived.
        const lateMismatch = chunked && this.mode === 'mismatch';
        const headerError = lateMismatch ? undefined : headerVerdict(this.mode, this.chunk.length);
        if (headerError) {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, [headerError], context);
        } else if (!session.open) {
          assert.equal(response.status, 404, context);
          expectCodes(codes, 404, ['BLOB_UPLOAD_UNKNOWN'], context);
        } else if (this.mode === 'wrong') {
          assert.equal(response.status, 416, context);
          expectCodes(codes, 416, ['RANGE_INVALID'], context);
          assert.equal(header(response, 'range'), rangeValue(session.data.length), context);
        } else if (lateMismatch) {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, ['SIZE_INVALID'], context);
          // A refused chunk must leave the upload as it was.
          const range = await settledRange(real, session);
          assert.equal(range, rangeValue(session.data.length), `refused chunk changed the upload: ${context}`);
        } else {
          assert.equal(response.status, 202, `${context}: ${response.body.toString()}`);
          session.data = Buffer.concat([session.data, this.chunk]);
          assert.equal(header(response, 'range'), rangeValue(session.data.length), context);
          assert.equal(header(response, 'location'), session.path, context);
        }
      }
      toString(): string {
        return `PATCH #${this.index} ${this.chunk.length} bytes${this.chunkedEncoding ? ' chunked' : ''} ${this.mode}${this.mode === 'garbage' ? ` ${JSON.stringify(this.garbage)}` : ''}`;
      }
    }

    /** A chunk whose connection drops part-way: the bytes that arrived may stay, and the upload goes on. */
    class AbortedPatch implements Cmd {
      constructor(
        readonly index: number,
        readonly chunk: Buffer,
        readonly sent: number,
      ) {}
      check(model: Readonly<UploadModel>): boolean {
        const session = sessionPath(model as UploadModel, this.index);
        // A non-empty upload, so that Range tells the new size exactly.
        return session?.open === true && session.data.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index)!;
        const sent = Math.min(this.sent, this.chunk.length - 1);
        const request = wireRequest(
          real,
          'PATCH',
          session.path,
          [
            ['Content-Length', String(this.chunk.length)],
            ['Content-Type', 'application/octet-stream'],
          ],
          this.chunk.subarray(0, sent),
          {
            contentLength: false,
          },
        );
        const outcome = await sendWire(real, 'chunks', request, { method: 'PATCH', timeoutMs: 150 });
        if (outcome.kind === 'response') checkAnswer(outcome.response, 'PATCH', this.toString());
        const range = await settledRange(real, session);
        const match = /^0-(\d+)$/.exec(range ?? '');
        assert.ok(match, `status after an aborted chunk: ${String(range)}`);
        const kept = Number(match[1]) + 1 - session.data.length;
        assert.ok(kept >= 0 && kept <= sent, `${kept} bytes kept of ${sent} sent: ${this.toString()}`);
        session.data = Buffer.concat([session.data, this.chunk.subarray(0, kept)]);
      }
      toString(): string {
        return `PATCH #${this.index} aborted after ${this.sent} of ${this.chunk.length} bytes`;
      }
    }

    class Put implements Cmd {
      constructor(
        readonly index: number,
        readonly chunk: Buffer | undefined,
        readonly digestMode: DigestMode,
        readonly mode: RangeMode,
        readonly shift: number,
        readonly garbage: string,
      ) {}
      check(model: Readonly<UploadModel>): boolean {
        return model.sessions.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index)!;
        const chunk = this.chunk ?? Buffer.alloc(0);
        const complete = Buffer.concat([session.data, chunk]);
        const digest =
          this.digestMode === 'right-sha256'
            ? sha256(complete)
            : this.digestMode === 'right-sha512'
              ? sha512(complete)
              : this.digestMode === 'wrong'
                ? sha256(Buffer.concat([complete, Buffer.from('x')]))
                : this.digestMode === 'malformed'
                  ? `sha256:${sha256(complete).slice(7, 40)}`
                  : undefined;
        const query = digest === undefined ? '' : `?digest=${encodeURIComponent(digest)}`;
        const contentRange = rangeHeaderFor(this.mode, session.data.length, chunk.length, this.shift, this.garbage);
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
        if (this.chunk !== undefined) headers['content-length'] = String(chunk.length);
        if (contentRange !== undefined) headers['content-range'] = contentRange;
        const context = `${this.toString()} at offset ${session.data.length} (open: ${session.open}) Content-Range: ${String(contentRange)}`;
        const response = await send(real, 'chunks', 'PUT', `${session.path}${query}`, {
          headers,
          ...(this.chunk !== undefined ? { body: this.chunk } : {}),
        });
        const codes = checkAnswer(response, 'PUT', context);
        const headerError = headerVerdict(this.mode, chunk.length);
        if (!session.open) {
          assert.equal(response.status, 404, context);
          expectCodes(codes, 404, ['BLOB_UPLOAD_UNKNOWN'], context);
        } else if (this.digestMode === 'malformed' || this.digestMode === 'missing') {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, ['DIGEST_INVALID'], context);
        } else if (headerError) {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, [headerError], context);
        } else if (this.mode === 'wrong' && chunk.length > 0) {
          assert.equal(response.status, 416, context);
          expectCodes(codes, 416, ['RANGE_INVALID'], context);
        } else if (this.digestMode === 'wrong') {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, ['DIGEST_INVALID'], context);
          session.open = false;
          assert.ok(digest);
          if (!model.committed.has(digest)) await readBlob(real, model.repo, digest, undefined, context);
        } else {
          assert.equal(response.status, 201, `${context}: ${response.body.toString()}`);
          assert.ok(digest);
          assert.equal(header(response, 'docker-content-digest'), digest, context);
          session.open = false;
          model.committed.set(digest, complete);
          await readBlob(real, model.repo, digest, complete, context);
        }
      }
      toString(): string {
        return `PUT #${this.index} ${this.chunk === undefined ? 'no body' : `${this.chunk.length} bytes`} digest ${this.digestMode} range ${this.mode}`;
      }
    }

    class Status implements Cmd {
      constructor(readonly index: number) {}
      check(model: Readonly<UploadModel>): boolean {
        return model.sessions.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index)!;
        const response = await send(real, 'chunks', 'GET', session.path);
        const codes = checkAnswer(response, 'GET', this.toString());
        if (session.open) {
          assert.equal(response.status, 204, this.toString());
          assert.equal(header(response, 'range'), rangeValue(session.data.length), this.toString());
        } else {
          assert.equal(response.status, 404, this.toString());
          expectCodes(codes, 404, ['BLOB_UPLOAD_UNKNOWN'], this.toString());
        }
      }
      toString(): string {
        return `GET #${this.index}`;
      }
    }

    class Cancel implements Cmd {
      constructor(readonly index: number) {}
      check(model: Readonly<UploadModel>): boolean {
        return model.sessions.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index)!;
        const response = await send(real, 'chunks', 'DELETE', session.path);
        const codes = checkAnswer(response, 'DELETE', this.toString());
        if (session.open) {
          assert.equal(response.status, 204, this.toString());
          session.open = false;
        } else {
          assert.equal(response.status, 404, this.toString());
          expectCodes(codes, 404, ['BLOB_UPLOAD_UNKNOWN'], this.toString());
        }
      }
      toString(): string {
        return `DELETE #${this.index}`;
      }
    }

    /** A session's id used from another repository, or an id that never existed. */
    class Foreign implements Cmd {
      constructor(
        readonly index: number,
        readonly method: 'GET' | 'PATCH' | 'PUT' | 'DELETE',
        readonly id: string | undefined,
      ) {}
      check(model: Readonly<UploadModel>): boolean {
        return this.id !== undefined || model.sessions.length > 0;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const session = sessionPath(model, this.index);
        const path =
          this.id !== undefined
            ? `/v2/${model.repo}/blobs/uploads/${this.id}`
            : session!.path.replace(`/v2/${model.repo}/`, `/v2/${model.repo}-elsewhere/`);
        const query = this.method === 'PUT' ? `?digest=${EMPTY_SHA256}` : '';
        const context = `${this.toString()} ${path}`;
        const response = await send(real, 'chunks', this.method, `${path}${query}`, {
          headers: { 'content-length': '1' },
          body: Buffer.from('z'),
        });
        const codes = checkAnswer(response, this.method, context);
        assert.equal(response.status, 404, context);
        expectCodes(codes, 404, ['BLOB_UPLOAD_UNKNOWN'], context);
      }
      toString(): string {
        return `${this.method} ${this.id === undefined ? `#${this.index} from another repository` : `unknown id ${JSON.stringify(this.id)}`}`;
      }
    }

    class Monolithic implements Cmd {
      constructor(
        readonly chunk: Buffer,
        readonly digestMode: DigestMode,
      ) {}
      check(): boolean {
        return true;
      }
      async run(model: UploadModel, real: Real): Promise<void> {
        const digest =
          this.digestMode === 'right-sha256'
            ? sha256(this.chunk)
            : this.digestMode === 'right-sha512'
              ? sha512(this.chunk)
              : this.digestMode === 'wrong'
                ? sha256(Buffer.concat([this.chunk, Buffer.from('y')]))
                : `sha256:${'0'.repeat(10)}`;
        const path = `/v2/${model.repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`;
        const context = `${this.toString()} ${path}`;
        const response = await send(real, 'chunks', 'POST', path, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(this.chunk.length) },
          body: this.chunk,
        });
        const codes = checkAnswer(response, 'POST', context);
        if (this.digestMode === 'right-sha256' || this.digestMode === 'right-sha512') {
          assert.equal(response.status, 201, `${context}: ${response.body.toString()}`);
          model.committed.set(digest, this.chunk);
          await readBlob(real, model.repo, digest, this.chunk, context);
        } else {
          assert.equal(response.status, 400, context);
          expectCodes(codes, 400, ['DIGEST_INVALID'], context);
          if (this.digestMode === 'wrong' && !model.committed.has(digest)) await readBlob(real, model.repo, digest, undefined, context);
        }
      }
      toString(): string {
        return `POST ?digest (${this.digestMode}) ${this.chunk.length} bytes`;
      }
    }

    const chunkBytes = fc
      .oneof(
        { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
        { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map((n) => new Uint8Array(n).fill(n % 251)) },
      )
      .map((bytes) => Buffer.from(bytes));
    const rangeMode = fc.constantFrom<RangeMode>('none', 'none', 'right', 'right', 'total', 'wrong', 'garbage', 'mismatch');
    const digestMode = fc.constantFrom<DigestMode>(
      'right-sha256',
      'right-sha256',
      'right-sha256',
      'right-sha512',
      'wrong',
      'malformed',
      'missing',
    );
    const index = fc.nat({ max: 7 });
    const shift = fc.nat({ max: 1000 });

    const commands = fc.commands<UploadModel, Real, false>(
      [
        fc.constant(new Start()),
        fc.constant(new Start()),
        fc.tuple(index, chunkBytes, rangeMode, shift, garbageRange, fc.boolean()).map(([i, c, m, s, g, t]) => new Patch(i, c, m, s, g, t)),
        fc.tuple(index, chunkBytes, rangeMode, shift, garbageRange, fc.boolean()).map(([i, c, m, s, g, t]) => new Patch(i, c, m, s, g, t)),
        fc
          .tuple(index, fc.integer({ min: 2, max: 70_000 }), fc.nat({ max: 70_000 }))
          .map(([i, length, sent]) => new AbortedPatch(i, Buffer.alloc(length, (length + sent) % 251), sent)),
        fc
          .tuple(index, fc.option(chunkBytes, { nil: undefined }), digestMode, rangeMode, shift, garbageRange)
          .map(([i, c, d, m, s, g]) => new Put(i, c, d, m, s, g)),
        index.map((i) => new Status(i)),
        index.map((i) => new Cancel(i)),
        fc
          .tuple(
            index,
            fc.constantFrom('GET' as const, 'PATCH' as const, 'PUT' as const, 'DELETE' as const),
            fc.option(fc.oneof(fc.uuid(), fc.constantFrom('..', '%2e%2e', 'x', '00000000-0000-0000-0000-000000000000')), {
              nil: undefined,
            }),
          )
          .map(([i, m, id]) => new Foreign(i, m, id)),
        fc.tuple(chunkBytes, digestMode).map(([c, d]) => new Monolithic(c, d)),
      ],
      { maxCommands: 14 },
    );

    await runProperty(
      'chunks',
      fc.asyncProperty(commands, async (cmds) => {
        runNumber++;
        const repo = `fuzz/chunks/r${runNumber}`;
        const model: UploadModel = { repo, sessions: [], committed: new Map() };
        await fc.asyncModelRun(() => ({ model, real: target }), cmds);
        // Afterwards every committed blob is still readable, every open session still where it was.
        for (const [digest, bytes] of model.committed) await readBlob(target, repo, digest, bytes, `final read of ${digest}`);
        for (const session of model.sessions.filter((s) => s.open)) {
          const response = await send(target, 'chunks', 'GET', session.path);
          assert.equal(response.status, 204, `open session ${session.path}`);
          assert.equal(header(response, 'range'), rangeValue(session.data.length), `open session ${session.path}`);
        }
      }),
      170,
    );
  });

  // ---- Headers and framing -------------------------------------------------------------------

  it('headers: lying Content-Length, odd Content-Types, huge headers and broken framing', async () => {
    type HeaderCase =
      | { readonly kind: 'length-more'; readonly target: number; readonly extra: number; readonly ending: 'half-close' | 'wait' }
      | { readonly kind: 'length-less'; readonly target: number; readonly short: number }
      | { readonly kind: 'content-type'; readonly target: number; readonly contentType: string }
      | { readonly kind: 'huge'; readonly name: string; readonly size: number; readonly count: number }
      | { readonly kind: 'framing'; readonly index: number };

    const manifestBody = (): Buffer => Buffer.from(JSON.stringify(baseManifest()));
    const body = Buffer.from('0123456789abcdefghij');

    /** Request targets: a method and a path (an upload session is made on demand). */
    const targets: readonly { readonly method: string; readonly path: () => Promise<string>; readonly body: () => Buffer }[] = [
      { method: 'PUT', path: async () => `/v2/${HEADERS_REPO}/manifests/h`, body: manifestBody },
      { method: 'PATCH', path: () => newUpload(), body: () => body },
      { method: 'PUT', path: async () => `${await newUpload()}?digest=${sha256(body)}`, body: () => body },
      { method: 'POST', path: async () => `/v2/${HEADERS_REPO}/blobs/uploads/?digest=${sha256(body)}`, body: () => body },
      { method: 'GET', path: async () => '/v2/', body: () => body },
      { method: 'GET', path: async () => `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`, body: () => body },
      { method: 'HEAD', path: async () => `/v2/${KNOWN_REPO}/blobs/${image.config.digest}`, body: () => body },
    ];

    async function newUpload(): Promise<string> {
      const response = await send(target, 'headers', 'POST', `/v2/${HEADERS_REPO}/blobs/uploads/`, { headers: { 'content-length': '0' } });
      assert.equal(response.status, 202);
      return header(response, 'location') ?? '';
    }

    /** Malformed framing; mayHang marks requests the server may rightly wait on for more bytes. */
    const host = (): string => `Host: ${target.host}:${target.port}`;
    const framing: readonly {
      readonly name: string;
      readonly bytes: () => string;
      readonly mayHang?: boolean;
      readonly method?: string;
    }[] = [
      {
        name: 'two different Content-Lengths',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n123456`,
      },
      {
        name: 'Content-Length and chunked',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n0\r\n\r\n`,
      },
      {
        name: 'Transfer-Encoding gzip',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nabc`,
        mayHang: true,
      },
      {
        name: 'bad chunk size',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      },
      {
        name: 'huge chunk size',
        bytes: () =>
          `PATCH /v2/${HEADERS_REPO}/blobs/uploads/x HTTP/1.1\r\n${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nfffffffffffffffffff\r\nabc\r\n`,
        mayHang: true,
      },
      {
        name: 'truncated chunked body',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\nabc`,
        mayHang: true,
      },
      {
        name: 'negative Content-Length',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: -1\r\nConnection: close\r\n\r\n`,
      },
      {
        name: 'non-numeric Content-Length',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: abc\r\nConnection: close\r\n\r\n`,
      },
      {
        name: 'Content-Length +5',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: +5\r\nConnection: close\r\n\r\n12345`,
      },
      {
        name: 'Content-Length 1e3',
        bytes: () => `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: 1e3\r\nConnection: close\r\n\r\n12345`,
      },
      {
        name: 'Content-Length beyond 2^64',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n12345`,
      },
      {
        name: 'Content-Length 10 GiB on a manifest',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n{}`,
      },
      {
        name: 'Content-Length 2^53 on a chunk',
        bytes: () =>
          `PATCH /v2/${HEADERS_REPO}/blobs/uploads/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${host()}\r\nContent-Length: 9007199254740993\r\nConnection: close\r\n\r\nabc`,
        mayHang: true,
      },
      { name: 'missing Host', bytes: () => `GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n` },
      { name: 'two Hosts', bytes: () => `GET /v2/ HTTP/1.1\r\n${host()}\r\n${host()}\r\nConnection: close\r\n\r\n` },
      { name: 'HTTP/1.0', bytes: () => `GET /v2/${KNOWN_REPO}/tags/list HTTP/1.0\r\n\r\n` },
      { name: 'HTTP/0.9 style', bytes: () => `GET /v2/\r\n\r\n` },
      { name: 'HTTP/2 preface', bytes: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
      { name: 'HTTP/3.0 version', bytes: () => `GET /v2/ HTTP/3.0\r\n${host()}\r\nConnection: close\r\n\r\n` },
      { name: 'garbage request line', bytes: () => '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n' },
      { name: 'bare LF line endings', bytes: () => `GET /v2/ HTTP/1.1\n${host()}\nConnection: close\n\n` },
      { name: 'header without colon', bytes: () => `GET /v2/ HTTP/1.1\r\n${host()}\r\nNoColonHere\r\nConnection: close\r\n\r\n` },
      { name: 'space before colon', bytes: () => `GET /v2/ HTTP/1.1\r\n${host()}\r\nContent-Length : 0\r\nConnection: close\r\n\r\n` },
      { name: 'obsolete line folding', bytes: () => `GET /v2/ HTTP/1.1\r\n${host()}\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n` },
      { name: 'NUL in a header value', bytes: () => `GET /v2/ HTTP/1.1\r\n${host()}\r\nX-Nul: a\x00b\r\nConnection: close\r\n\r\n` },
      { name: 'CR in the path', bytes: () => `GET /v2/a\rb/tags/list HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n` },
      {
        name: 'absolute-form target',
        bytes: () =>
          `GET http://${target.host}:${target.port}/v2/${KNOWN_REPO}/tags/list HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n`,
      },
      { name: 'asterisk target', bytes: () => `OPTIONS * HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n` },
      { name: 'empty method', bytes: () => ` /v2/ HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n` },
      {
        name: 'pipelined requests',
        bytes: () =>
          `GET /v2/ HTTP/1.1\r\n${host()}\r\n\r\nGET /v2/${KNOWN_REPO}/tags/list HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n`,
      },
      {
        name: 'Expect: 100-continue without body',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nExpect: 100-continue\r\nContent-Length: 10\r\nConnection: close\r\n\r\n`,
        mayHang: true,
      },
      {
        name: 'Expect: something else',
        bytes: () =>
          `PUT /v2/${HEADERS_REPO}/manifests/f HTTP/1.1\r\n${host()}\r\nExpect: 200-ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      },
      {
        name: 'HEAD with a body',
        method: 'HEAD',
        bytes: () =>
          `HEAD /v2/${KNOWN_REPO}/manifests/${KNOWN_TAG} HTTP/1.1\r\n${host()}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
      },
    ];

    const headerCase: Arbitrary<HeaderCase> = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('length-more' as const),
          target: fc.nat({ max: targets.length - 1 }),
          extra: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000_000 })),
          ending: fc.constantFrom('half-close' as const, 'half-close' as const, 'wait' as const),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('length-less' as const),
          target: fc.nat({ max: targets.length - 1 }),
          short: fc.integer({ min: 1, max: 19 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('content-type' as const),
          target: fc.nat({ max: 3 }),
          contentType: fc.oneof(
            headerSafeString(80),
            fc.constantFrom(
              '',
              ';',
              ';;;',
              'a/b; c=d; e',
              '*/*',
              `${MEDIA.ociManifest}; ${'p=1; '.repeat(500)}`,
              'multipart/form-data; boundary=x',
            ),
          ),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('huge' as const),
          name: fc.constantFrom('x-fuzz', 'accept', 'content-type', 'range', 'authorization', 'user-agent', 'cookie'),
          size: fc.oneof(
            fc.integer({ min: 8_000, max: 16_100 }),
            fc.integer({ min: 16_200, max: 16_600 }),
            fc.integer({ min: 16_600, max: 300_000 }),
          ),
          count: fc.constantFrom(1, 1, 1, 50, 500, 3000),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('framing' as const), index: fc.nat({ max: framing.length - 1 }) }) },
    );

    /** Every response found in the bytes after the first one must also be below 500. */
    function checkTrailingResponses(outcome: WireOutcome, context: string): void {
      if (outcome.kind !== 'response') return;
      const statuses = [...outcome.rest.toString('latin1').matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      for (const status of statuses) assert.ok(status < 500, `a later response was ${status}: ${context}`);
    }

    await runProperty(
      'headers',
      fc.asyncProperty(headerCase, async (c) => {
        if (c.kind === 'framing') {
          const entry = framing[c.index]!;
          const context = `framing: ${entry.name}`;
          const outcome = await sendWire(target, 'headers', entry.bytes(), {
            method: entry.method ?? 'GET',
            timeoutMs: entry.mayHang ? 400 : 10_000,
            endAfterWrite: !entry.mayHang,
          });
          if (outcome.kind === 'no-response') {
            assert.ok(entry.mayHang || outcome.ended === 'closed', `${context}: no answer (${outcome.ended})`);
            return;
          }
          checkAnswer(
            outcome.response,
            entry.method ?? 'GET',
            context,
            entry.name === 'pipelined requests' ? Buffer.alloc(0) : outcome.rest,
          );
          checkTrailingResponses(outcome, context);
          return;
        }

        if (c.kind === 'huge') {
          const value = 'v'.repeat(Math.max(1, Math.floor(c.size / c.count)));
          const headers: [string, string][] = Array.from({ length: c.count }, (_, i) => [c.count === 1 ? c.name : `${c.name}-${i}`, value]);
          const path = `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`;
          const context = `${c.count} header(s) ${c.name} totalling ${c.size} bytes`;
          const outcome = await sendWire(target, 'headers', wireRequest(target, 'GET', path, headers), { timeoutMs: 10_000 });
          if (outcome.kind === 'no-response') {
            // Over Node's 16 KiB limit the server may reset before the 431 is read.
            assert.ok(c.size > 16_000, `${context}: no answer (${outcome.ended})`);
            return;
          }
          const { status } = checkWireAnswer(outcome, 'GET', context);
          if (c.size < 15_000 && status !== 200) {
            // Below the limit the request is ordinary (a Range or Accept may change the answer).
            assert.ok(status < 500, context);
          }
          return;
        }

        const t = targets[c.target]!;
        const path = await t.path();
        const bytes = t.body();
        if (c.kind === 'content-type') {
          const context = describeRequest(t.method, path, ` Content-Type: ${JSON.stringify(c.contentType)}`);
          const outcome = await sendWire(target, 'headers', wireRequest(target, t.method, path, [['Content-Type', c.contentType]], bytes), {
            method: t.method,
          });
          checkWireAnswer(outcome, t.method, context);
          return;
        }

        if (c.kind === 'length-less') {
          // Declares fewer bytes than follow: the rest is read as the next request.
          const declared = Math.max(0, bytes.length - c.short);
          const request = wireRequest(target, t.method, path, [['Content-Length', String(declared)]], bytes, { contentLength: false });
          const context = describeRequest(t.method, path, ` Content-Length: ${declared} with ${bytes.length} bytes`);
          const outcome = await sendWire(target, 'headers', request, { method: t.method, timeoutMs: 3_000 });
          if (outcome.kind === 'no-response') assert.fail(`${context}: no answer (${outcome.ended})`);
          checkAnswer(outcome.response, t.method, context);
          checkTrailingResponses(outcome, context);
          return;
        }

        // Declares more bytes than are sent: answered early, or left waiting until the client goes.
        const declared = bytes.length + c.extra;
        const request = wireRequest(target, t.method, path, [['Content-Length', String(declared)]], bytes, { contentLength: false });
        const context = describeRequest(t.method, path, ` Content-Length: ${declared} with ${bytes.length} bytes (${c.ending})`);
        const outcome = await sendWire(target, 'headers', request, {
          method: t.method,
          timeoutMs: c.ending === 'wait' ? 300 : 5_000,
          endAfterWrite: c.ending === 'half-close',
        });
        if (outcome.kind === 'response')
          checkAnswer(outcome.response, t.method, context, t.method === 'HEAD' ? Buffer.alloc(0) : outcome.rest);
      }),
      320,
    );
  });

  // ---- Accept negotiation --------------------------------------------------------------------

  it('accept: any Accept header gets a manifest whose digest header matches the bytes served', async () => {
    // An index over the known image, in its own repository (the known repository keeps one tag).
    for (const blob of blobsOf(image)) {
      const mount = await send(target, 'setup', 'POST', `/v2/${INDEX_REPO}/blobs/uploads/?mount=${blob.digest}&from=${KNOWN_REPO}`, {
        headers: { 'content-length': '0' },
      });
      assert.equal(mount.status, 201);
    }
    const child = await send(target, 'setup', 'PUT', `/v2/${INDEX_REPO}/manifests/${image.manifest.digest}`, {
      headers: { 'content-type': image.manifest.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(child.status, 201, child.body.toString());
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          {
            mediaType: image.manifest.mediaType,
            digest: image.manifest.digest,
            size: image.manifest.bytes.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const index = await send(target, 'setup', 'PUT', `/v2/${INDEX_REPO}/manifests/multi`, {
      headers: { 'content-type': MEDIA.ociIndex },
      body: indexBytes,
    });
    assert.equal(index.status, 201, index.body.toString());
    const documents = new Map([
      [sha256(indexBytes), { bytes: indexBytes, mediaType: MEDIA.ociIndex }],
      [image.manifest.digest, { bytes: image.manifest.bytes, mediaType: image.manifest.mediaType }],
    ]);
    const acceptPart = fc.oneof(
      fc.constantFrom(...MANIFEST_TYPES, '*/*', 'application/*', 'application/json', 'text/html', '', ' ', ',', ';q=0'),
      fc
        .tuple(fc.constantFrom(...MANIFEST_TYPES), fc.constantFrom('', ';q=0', ';q=0.5', '; q=1', ';charset=utf-8', ';;;', '; q='))
        .map(([type, params]) => type + params),
      fc.constantFrom(...MANIFEST_TYPES).map((type) => type.toUpperCase()),
      headerSafeString(40),
    );
    const accept = fc.oneof(
      fc.array(acceptPart, { maxLength: 6 }).map((parts) => parts.join(', ')),
      fc.array(acceptPart, { minLength: 50, maxLength: 400 }).map((parts) => parts.join(',')),
    );
    const targets = [
      `/v2/${INDEX_REPO}/manifests/multi`,
      `/v2/${INDEX_REPO}/manifests/${sha256(indexBytes)}`,
      `/v2/${INDEX_REPO}/manifests/${image.manifest.digest}`,
      `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`,
    ];
    await runProperty(
      'accept',
      fc.asyncProperty(accept, fc.nat({ max: targets.length - 1 }), fc.constantFrom('GET', 'HEAD'), async (acceptHeader, which, method) => {
        const path = targets[which]!;
        const context = describeRequest(method, path, ` Accept: ${JSON.stringify(acceptHeader.slice(0, 300))}`);
        const response = await send(target, 'accept', method, path, { headers: { accept: acceptHeader } });
        checkAnswer(response, method, context);
        if (response.status >= 400) {
          // Refusing an Accept that names no stored type is allowed; anything else is not.
          assert.ok([404, 406].includes(response.status), `${context} -> ${response.status}`);
          return;
        }
        assert.equal(response.status, 200, context);
        const digest = header(response, 'docker-content-digest') ?? '';
        const served = documents.get(digest);
        assert.ok(served, `unexpected Docker-Content-Digest ${digest}: ${context}`);
        assert.equal(header(response, 'content-type'), served.mediaType, context);
        assert.equal(header(response, 'content-length'), String(served.bytes.length), context);
        if (method === 'GET') assert.ok(response.body.equals(served.bytes), `bytes do not match ${digest}: ${context}`);
        // A request by digest gets exactly that digest.
        const byDigest = /\/manifests\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
        if (byDigest) assert.equal(digest, byDigest, context);
      }),
      250,
    );
  });

  // ---- Races -----------------------------------------------------------------------------------

  it('races: concurrent requests on one upload, one blob, one manifest stay consistent', async () => {
    let runNumber = 0;
    type Race = 'same-blob' | 'parallel-patches' | 'complete-vs-cancel' | 'manifest-vs-blob-delete' | 'tags-vs-manifest-delete';
    const startSession = async (repo: string): Promise<string> => {
      const response = await send(target, 'races', 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
      assert.equal(response.status, 202);
      return header(response, 'location') ?? '';
    };
    const statusOf = async (promise: Promise<HttpResponse>, method: string, context: string): Promise<number> => {
      const response = await promise;
      checkAnswer(response, method, context);
      return response.status;
    };

    await runProperty(
      'races',
      fc.asyncProperty(
        fc.constantFrom<Race>('same-blob', 'parallel-patches', 'complete-vs-cancel', 'manifest-vs-blob-delete', 'tags-vs-manifest-delete'),
        fc.integer({ min: 2, max: 6 }),
        fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
        async (race, k, chunk) => {
          runNumber++;
          const repo = `fuzz/race/r${runNumber}`;
          const context = `${race} x${k} in ${repo}`;
          if (race === 'same-blob') {
            // The same bytes pushed k times at once, into one repository and a sibling.
            const digest = sha256(chunk);
            const repos = Array.from({ length: k }, (_, i) => (i % 2 === 0 ? repo : `${repo}-b`));
            const statuses = await Promise.all(
              repos.map((r) =>
                statusOf(
                  send(target, 'races', 'POST', `/v2/${r}/blobs/uploads/?digest=${digest}`, {
                    body: chunk,
                    headers: { 'content-type': 'application/octet-stream' },
                  }),
                  'POST',
                  context,
                ),
              ),
            );
            assert.ok(
              statuses.every((status) => status === 201),
              `${context}: ${statuses.join(',')}`,
            );
            for (const r of new Set(repos)) {
              const read = await send(target, 'races', 'GET', `/v2/${r}/blobs/${digest}`);
              assert.equal(read.status, 200, context);
              assert.ok(read.body.equals(chunk), `bytes differ: ${context}`);
            }
            return;
          }
          if (race === 'parallel-patches') {
            // k identical chunks appended at once: whatever the order, the result is k copies.
            const session = await startSession(repo);
            const statuses = await Promise.all(
              Array.from({ length: k }, () =>
                statusOf(
                  send(target, 'races', 'PATCH', session, { body: chunk, headers: { 'content-type': 'application/octet-stream' } }),
                  'PATCH',
                  context,
                ),
              ),
            );
            assert.ok(
              statuses.every((status) => status === 202),
              `${context}: ${statuses.join(',')}`,
            );
            const whole = Buffer.concat(Array.from({ length: k }, () => chunk));
            const status = await send(target, 'races', 'GET', session);
            assert.equal(header(status, 'range'), `0-${whole.length - 1}`, context);
            const put = await send(target, 'races', 'PUT', `${session}?digest=${sha256(whole)}`);
            assert.equal(put.status, 201, `${context}: ${put.body.toString()}`);
            const read = await send(target, 'races', 'GET', `/v2/${repo}/blobs/${sha256(whole)}`);
            assert.ok(read.status === 200 && read.body.equals(whole), context);
            return;
          }
          if (race === 'complete-vs-cancel') {
            // Completion, cancellation, another chunk and a status query at once: exactly one of
            // completion (201 or 400 on a digest the extra chunk spoiled) and cancellation wins.
            const session = await startSession(repo);
            const first = await send(target, 'races', 'PATCH', session, { body: chunk });
            assert.equal(first.status, 202);
            const [put, cancel, patch, get] = await Promise.all([
              statusOf(send(target, 'races', 'PUT', `${session}?digest=${sha256(chunk)}`), 'PUT', context),
              statusOf(send(target, 'races', 'DELETE', session), 'DELETE', context),
              statusOf(send(target, 'races', 'PATCH', session, { body: Buffer.from('more') }), 'PATCH', context),
              statusOf(send(target, 'races', 'GET', session), 'GET', context),
            ]);
            const outcome = `PUT ${put}, DELETE ${cancel}, PATCH ${patch}, GET ${get}`;
            assert.ok(
              [201, 400, 404].includes(put) && [204, 404].includes(cancel) && [202, 404].includes(patch) && [204, 404].includes(get),
              `${context}: ${outcome}`,
            );
            const finishers = [put === 201 || put === 400, cancel === 204].filter(Boolean).length;
            assert.equal(finishers, 1, `${context}: ${outcome}`);
            const after = await send(target, 'races', 'GET', session);
            assert.equal(after.status, 404, `session still there after ${outcome}`);
            const read = await send(target, 'races', 'GET', `/v2/${repo}/blobs/${sha256(chunk)}`);
            assert.equal(read.status, put === 201 ? 200 : 404, `${context}: ${outcome}, blob ${read.status}`);
            if (put === 201) assert.ok(read.body.equals(chunk), context);
            return;
          }
          // Manifests: push the known blobs' bytes into this repository.
          for (const blob of blobsOf(image)) {
            const mount = await send(target, 'races', 'POST', `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${KNOWN_REPO}`, {
              headers: { 'content-length': '0' },
            });
            assert.equal(mount.status, 201);
          }
          const manifest = Buffer.from(JSON.stringify(baseManifest()));
          const manifestDigest = sha256(manifest);
          const layer = image.layers[0]!;
          if (race === 'manifest-vs-blob-delete') {
            // A manifest push and the deletion of a blob it references: never both.
            const [put, del] = await Promise.all([
              statusOf(
                send(target, 'races', 'PUT', `/v2/${repo}/manifests/t`, { body: manifest, headers: { 'content-type': MEDIA.ociManifest } }),
                'PUT',
                context,
              ),
              statusOf(send(target, 'races', 'DELETE', `/v2/${repo}/blobs/${layer.digest}`), 'DELETE', context),
            ]);
            const outcome = `PUT ${put}, DELETE ${del}`;
            assert.ok(!(put === 201 && del === 202), `manifest accepted and its blob deleted: ${context}: ${outcome}`);
            assert.ok((put === 201 && del === 400) || (put === 400 && del === 202), `${context}: ${outcome}`);
            const read = await send(target, 'races', 'GET', `/v2/${repo}/manifests/t`);
            if (read.status === 200) {
              for (const blob of blobsOf(image)) {
                const blobRead = await send(target, 'races', 'HEAD', `/v2/${repo}/blobs/${blob.digest}`);
                assert.equal(blobRead.status, 200, `manifest served but blob ${blob.digest} gone: ${outcome}`);
              }
            }
            return;
          }
          // Tags pushed while the manifest is deleted: afterwards every listed tag resolves.
          const pushed = await send(target, 'races', 'PUT', `/v2/${repo}/manifests/t0`, {
            body: manifest,
            headers: { 'content-type': MEDIA.ociManifest },
          });
          assert.equal(pushed.status, 201);
          const statuses = await Promise.all([
            ...Array.from({ length: k }, (_, i) =>
              statusOf(
                send(target, 'races', 'PUT', `/v2/${repo}/manifests/t${i + 1}`, {
                  body: manifest,
                  headers: { 'content-type': MEDIA.ociManifest },
                }),
                'PUT',
                context,
              ),
            ),
            statusOf(send(target, 'races', 'DELETE', `/v2/${repo}/manifests/${manifestDigest}`), 'DELETE', context),
          ]);
          assert.ok(
            statuses.slice(0, k).every((status) => status === 201) && [202, 404].includes(statuses[k] ?? 0),
            `${context}: ${statuses.join(',')}`,
          );
          const tags = await send(target, 'races', 'GET', `/v2/${repo}/tags/list`);
          const listed = tags.status === 200 ? ((JSON.parse(tags.body.toString()) as { tags?: string[] | null }).tags ?? []) : [];
          for (const tag of listed) {
            const read = await send(target, 'races', 'GET', `/v2/${repo}/manifests/${tag}`, {
              headers: { accept: MANIFEST_TYPES.join(', ') },
            });
            assert.equal(read.status, 200, `tag ${tag} points at nothing after ${statuses.join(',')}`);
            assert.ok(read.body.equals(manifest), context);
          }
        },
      ),
      70,
    );
  });

  // ---- Afterwards ----------------------------------------------------------------------------

  it('afterwards: alive, the known image intact, nothing written outside the data directory', async () => {
    assert.ok(isAlive(target), `the registry is not running (exit ${String(target.exitStatus)})`);
    const base = await send(target, 'verify', 'GET', '/v2/');
    assert.equal(base.status, 200);
    await verifyKnownImage(target, image);

    const outsideAfter = await snapshotOutsideData(target.workspace);
    assert.deepEqual(outsideAfter, outsideBefore, 'files outside the data directory changed');
    const data = await checkDataDirectory(target.workspace);

    // Give the log pipe a moment, then read the server's own account of the run.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const review = reviewServerLog(target.registry.output());
    console.log(
      `hostile-input fuzz: data directory holds ${data.files} files (${data.blobs} blobs, all at their content address); ` +
        `${review.clientDisconnects} requests abandoned by the client were logged as such`,
    );
    assert.deepEqual(review.serverErrorResponses, [], 'the access log shows 5xx responses');
    assert.deepEqual(review.errors, [], 'the server logged errors');
    assert.ok(isAlive(target), 'the registry died at the end');
  });
});
