// The fast-check generators of hostile input: repository names (valid and every kind of
// invalid), route suffixes, digests, Range headers, query strings, manifest bodies and their
// mutations, Content-Type values and raw header blocks. Each generator yields plain data; the
// properties in hostile-input.test.ts send it and judge the answers.
import fc, { type Arbitrary } from 'fast-check';
import { MANIFEST_TYPES, MEDIA } from './support.js';

const lowerAlnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const hexChar = fc.constantFrom(...'0123456789abcdef');

export function hex(length: number): Arbitrary<string> {
  return fc.string({ unit: hexChar, minLength: length, maxLength: length });
}

// ---- Names and paths -------------------------------------------------------------------------

/** One path component of the name grammar. */
export const nameComponent: Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 8 }),
    fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 4 })), {
      maxLength: 2,
    }),
  )
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));

export const validName: Arbitrary<string> = fc.array(nameComponent, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));

/** Encodes every byte outside the printable ASCII range, so node:http will send the path. */
export function encodeUnsafe(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '?' && char !== '#') out += char;
    else out += encodeURIComponent(char).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  }
  return out === value ? value : out;
}

/** Repository names: mostly invalid, in every way that has broken a registry somewhere. */
export const anyName: Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validName },
  { weight: 2, arbitrary: validName.map((name) => name.toUpperCase()) },
  { weight: 1, arbitrary: fc.mixedCase(validName) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      'a/..',
      '../a',
      'a/../b',
      'a/../../../../etc',
      '../../../outer/inner/sentinel',
      '..%2f..%2fsentinel',
      '%2e%2e',
      '%2E%2E/%2e%2e/x',
      '%2e%2e%2f%2e%2e',
      'a/%2e%2e/b',
      'a/./b',
      '.a',
      'a.',
      'a..b',
      'a%00b',
      '%00',
      'a%0ab',
      'a%0d%0aSet-Cookie:x',
      '%ff%fe',
      '%zz',
      'a%',
      '%',
      '%%',
      'a%2fb',
      'a%5cb',
      'a\\b',
      '~root',
      'a:b',
      'a@b',
      'a;b',
      '_catalog',
      'v2',
      'blobs',
      'manifests',
      'tags',
      'uploads',
      '-a',
      'a-',
      'a___b',
      '___',
    ),
  },
  { weight: 2, arbitrary: validName.map((name) => name.replace('/', '//')) },
  { weight: 1, arbitrary: validName.map((name) => `/${name}`) },
  { weight: 1, arbitrary: validName.map((name) => `${name}/`) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(nameComponent, fc.constantFrom('..', '.', '', '%2e%2e', '%2f', '%00')), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join('/')),
  },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((raw) => encodeUnsafe(raw)),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((raw) => encodeUnsafe(raw)) },
  // Just over the 255-character limit, and far over it (up to about 8 KB).
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 270 }).map((length) => 'a'.repeat(length)) },
  {
    weight: 1,
    arbitrary: fc.tuple(nameComponent, fc.integer({ min: 20, max: 1600 })).map(([component, times]) =>
      Array.from({ length: times }, () => component)
        .join('/')
        .slice(0, 8000),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 8000 }).map((length) => 'ab/'.repeat(Math.ceil(length / 3)).slice(0, length)) },
);

// ---- Digests ---------------------------------------------------------------------------------

export const validDigest: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hex(64).map((h) => `sha256:${h}`) },
  { weight: 1, arbitrary: hex(128).map((h) => `sha512:${h}`) },
);

/** Digest strings: valid, almost valid, and hostile. */
export const anyDigest: Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: validDigest },
  // Truncated, extended.
  { weight: 2, arbitrary: fc.tuple(validDigest, fc.nat({ max: 140 })).map(([d, cut]) => d.slice(0, cut)) },
  { weight: 1, arbitrary: fc.tuple(validDigest, hex(3)).map(([d, extra]) => d + extra) },
  // Upper case (algorithm, hex or both).
  { weight: 1, arbitrary: validDigest.map((d) => d.toUpperCase()) },
  { weight: 1, arbitrary: validDigest.map((d) => d.replace(/^sha(\d+):/, (m) => m.toUpperCase())) },
  { weight: 1, arbitrary: fc.mixedCase(validDigest) },
  // Unknown or unregistered algorithms, with plausible encodings.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.constantFrom('md5', 'sha1', 'sha384', 'sha3', 'blake3', 'sha256+b64u', 'multihash+base58', 'sha', 'sha0256', 'SHA256'),
          fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 10 }),
        ),
        fc.oneof(hex(64), hex(128), hex(32), fc.base64String({ maxLength: 60 })),
      )
      .map(([algorithm, encoded]) => `${algorithm}:${encoded}`),
  },
  // Empty and punctuation-only.
  { weight: 1, arbitrary: fc.constantFrom('', ':', '::', 'sha256:', ':abc', 'sha256', 'sha256::', 'sha256:-', 'sha256:=') },
  // Path tricks.
  {
    weight: 2,
    arbitrary: fc.oneof(
      hex(64).map((h) => `sha256:../../${h}`),
      hex(64).map((h) => `sha256:${h.slice(0, 2)}/${h}`),
      hex(64).map((h) => `../sha256:${h}`),
      hex(64).map((h) => `sha256:${h}/..`),
      fc.constantFrom(
        'sha256:../../../../etc/passwd',
        'sha256:..',
        'sha256:.',
        '..',
        'sha256:%2e%2e%2f%2e%2e',
        'sha256:..%2fsentinel',
        '..:..',
        'sha256/..',
        'sha256:a/b',
        'sha256:%00',
      ),
    ),
  },
  // Non-hex characters in a digest of the right length.
  {
    weight: 1,
    arbitrary: fc
      .tuple(hex(64), fc.nat({ max: 63 }), fc.constantFrom('g', 'z', 'G', '-', '_', '=', '.', '+', '%', ' ', '\u00e9'))
      .map(([h, at, bad]) => `sha256:${h.slice(0, at)}${bad}${h.slice(at + 1)}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 5000 }).map((length) => `sha256:${'a'.repeat(length)}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

// ---- Route suffixes and methods --------------------------------------------------------------

export const anyTagLike: Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/),
  fc.constantFrom('latest', 'stable', '.', '..', '-x', '.x', 'a'.repeat(128), 'a'.repeat(129), 'a'.repeat(3000), ''),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map(encodeUnsafe),
);

export const anyUploadId: Arbitrary<string> = fc.oneof(
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.uuid().map((id) => id.slice(0, 35)),
  fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2fsentinel', 'undefined', 'null', '0', '-1', '00000000-0000-0000-0000-000000000000'),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map(encodeUnsafe),
);

/** What follows the name: each route's suffix, near misses and garbage. */
export function anySuffix(references: Arbitrary<string>, digests: Arbitrary<string>): Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: references.map((ref) => `/manifests/${encodeUnsafe(ref)}`) },
    { weight: 3, arbitrary: digests.map((digest) => `/blobs/${encodeUnsafe(digest)}`) },
    { weight: 2, arbitrary: fc.constantFrom('/blobs/uploads/', '/blobs/uploads', '/blobs/uploads//', '/blobs/', '/blobs') },
    { weight: 2, arbitrary: anyUploadId.map((id) => `/blobs/uploads/${id}`) },
    { weight: 2, arbitrary: fc.constantFrom('/tags/list', '/tags/list/', '/tags/', '/tags', '/TAGS/LIST', '/tags/list?n=1') },
    { weight: 1, arbitrary: digests.map((digest) => `/referrers/${encodeUnsafe(digest)}`) },
    { weight: 1, arbitrary: fc.constantFrom('', '/', '/manifests/', '/manifests', '/../manifests/latest', '/./tags/list') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((raw) => `/${encodeUnsafe(raw)}`) },
  );
}

export const standardMethods = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Methods outside the API. CONNECT is left out: Node destroys the socket of a CONNECT request
 * when the server has no 'connect' listener, so there is no answer to judge.
 */
export const oddMethods = ['TRACE', 'PROPFIND', 'MKCOL', 'QUERY', 'SEARCH', 'get', 'Get', 'FOO', 'M-SEARCH', 'PURGE'] as const;

export const anyMethod: Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...standardMethods) },
  { weight: 1, arbitrary: fc.constantFrom(...oddMethods) },
);

export const pathPrefix: Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('/v2/') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '//v2/',
      '/v2//',
      '/V2/',
      '/v2/./',
      '/v2/../v2/',
      '/v1/',
      '/v2/%2e%2e/',
      '/./v2/',
      '/v2%2f',
      'v2/',
      '/%76%32/',
    ),
  },
);

// ---- Range headers ---------------------------------------------------------------------------

/** A number as a client might write it: small, near the blob size, huge, or beyond 2^53. */
export function rangeNumber(size: number): Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: size + 10 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, size - 1, size, size + 1).map(String) },
    { weight: 1, arbitrary: fc.maxSafeNat().map(String) },
    { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map(String) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 50 }).map((n) => `${'0'.repeat(n % 5)}${n}`) },
  );
}

export type StructuredRange =
  | { readonly kind: 'from-to'; readonly first: string; readonly last: string }
  | { readonly kind: 'from'; readonly first: string }
  | { readonly kind: 'suffix'; readonly last: string };

export function structuredRange(size: number): Arbitrary<StructuredRange> {
  const n = rangeNumber(size);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('from-to' as const), first: n, last: n }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('from' as const), first: n }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('suffix' as const), last: n }) },
  );
}

export function rangeHeaderOf(range: StructuredRange, unit = 'bytes'): string {
  switch (range.kind) {
    case 'from-to':
      return `${unit}=${range.first}-${range.last}`;
    case 'from':
      return `${unit}=${range.first}-`;
    case 'suffix':
      return `${unit}=-${range.last}`;
  }
}

/** Header values node:http will send: tab, printable ASCII and Latin-1. */
export const headerSafeString = (maxLength: number): Arbitrary<string> =>
  fc.string({ unit: 'binary-ascii', maxLength }).map((value) => value.replace(/[^\t\x20-\x7e]/g, ''));

export const arbitraryRangeHeader: Arbitrary<string> = fc.oneof(
  headerSafeString(40),
  fc.constantFrom(
    'bytes=',
    'bytes=-',
    'bytes=--1',
    'bytes=-0',
    'bytes=0-0',
    'bytes=0-1,2-3',
    'bytes=0-,-1',
    'bytes=1-0',
    'bytes=a-b',
    'bytes=0x10-0x20',
    'bytes=1e3-2e3',
    'bytes=1.5-2.5',
    'bytes=-1-2',
    'bytes = 0 - 10',
    'BYTES=0-10',
    'bits=0-10',
    'bytes 0-10/20',
    'bytes=0-10/20',
    '=0-10',
    'bytes==0-10',
    `bytes=${' '.repeat(5000)}0-1`,
    `bytes=${'0'.repeat(5000)}1-2`,
    `bytes=0-${'9'.repeat(5000)}`,
  ),
  fc
    .array(fc.tuple(fc.nat(5000), fc.nat(5000)), { minLength: 2, maxLength: 50 })
    .map((pairs) => `bytes=${pairs.map(([a, b]) => `${a}-${b}`).join(',')}`),
);

// ---- Query strings ---------------------------------------------------------------------------

export const paginationNumber: Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1500 }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: -1 }).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: 10n ** 9n, max: 10n ** 30n }).map(String) },
  { weight: 1, arbitrary: fc.double({ noNaN: false }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '1 ',
      ' 1',
      '+1',
      '0x10',
      '1e3',
      '1.0',
      '1.5',
      '-0',
      '00',
      '000000001',
      '0000000001',
      'NaN',
      'Infinity',
      '%31',
      '１',
      '1%00',
    ),
  },
  { weight: 1, arbitrary: headerSafeString(12) },
);

/** A query component: encoded or raw (the server decodes with URLSearchParams). */
export function queryValue(raw: Arbitrary<string>): Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: raw.map((value) => encodeURIComponent(value)) },
    { weight: 1, arbitrary: raw.map((value) => encodeUnsafe(value).replace(/&/g, '%26')) },
  );
}

// ---- Manifests -------------------------------------------------------------------------------

export type Expectation = 'valid' | 'invalid' | 'either';

export interface Mutation {
  readonly name: string;
  readonly expect: Expectation;
  /**
   * What the mutation changes ("layers", "config.size"): when several mutations change the same
   * thing, only the last one shapes the document, so only it counts.
   */
  readonly key: string;
  /** Top-level mutations apply first, then descriptor mutations (on what is left). */
  readonly phase: 'top' | 'descriptor';
  /** Changes the document; false when there was nothing to change (the mutation then does not count). */
  apply(document: Record<string, unknown>): boolean;
  /** Raw JSON text that replaces RAW_PLACEHOLDER in the serialised document. */
  readonly raw?: string;
}

/** Applies mutations in phase order; returns those that shape the final document. */
export function applyMutations(document: Record<string, unknown>, mutations: readonly Mutation[]): Mutation[] {
  const effective = new Map<string, Mutation>();
  for (const phase of ['top', 'descriptor'] as const) {
    for (const mutation of mutations.filter((m) => m.phase === phase)) {
      if (mutation.apply(document)) {
        effective.delete(mutation.key);
        effective.set(mutation.key, mutation);
      }
    }
  }
  // A top-level change to a descriptor's container after a descriptor change is impossible
  // (phases), but a top-level change that removed the container makes descriptor changes void.
  return [...effective.values()];
}

/** Stands for raw JSON text spliced in after serialisation (deep nesting overflows JSON.stringify). */
export const RAW_PLACEHOLDER = '\u0000raw-json\u0000';

/** Serialises a mutated document, splicing `raw` in place of the placeholder value. */
export function serialise(document: Record<string, unknown>, indent: number | string | undefined, raw: string | undefined): string {
  const text = JSON.stringify(document, null, indent);
  return raw === undefined ? text : text.replace(JSON.stringify(RAW_PLACEHOLDER), raw);
}

/** JSON nested `depth` levels deep, alternating arrays and objects, built without recursion. */
export function nestedJson(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '[' : '{"n":';
    close = (i % 2 === 0 ? ']' : '}') + close;
  }
  return `${open}"leaf"${close}`;
}

function descriptorAt(document: Record<string, unknown>, which: 'config' | 'layer'): Record<string, unknown> | undefined {
  const value: unknown =
    which === 'config' ? document.config : Array.isArray(document.layers) ? (document.layers as unknown[])[0] : undefined;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function topMutation(name: string, expect: Expectation, key: string, change: (document: Record<string, unknown>) => void): Mutation {
  return {
    name,
    expect,
    key,
    phase: 'top',
    apply(document) {
      change(document);
      return true;
    },
  };
}

function descriptorMutation(
  name: string,
  expect: Expectation,
  which: 'config' | 'layer',
  field: string,
  change: (descriptor: Record<string, unknown>) => void,
): Mutation {
  return {
    name: `${which}: ${name}`,
    expect,
    key: `${which}.${field}`,
    phase: 'descriptor',
    apply(document) {
      const descriptor = descriptorAt(document, which);
      if (!descriptor) return false;
      change(descriptor);
      return true;
    },
  };
}

const wrongTypes: readonly unknown[] = [null, true, 0, -1, 'x', '', [], {}, [1, 2], { a: 1 }];

/** Structural mutations of a valid image manifest, each with what the registry must answer. */
export function manifestMutation(unknownDigest: Arbitrary<string>, subjectDigest: Arbitrary<string>): Arbitrary<Mutation> {
  const field = fc.constantFrom('schemaVersion', 'mediaType', 'config', 'layers');
  const which = fc.constantFrom('config' as const, 'layer' as const);
  return fc.oneof(
    // Without mediaType the Content-Type (or the shape) decides; without layers the image is
    // empty; schemaVersion and config are required.
    field.map((key) =>
      topMutation(`delete ${key}`, key === 'mediaType' || key === 'layers' ? 'either' : 'invalid', key, (document) => {
        delete document[key];
      }),
    ),
    fc.tuple(field, fc.constantFrom(...wrongTypes)).map(([key, value]) =>
      // An empty layers array is a valid (if odd) image.
      topMutation(
        `${key} = ${JSON.stringify(value)}`,
        key === 'layers' && Array.isArray(value) && value.length === 0 ? 'valid' : 'invalid',
        key,
        (document) => {
          document[key] = value;
        },
      ),
    ),
    fc.constantFrom(1, 3, '2', 2.5, -2, 2 ** 53).map((value) =>
      topMutation(`schemaVersion = ${JSON.stringify(value)}`, 'invalid', 'schemaVersion', (document) => {
        document.schemaVersion = value;
      }),
    ),
    fc.constantFrom(MEDIA.ociIndex, MEDIA.dockerList, MEDIA.dockerManifest, 'application/json', '', 'x/y').map((value) =>
      // Declared Docker type: accepted unless the Content-Type names the OCI type.
      topMutation(`mediaType = ${value}`, value === MEDIA.dockerManifest ? 'either' : 'invalid', 'mediaType', (document) => {
        document.mediaType = value;
      }),
    ),
    fc.constant(
      topMutation('both manifests and layers', 'invalid', 'manifests', (document) => {
        document.manifests = [];
      }),
    ),
    fc.constantFrom<unknown>(5, 'x', [], { a: 1 }, { a: { b: 'c' } }, null).map((value) =>
      topMutation(`annotations = ${JSON.stringify(value)}`, 'invalid', 'annotations', (document) => {
        document.annotations = value;
      }),
    ),
    fc.constantFrom<unknown>(5, 'x', [], {}, { mediaType: MEDIA.ociManifest, digest: 'sha256:abc', size: 1 }).map((value) =>
      topMutation(`subject = ${JSON.stringify(value)}`, 'invalid', 'subject', (document) => {
        document.subject = value;
      }),
    ),
    // A valid subject (it need not exist) makes the manifest a referrer; artifactType is free text.
    fc
      .tuple(
        subjectDigest,
        fc.nat({ max: 100_000 }),
        fc.option(fc.stringMatching(/^application\/vnd\.[a-z]{1,8}\+json$/), { nil: undefined }),
      )
      .map(([digest, size, artifactType]) =>
        topMutation(
          `subject -> ${digest.slice(0, 20)}${artifactType ? ` artifactType ${artifactType}` : ''}`,
          'valid',
          'subject',
          (document) => {
            document.subject = { mediaType: MEDIA.ociManifest, digest, size };
            if (artifactType !== undefined) document.artifactType = artifactType;
          },
        ),
      ),
    fc.constant<Mutation>({
      name: 'layers: a null entry',
      expect: 'invalid',
      key: 'layers[]',
      phase: 'descriptor',
      apply(document) {
        if (!Array.isArray(document.layers)) return false;
        document.layers.push(null);
        return true;
      },
    }),
    // Unknown fields are allowed and must be stored byte for byte.
    fc.tuple(fc.stringMatching(/^x-[a-z]{1,8}$/), fc.jsonValue({ maxDepth: 4 })).map(([key, value]) =>
      topMutation(`extra field ${key}`, 'valid', key, (document) => {
        document[key] = value;
      }),
    ),
    // Nesting: shallow is fine, very deep must be refused without exhausting the stack. The
    // placeholder becomes nestedJson(depth) when the document is serialised.
    fc.integer({ min: 1, max: 100_000 }).map((depth) => ({
      ...topMutation(`nesting ${depth}`, depth <= 40 ? 'valid' : depth > 100 ? 'invalid' : 'either', 'x_nest', (document) => {
        document.x_nest = RAW_PLACEHOLDER;
      }),
      raw: nestedJson(depth),
    })),
    fc.tuple(which, fc.constantFrom('digest', 'size', 'mediaType')).map(([w, key]) =>
      descriptorMutation(`delete ${key}`, 'invalid', w, key, (descriptor) => {
        delete descriptor[key];
      }),
    ),
    fc.tuple(which, fc.constantFrom(-1, -(2 ** 53), 1.5, 2 ** 53, 1e300, '12', null, true, [])).map(([w, size]) =>
      descriptorMutation(`size = ${JSON.stringify(size)}`, 'invalid', w, 'size', (descriptor) => {
        descriptor.size = size;
      }),
    ),
    // A plausible but wrong size: the registry may or may not check it against the blob.
    fc.tuple(which, fc.integer({ min: 0, max: 2 ** 40 })).map(([w, size]) =>
      descriptorMutation(`size = ${size}`, 'either', w, 'size', (descriptor) => {
        descriptor.size = size;
      }),
    ),
    fc.tuple(which, anyDigest).map(([w, digest]) =>
      descriptorMutation(`digest = ${JSON.stringify(digest).slice(0, 80)}`, 'invalid', w, 'digest', (descriptor) => {
        descriptor.digest = digest;
      }),
    ),
    fc.tuple(which, unknownDigest).map(([w, digest]) =>
      descriptorMutation(`digest = unknown ${digest.slice(0, 20)}`, 'invalid', w, 'digest', (descriptor) => {
        descriptor.digest = digest;
      }),
    ),
    fc.tuple(which, fc.constantFrom(5, null, '', 'x'.repeat(300), [], {})).map(([w, mediaType]) =>
      descriptorMutation(`mediaType = ${JSON.stringify(mediaType).slice(0, 40)}`, 'invalid', w, 'mediaType', (descriptor) => {
        descriptor.mediaType = mediaType;
      }),
    ),
    fc
      .tuple(which, fc.constantFrom('annotations', 'urls', 'platform', 'artifactType'), fc.constantFrom(5, 'x', [5], { a: 5 }))
      .map(([w, key, value]) =>
        descriptorMutation(
          `${key} = ${JSON.stringify(value)}`,
          key === 'artifactType' && typeof value === 'string' ? 'valid' : 'invalid',
          w,
          key,
          (descriptor) => {
            descriptor[key] = value;
          },
        ),
      ),
  );
}

/** Content-Type values for a manifest PUT (valid types, parameters, case, garbage). */
export const manifestContentType: Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(MEDIA.ociManifest) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      `${MEDIA.ociManifest}; charset=utf-8`,
      MEDIA.ociManifest.toUpperCase(),
      ` ${MEDIA.ociManifest} `,
      ...MANIFEST_TYPES,
      'application/json',
      'application/octet-stream',
      'text/plain',
      '',
      ';',
      '*/*',
      'application/vnd.oci.image.manifest.v2+json',
      'application/vnd.oci.image.manifest.v1+json, application/json',
    ),
  },
  { weight: 1, arbitrary: headerSafeString(60) },
);

/** Bodies that are not manifests at all. */
export const junkManifestBody: Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
  fc.jsonValue({ maxDepth: 6 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => Buffer.from(text)),
  fc
    .constantFrom(
      '',
      '{',
      '}',
      '[]',
      'null',
      '{"schemaVersion":2}',
      '{"schemaVersion":2,"layers":[]}',
      '\uFEFF{}',
      '{"__proto__":{"schemaVersion":2}}',
    )
    .map((text) => Buffer.from(text)),
  fc.integer({ min: 65, max: 20_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
  fc.integer({ min: 65, max: 20_000 }).map((depth) => Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  fc.integer({ min: 1000, max: 200_000 }).map((depth) => Buffer.from('['.repeat(depth))),
);
