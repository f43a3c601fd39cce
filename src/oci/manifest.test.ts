// Unit tests for manifest and index parsing: kind detection, the checks that keep ambiguous or
// hostile documents out, and what is extracted for the index (references, subject, annotations).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from './digest.js';
import { ManifestFormatError, parseManifest, referencesOf, type ParsedManifest } from './manifest.js';
import { MediaType } from './media-types.js';

const d = (seed: string): string => Digest.of(Buffer.from(seed)).toString();
const emptyConfigDigest = Digest.of(Buffer.from('{}')).toString();

const configDescriptor = { mediaType: MediaType.ociConfig, digest: d('config'), size: 123 };
const layerA = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('layer-a'), size: 1000 };
const layerB = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('layer-b'), size: 2000 };
const childAmd64 = {
  mediaType: MediaType.ociManifest,
  digest: d('child-amd64'),
  size: 500,
  platform: { architecture: 'amd64', os: 'linux' },
};
const childArm64 = {
  mediaType: MediaType.ociManifest,
  digest: d('child-arm64'),
  size: 501,
  platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
};

function bytes(document: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(document));
}

function parse(document: unknown, contentType?: string): ParsedManifest {
  return parseManifest(bytes(document), contentType);
}

/** Asserts that parsing fails with a ManifestFormatError whose message matches. */
function rejects(document: unknown, contentType: string | undefined, message: RegExp): void {
  const input = typeof document === 'string' ? new TextEncoder().encode(document) : bytes(document);
  assert.throws(
    () => parseManifest(input, contentType),
    (error: unknown) => {
      assert.ok(error instanceof ManifestFormatError, `expected ManifestFormatError, got ${String(error)}`);
      assert.equal(error.name, 'ManifestFormatError');
      assert.match(error.message, message);
      return true;
    },
  );
}

const ociImage = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: configDescriptor,
  layers: [layerA, layerB],
};
const ociIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [childAmd64, childArm64] };

describe('parseManifest: kinds', () => {
  it('reads a Docker schema2 image manifest', () => {
    const parsed = parse(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, digest: d('config'), size: 7023 },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('l1'), size: 32654 }],
      },
      MediaType.dockerManifest,
    );
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, MediaType.dockerManifest);
    assert.equal(parsed.config?.mediaType, MediaType.dockerConfig);
    assert.equal(parsed.config?.digest.toString(), d('config'));
    assert.equal(parsed.config?.size, 7023);
    assert.equal(parsed.layers.length, 1);
    assert.equal(parsed.layers[0]?.digest.toString(), d('l1'));
    assert.deepEqual(parsed.manifests, []);
    assert.equal(parsed.subject, undefined);
    assert.equal(parsed.artifactType, undefined);
    assert.equal(parsed.annotations, undefined);
  });

  it('reads a Docker manifest list', () => {
    const parsed = parse(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifestList,
        manifests: [
          { ...childAmd64, mediaType: MediaType.dockerManifest },
          { ...childArm64, mediaType: MediaType.dockerManifest },
        ],
      },
      MediaType.dockerManifestList,
    );
    assert.equal(parsed.kind, 'index');
    assert.equal(parsed.mediaType, MediaType.dockerManifestList);
    assert.equal(parsed.config, undefined);
    assert.deepEqual(parsed.layers, []);
    assert.equal(parsed.manifests.length, 2);
    assert.deepEqual(parsed.manifests[0]?.platform, { architecture: 'amd64', os: 'linux' });
    assert.deepEqual(parsed.manifests[1]?.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  });

  it('reads an OCI image manifest', () => {
    const parsed = parse(ociImage, MediaType.ociManifest);
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, MediaType.ociManifest);
    assert.deepEqual(
      parsed.layers.map((l) => [l.mediaType, l.digest.toString(), l.size]),
      [
        [layerA.mediaType, layerA.digest, 1000],
        [layerB.mediaType, layerB.digest, 2000],
      ],
    );
  });

  it('reads an OCI index', () => {
    const parsed = parse(ociIndex, MediaType.ociIndex);
    assert.equal(parsed.kind, 'index');
    assert.equal(parsed.mediaType, MediaType.ociIndex);
    assert.deepEqual(
      parsed.manifests.map((m) => m.digest.toString()),
      [childAmd64.digest, childArm64.digest],
    );
  });

  it('reads an OCI index with no children', () => {
    const parsed = parse({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }, MediaType.ociIndex);
    assert.equal(parsed.kind, 'index');
    assert.deepEqual(parsed.manifests, []);
  });

  it('reads an OCI artifact with artifactType and the empty config', () => {
    const parsed = parse(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'application/vnd.example.sbom.v1',
        config: { mediaType: MediaType.ociEmpty, digest: emptyConfigDigest, size: 2, data: 'e30=' },
        layers: [{ mediaType: 'application/spdx+json', digest: d('sbom'), size: 4096 }],
      },
      MediaType.ociManifest,
    );
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.artifactType, 'application/vnd.example.sbom.v1');
    assert.equal(parsed.config?.mediaType, MediaType.ociEmpty);
    assert.equal(parsed.config?.digest.toString(), emptyConfigDigest);
    assert.equal(parsed.config?.size, 2);
  });

  it('reads an image manifest without layers as having none', () => {
    const parsed = parse({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor }, MediaType.ociManifest);
    assert.deepEqual(parsed.layers, []);
  });

  it('reads an index with an artifactType', () => {
    const parsed = parse({ ...ociIndex, artifactType: 'application/vnd.example.bundle' }, MediaType.ociIndex);
    assert.equal(parsed.artifactType, 'application/vnd.example.bundle');
  });

  it('parses a view into a larger buffer', () => {
    const inner = bytes(ociImage);
    const backing = new Uint8Array(inner.length + 20).fill(0x20);
    backing.set(inner, 10);
    backing[0] = 0x7b; // "{" outside the view must not matter
    const parsed = parseManifest(backing.subarray(10, 10 + inner.length), MediaType.ociManifest);
    assert.equal(parsed.kind, 'image');
  });
});

describe('parseManifest: media type', () => {
  it('takes the mediaType field when the Content-Type is absent or not a manifest type', () => {
    assert.equal(parse(ociImage).mediaType, MediaType.ociManifest);
    assert.equal(parse(ociImage, 'application/json').mediaType, MediaType.ociManifest);
    assert.equal(parse(ociImage, 'application/octet-stream').mediaType, MediaType.ociManifest);
    assert.equal(parse(ociIndex).mediaType, MediaType.ociIndex);
  });

  it('takes the Content-Type when the document has no mediaType field', () => {
    const { mediaType: _m, ...image } = ociImage;
    const { mediaType: _i, ...index } = ociIndex;
    assert.equal(parse(image, MediaType.ociManifest).mediaType, MediaType.ociManifest);
    assert.equal(parse(image, MediaType.dockerManifest).mediaType, MediaType.dockerManifest);
    assert.equal(parse(index, MediaType.ociIndex).mediaType, MediaType.ociIndex);
    assert.equal(parse(index, MediaType.dockerManifestList).kind, 'index');
  });

  it('infers the OCI type from the shape when neither says', () => {
    const { mediaType: _m, ...image } = ociImage;
    const { mediaType: _i, ...index } = ociIndex;
    const parsedImage = parse(image);
    assert.equal(parsedImage.mediaType, MediaType.ociManifest);
    assert.equal(parsedImage.kind, 'image');
    const parsedIndex = parse(index, 'application/json');
    assert.equal(parsedIndex.mediaType, MediaType.ociIndex);
    assert.equal(parsedIndex.kind, 'index');
  });

  it('cannot tell a document with neither a type nor a recognisable shape', () => {
    rejects({ schemaVersion: 2, layers: [layerA] }, undefined, /cannot tell the manifest type/);
    rejects({ schemaVersion: 2 }, 'application/json', /cannot tell the manifest type/);
  });

  it('rejects a mediaType that contradicts the Content-Type', () => {
    rejects(ociImage, MediaType.dockerManifest, /does not match the Content-Type/);
    rejects(ociImage, MediaType.ociIndex, /does not match the Content-Type/);
    rejects(ociIndex, MediaType.ociManifest, /does not match the Content-Type/);
    rejects({ ...ociImage, mediaType: 'application/vnd.example.other' }, MediaType.ociManifest, /does not match/);
  });

  it('rejects unsupported and non-string media types', () => {
    rejects({ ...ociImage, mediaType: MediaType.ociConfig }, undefined, /unsupported manifest media type/);
    rejects(
      { ...ociImage, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
      undefined,
      /unsupported manifest media type/,
    );
    rejects({ ...ociImage, mediaType: 5 }, undefined, /mediaType must be a string/);
    rejects({ ...ociImage, mediaType: null }, MediaType.ociManifest, /mediaType must be a string/);
  });
});

describe('parseManifest: rejected documents', () => {
  it('rejects schemaVersion 1 and anything but the number 2', () => {
    rejects({ ...ociImage, schemaVersion: 1 }, MediaType.ociManifest, /schemaVersion must be 2/);
    rejects(
      {
        schemaVersion: 1,
        name: 'library/x',
        tag: 'latest',
        architecture: 'amd64',
        fsLayers: [{ blobSum: d('x') }],
        history: [],
      },
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      /schemaVersion must be 2/,
    );
    rejects({ ...ociImage, schemaVersion: '2' }, MediaType.ociManifest, /schemaVersion/);
    rejects({ ...ociImage, schemaVersion: 3 }, MediaType.ociManifest, /schemaVersion/);
    const { schemaVersion: _s, ...withoutVersion } = ociImage;
    rejects(withoutVersion, MediaType.ociManifest, /schemaVersion/);
  });

  it('rejects what is not a JSON object', () => {
    rejects('', MediaType.ociManifest, /not valid JSON/);
    rejects('{', MediaType.ociManifest, /not valid JSON/);
    rejects('{"schemaVersion": 2,}', MediaType.ociManifest, /not valid JSON/);
    rejects('\u00ff\u00fe', MediaType.ociManifest, /not valid JSON/);
    for (const value of ['[]', 'null', '2', '"manifest"', 'true']) {
      rejects(value, MediaType.ociManifest, /must be a JSON object/);
    }
  });

  it('rejects documents with both "manifests" and "config" or "layers" (CVE-2021-41190)', () => {
    rejects({ ...ociImage, manifests: [childAmd64] }, MediaType.ociManifest, /must not have a "manifests" field/);
    rejects({ ...ociImage, manifests: [] }, undefined, /must not have a "manifests" field/);
    rejects({ ...ociIndex, layers: [layerA] }, MediaType.ociIndex, /must not have "config" or "layers"/);
    rejects({ ...ociIndex, config: configDescriptor }, undefined, /must not have "config" or "layers"/);
    rejects({ ...ociIndex, layers: null }, MediaType.ociIndex, /must not have "config" or "layers"/);
    const { mediaType: _m, ...untypedImage } = ociImage;
    // Neither a mediaType nor a Content-Type: the shape must not be read both ways either.
    rejects({ ...untypedImage, manifests: [childAmd64] }, undefined, /must not have/);
    rejects({ ...untypedImage, manifests: [childAmd64] }, MediaType.ociManifest, /must not have a "manifests" field/);
    rejects({ ...untypedImage, manifests: [childAmd64] }, MediaType.ociIndex, /must not have "config" or "layers"/);
    rejects(
      { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [], config: configDescriptor },
      MediaType.dockerManifestList,
      /must not have/,
    );
  });

  it('requires the fields of each kind', () => {
    rejects({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [layerA] }, undefined, /config must be an object/);
    rejects({ schemaVersion: 2, mediaType: MediaType.ociIndex }, undefined, /manifests must be an array/);
    rejects({ ...ociImage, layers: {} }, undefined, /layers must be an array/);
    rejects({ ...ociImage, layers: null }, undefined, /layers must be an array/);
    rejects({ ...ociIndex, manifests: 'x' }, undefined, /manifests must be an array/);
    rejects({ ...ociImage, config: [configDescriptor] }, undefined, /config must be an object/);
  });
});

describe('parseManifest: descriptors', () => {
  const withLayer = (layer: unknown): unknown => ({ ...ociImage, layers: [layerA, layer] });

  it('rejects a descriptor without a digest', () => {
    const { digest: _d, ...noDigest } = layerB;
    rejects(withLayer(noDigest), undefined, /layers\[1\]\.digest must be a string/);
    rejects(withLayer({ ...layerB, digest: 42 }), undefined, /layers\[1\]\.digest must be a string/);
  });

  it('rejects a bad digest, saying why', () => {
    rejects(withLayer({ ...layerB, digest: 'sha256:abc' }), undefined, /layers\[1\]\.digest: sha256 digest must be 64/);
    rejects(withLayer({ ...layerB, digest: `md5:${'a'.repeat(32)}` }), undefined, /unsupported digest algorithm "md5"/);
    rejects(withLayer({ ...layerB, digest: 'sha256:../../etc' }), undefined, /layers\[1\]\.digest: malformed digest/);
    rejects({ ...ociImage, config: { ...configDescriptor, digest: layerA.digest.toUpperCase() } }, undefined, /config\.digest/);
    rejects({ ...ociIndex, manifests: [childAmd64, { ...childArm64, digest: '' }] }, undefined, /manifests\[1\]\.digest/);
  });

  it('rejects a size that is not a non-negative integer', () => {
    for (const size of [-1, 1.5, '10', null, 2 ** 53, 1e300]) {
      rejects(withLayer({ ...layerB, size }), undefined, /layers\[1\]\.size must be a non-negative integer/);
    }
    const { size: _s, ...noSize } = layerB;
    rejects(withLayer(noSize), undefined, /layers\[1\]\.size/);
    rejects({ ...ociImage, config: { ...configDescriptor, size: -5 } }, undefined, /config\.size/);
  });

  it('accepts a size of zero and large sizes', () => {
    const parsed = parse(withLayer({ ...layerB, size: 0 }));
    assert.equal(parsed.layers[1]?.size, 0);
    const big = parse(withLayer({ ...layerB, size: 2 ** 40 }));
    assert.equal(big.layers[1]?.size, 2 ** 40);
  });

  it('rejects a missing, empty or over-long descriptor mediaType', () => {
    const { mediaType: _m, ...noType } = layerB;
    rejects(withLayer(noType), undefined, /layers\[1\]\.mediaType must be a non-empty string/);
    rejects(withLayer({ ...layerB, mediaType: '' }), undefined, /layers\[1\]\.mediaType/);
    rejects(withLayer({ ...layerB, mediaType: 'x'.repeat(256) }), undefined, /layers\[1\]\.mediaType/);
  });

  it('rejects descriptors that are not objects', () => {
    for (const layer of [null, 1, 'layer', [layerB]]) {
      rejects(withLayer(layer), undefined, /layers\[1\] must be an object/);
    }
  });

  it('validates optional descriptor fields', () => {
    rejects(withLayer({ ...layerB, urls: 'https://x' }), undefined, /urls must be an array of strings/);
    rejects(withLayer({ ...layerB, urls: [1] }), undefined, /urls must be an array of strings/);
    rejects(withLayer({ ...layerB, annotations: { a: 1 } }), undefined, /annotations must be a map of strings/);
    rejects(withLayer({ ...layerB, artifactType: 1 }), undefined, /artifactType must be a string/);
    rejects({ ...ociIndex, manifests: [{ ...childAmd64, platform: { os: 'linux' } }] }, undefined, /platform/);
    const parsed = parse(
      withLayer({
        ...layerB,
        mediaType: MediaType.dockerForeignLayer,
        urls: ['https://example.com/layer'],
        annotations: { 'org.example': 'x' },
      }),
    );
    assert.deepEqual(parsed.layers[1]?.urls, ['https://example.com/layer']);
    assert.deepEqual(parsed.layers[1]?.annotations, { 'org.example': 'x' });
  });
});

describe('parseManifest: subject, annotations, artifactType', () => {
  const subject = { mediaType: MediaType.ociManifest, digest: d('subject'), size: 321 };

  it('extracts the subject and annotations of an artifact', () => {
    const parsed = parse({
      ...ociImage,
      artifactType: 'application/vnd.example.signature',
      subject,
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example': '' },
    });
    assert.equal(parsed.subject?.digest.toString(), subject.digest);
    assert.equal(parsed.subject?.mediaType, MediaType.ociManifest);
    assert.equal(parsed.subject?.size, 321);
    assert.deepEqual(parsed.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example': '' });
    assert.equal(parsed.artifactType, 'application/vnd.example.signature');
  });

  it('extracts the subject of an index', () => {
    const parsed = parse({ ...ociIndex, subject });
    assert.equal(parsed.subject?.digest.toString(), subject.digest);
  });

  it('rejects a bad subject, bad annotations or a non-string artifactType', () => {
    rejects({ ...ociImage, subject: { ...subject, digest: 'sha256:x' } }, undefined, /subject\.digest/);
    rejects({ ...ociImage, subject: 'sha256:x' }, undefined, /subject must be an object/);
    rejects({ ...ociImage, subject: null }, undefined, /subject must be an object/);
    rejects({ ...ociImage, annotations: { a: 1 } }, undefined, /annotations must be a map of strings/);
    rejects({ ...ociImage, annotations: ['a'] }, undefined, /annotations must be a map of strings/);
    rejects({ ...ociImage, artifactType: 7 }, undefined, /artifactType must be a string/);
    rejects({ ...ociIndex, artifactType: {} }, undefined, /artifactType must be a string/);
  });
});

describe('parseManifest: nesting', () => {
  it('rejects 100000 nested arrays without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    rejects(deep, MediaType.ociManifest, /nested deeper than 64/);
  });

  it('rejects deep nesting inside an otherwise valid manifest', () => {
    const json = JSON.stringify(ociImage).replace(/}$/, `,"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`);
    rejects(json, MediaType.ociManifest, /nested deeper/);
  });

  it('allows 64 levels and rejects 65', () => {
    const withExtra = (arrays: number): string =>
      JSON.stringify(ociImage).replace(/}$/, `,"x":${'['.repeat(arrays)}${']'.repeat(arrays)}}`);
    // The document object is level 1.
    assert.equal(parseManifest(new TextEncoder().encode(withExtra(63)), MediaType.ociManifest).kind, 'image');
    rejects(withExtra(64), MediaType.ociManifest, /nested deeper than 64/);
  });

  it('does not count brackets inside strings, including after escaped quotes', () => {
    const parsed = parse({ ...ociImage, annotations: { a: '['.repeat(1000), b: `\\"${'{'.repeat(1000)}`, c: '\\' } });
    assert.equal(parsed.annotations?.a, '['.repeat(1000));
    // A string ending in an escaped backslash closes normally; the nesting after it still counts.
    const json = JSON.stringify({ ...ociImage, annotations: { c: 'x\\' } }).replace(/}$/, `,"x":${'['.repeat(100)}${']'.repeat(100)}}`);
    rejects(json, MediaType.ociManifest, /nested deeper/);
  });
});

describe('referencesOf', () => {
  it('lists the config and layers of an image as blobs, in order', () => {
    const refs = referencesOf(parse(ociImage));
    assert.deepEqual(
      refs.map((r) => [r.digest.toString(), r.kind]),
      [
        [configDescriptor.digest, 'blob'],
        [layerA.digest, 'blob'],
        [layerB.digest, 'blob'],
      ],
    );
  });

  it('lists the children of an index as manifests', () => {
    const refs = referencesOf(parse(ociIndex));
    assert.deepEqual(
      refs.map((r) => [r.digest.toString(), r.kind]),
      [
        [childAmd64.digest, 'manifest'],
        [childArm64.digest, 'manifest'],
      ],
    );
  });

  it('does not list the subject, which need not exist in the repository', () => {
    const subject = { mediaType: MediaType.ociManifest, digest: d('subject'), size: 1 };
    const refs = referencesOf(parse({ ...ociImage, subject }));
    assert.ok(refs.every((r) => r.digest.toString() !== subject.digest));
    assert.equal(refs.length, 3);
    assert.deepEqual(referencesOf(parse({ ...ociIndex, manifests: [], subject })), []);
  });

  it('returns Digest values', () => {
    for (const ref of referencesOf(parse(ociImage))) assert.ok(ref.digest instanceof Digest);
  });
});
