// HTTP conformance for the OCI distribution v1.1 referrers API: manifests and indexes with a
// subject (OCI-Subject on PUT, also before the subject exists), GET /v2/<name>/referrers/<digest>
// (an image index of descriptors with artifactType and annotations, empty rather than 404),
// the artifactType filter with OCI-Filters-Applied, Link pagination, referrers removed by DELETE,
// the referrers tag schema older clients use, and several tags in one PUT (?tag=, OCI-Tag).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  EMPTY_CONFIG,
  EMPTY_JSON,
  MEDIA,
  assertOciError,
  descriptorOf,
  fetchManifest,
  listTagsOf,
  manifestOf,
  nextLink,
  ociManifest,
  pushBlob,
  pushImage,
  pushImageBlobs,
  pushManifest,
  putManifest,
  randomBlob,
  sha256,
  uniqueRepo,
  type BuiltManifest,
  type Descriptor,
} from './support.js';

const berthOnly = (what: string): string | false => testTarget === 'reference' && `Berth-only: ${what}`;

const SBOM = 'application/vnd.example.sbom.v1+json';
const SIGNATURE = 'application/vnd.example.signature.v1+json';

/** A referrers-list entry as the spec describes it. */
interface ReferrerEntry {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: ReferrerEntry[];
}

interface ArtifactOptions {
  readonly artifactType?: string;
  readonly config?: Descriptor;
  readonly layers?: Descriptor[];
  readonly annotations?: Record<string, string>;
}

/** An OCI image manifest with a subject (an artifact unless options say otherwise). */
function referrerManifest(subject: Descriptor, options: ArtifactOptions = {}): BuiltManifest {
  const extra: Record<string, unknown> = {};
  if (options.artifactType !== undefined) extra.artifactType = options.artifactType;
  extra.subject = subject;
  if (options.annotations !== undefined) extra.annotations = options.annotations;
  return ociManifest(options.config ?? EMPTY_CONFIG, options.layers ?? [], extra);
}

/** The entry the referrers API must list for a pushed referrer. */
function expectedEntry(manifest: BuiltManifest): ReferrerEntry {
  const parsed = JSON.parse(manifest.bytes.toString()) as {
    artifactType?: string;
    config?: { mediaType: string };
    annotations?: Record<string, string>;
  };
  const entry: ReferrerEntry = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
  const artifactType = parsed.artifactType ?? parsed.config?.mediaType;
  if (artifactType !== undefined) entry.artifactType = artifactType;
  if (parsed.annotations !== undefined && Object.keys(parsed.annotations).length > 0) {
    entry.annotations = parsed.annotations;
  }
  return entry;
}

/** Entries sorted by digest, with an empty annotations map treated as absent. */
function normalise(entries: readonly ReferrerEntry[]): ReferrerEntry[] {
  return entries
    .map((entry) => {
      const copy: ReferrerEntry = { ...entry };
      if (copy.annotations !== undefined && Object.keys(copy.annotations).length === 0) delete copy.annotations;
      return copy;
    })
    .sort((a, b) => a.digest.localeCompare(b.digest));
}

/** Every value of a (possibly repeated, possibly comma-joined) header. */
function headerValues(response: Response, name: string): string[] {
  const value = response.headers.get(name);
  if (value === null) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

describe('referrers', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  const referrersUrl = (repo: string, digest: string, query = ''): string => `${registry.url}/v2/${repo}/referrers/${digest}${query}`;

  /** GET a referrers page and check the envelope; returns the response and the index. */
  async function getReferrers(url: string): Promise<{ response: Response; index: ReferrersIndex }> {
    const response = await fetch(url);
    const text = await response.text();
    assert.equal(response.status, 200, `GET ${url}: ${text}`);
    assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.oci\.image\.index\.v1\+json\s*(;|$)/);
    const index = JSON.parse(text) as ReferrersIndex;
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MEDIA.ociIndex);
    assert.ok(Array.isArray(index.manifests), `manifests is not an array: ${text}`);
    return { response, index };
  }

  /** Asserts the full (unpaginated) referrers list of a subject. */
  async function assertReferrers(repo: string, subject: string, expected: readonly BuiltManifest[]): Promise<void> {
    const { response, index } = await getReferrers(referrersUrl(repo, subject));
    assert.equal(response.headers.get('oci-filters-applied'), null, 'no filter was requested');
    assert.equal(response.headers.get('link'), null, 'the whole list fits one page');
    assert.deepEqual(normalise(index.manifests), normalise(expected.map(expectedEntry)));
  }

  /** Pushes a referrer by digest and asserts 201 with OCI-Subject. */
  async function pushReferrer(repo: string, manifest: BuiltManifest, subject: string): Promise<void> {
    const { response, text } = await putManifest(registry.url, repo, manifest.digest, manifest);
    assert.equal(response.status, 201, `PUT referrer: ${text}`);
    assert.equal(response.headers.get('oci-subject'), subject);
    assert.equal(response.headers.get('docker-content-digest'), manifest.digest);
  }

  /** A repository with a tagged image (the subject) and the empty config blob. */
  async function subjectRepo(): Promise<{ repo: string; subject: BuiltManifest }> {
    const repo = uniqueRepo('referrers');
    const subject = await pushImage(registry.url, repo, 'v1', 'oci');
    await pushBlob(registry.url, repo, EMPTY_JSON);
    return { repo, subject };
  }

  /** Follows Link rel="next" from a first URL; returns every page's entries. */
  async function allPages(first: string, pageSize: number, filtered: boolean): Promise<ReferrerEntry[][]> {
    const pages: ReferrerEntry[][] = [];
    let url: string | undefined = first;
    while (url !== undefined) {
      assert.ok(pages.length < 20, 'too many pages');
      const { response, index } = await getReferrers(url);
      assert.equal(response.headers.get('oci-filters-applied'), filtered ? 'artifactType' : null, `filter header on ${url}`);
      assert.ok(index.manifests.length <= pageSize, `page of ${index.manifests.length} > n=${pageSize}`);
      pages.push(index.manifests);
      const link = nextLink(response.headers.get('link'));
      url = link === undefined ? undefined : new URL(link, url).toString();
    }
    return pages;
  }

  describe('pushing a manifest with a subject', () => {
    it('an artifact with a subject answers 201 with OCI-Subject; a manifest without one has no OCI-Subject', {
      skip: berthOnly('OCI-Subject'),
    }, async () => {
      const { repo, subject } = await subjectRepo();
      const artifact = referrerManifest(descriptorOf(subject), { artifactType: SBOM });
      await pushReferrer(repo, artifact, subject.digest);
      // By tag as well.
      const tagged = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE });
      const { response } = await putManifest(registry.url, repo, 'sig', tagged);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('oci-subject'), subject.digest);

      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const plain = await putManifest(registry.url, repo, 'plain', ociManifest(config, layers));
      assert.equal(plain.response.status, 201);
      assert.equal(plain.response.headers.get('oci-subject'), null);
    });

    it('a referrer may be pushed before its subject exists, and is listed before and after', {
      skip: berthOnly('referrers API'),
    }, async () => {
      const repo = uniqueRepo('referrers');
      await pushBlob(registry.url, repo, EMPTY_JSON);
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const subject = ociManifest(config, layers); // not pushed yet
      const artifact = referrerManifest(descriptorOf(subject), { artifactType: SBOM });
      await pushReferrer(repo, artifact, subject.digest);
      await assertReferrers(repo, subject.digest, [artifact]);
      const got = await fetchManifest(registry.url, repo, artifact.digest);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(artifact.bytes));

      await pushManifest(registry.url, repo, 'v1', subject);
      await assertReferrers(repo, subject.digest, [artifact]);
    });

    it('a referrer pushed again, and tagged, is listed once', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const artifact = referrerManifest(descriptorOf(subject), { artifactType: SBOM });
      await pushReferrer(repo, artifact, subject.digest);
      await pushReferrer(repo, artifact, subject.digest);
      const { response } = await putManifest(registry.url, repo, 'sbom', artifact);
      assert.equal(response.status, 201);
      await assertReferrers(repo, subject.digest, [artifact]);
    });

    it('a sha512 subject digest is recorded and queried like a sha256 one', { skip: berthOnly('referrers API') }, async () => {
      const repo = uniqueRepo('referrers');
      await pushBlob(registry.url, repo, EMPTY_JSON);
      const bytes = randomBlob(64);
      const subject: Descriptor = {
        mediaType: MEDIA.ociManifest,
        digest: `sha512:${createHash('sha512').update(bytes).digest('hex')}`,
        size: bytes.length,
      };
      const artifact = referrerManifest(subject, { artifactType: SBOM });
      await pushReferrer(repo, artifact, subject.digest);
      await assertReferrers(repo, subject.digest, [artifact]);
    });

    it('a subject with a malformed digest answers 400 MANIFEST_INVALID and stores nothing', {
      skip: berthOnly('subject validation'),
    }, async () => {
      const { repo } = await subjectRepo();
      for (const digest of ['sha256:abc', 'nonsense']) {
        const artifact = referrerManifest({ mediaType: MEDIA.ociManifest, digest, size: 10 }, { artifactType: SBOM });
        const put = await putManifest(registry.url, repo, artifact.digest, artifact);
        await assertOciError(put, 400, ['MANIFEST_INVALID', 'DIGEST_INVALID']);
        assert.equal((await fetchManifest(registry.url, repo, artifact.digest)).status, 404);
      }
    });

    it('an OCI index with a subject answers 201 with OCI-Subject and is listed', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const child = await (async () => {
        const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
        const manifest = ociManifest(config, layers);
        await pushManifest(registry.url, repo, manifest.digest, manifest);
        return manifest;
      })();
      const typed = manifestOf(MEDIA.ociIndex, {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        artifactType: 'application/vnd.example.bundle.v1',
        manifests: [descriptorOf(child)],
        subject: descriptorOf(subject),
        annotations: { 'org.example.kind': 'bundle' },
      });
      // Without artifactType, the entry has none (the spec: omitted for an index).
      const untyped = manifestOf(MEDIA.ociIndex, {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [descriptorOf(child)],
        subject: descriptorOf(subject),
      });
      await pushReferrer(repo, typed, subject.digest);
      await pushReferrer(repo, untyped, subject.digest);

      const { index } = await getReferrers(referrersUrl(repo, subject.digest));
      const byDigest = new Map(index.manifests.map((entry) => [entry.digest, entry]));
      assert.equal(byDigest.size, 2);
      assert.deepEqual(normalise([byDigest.get(typed.digest) ?? assert.fail('typed index missing')]), [
        {
          mediaType: MEDIA.ociIndex,
          digest: typed.digest,
          size: typed.bytes.length,
          artifactType: 'application/vnd.example.bundle.v1',
          annotations: { 'org.example.kind': 'bundle' },
        },
      ]);
      const plain = byDigest.get(untyped.digest) ?? assert.fail('untyped index missing');
      assert.equal(plain.mediaType, MEDIA.ociIndex);
      assert.equal(plain.size, untyped.bytes.length);
      assert.equal(plain.artifactType, undefined, 'an index without artifactType has none in the list');
    });
  });

  describe('GET /v2/<name>/referrers/<digest>', () => {
    it('lists each referrer with mediaType, digest, size, artifactType and annotations', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const sbomBytes = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', nonce: randomBytes(4).toString('hex') }));
      const sbomLayer: Descriptor = {
        mediaType: 'application/spdx+json',
        digest: await pushBlob(registry.url, repo, sbomBytes),
        size: sbomBytes.length,
      };
      const sbom = referrerManifest(descriptorOf(subject), {
        artifactType: SBOM,
        layers: [sbomLayer],
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.format': 'spdx' },
      });
      const signature = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE });
      // No artifactType: the entry takes the config's media type.
      const configBytes = Buffer.from(JSON.stringify({ signer: 'ci', nonce: randomBytes(4).toString('hex') }));
      const customConfig: Descriptor = {
        mediaType: 'application/vnd.example.attestation.config.v1+json',
        digest: await pushBlob(registry.url, repo, configBytes),
        size: configBytes.length,
      };
      const attestation = referrerManifest(descriptorOf(subject), {
        config: customConfig,
        annotations: { 'org.example.predicate': 'slsa' },
      });
      for (const manifest of [sbom, signature, attestation]) await pushReferrer(repo, manifest, subject.digest);

      await assertReferrers(repo, subject.digest, [sbom, signature, attestation]);
      const { index } = await getReferrers(referrersUrl(repo, subject.digest));
      const entry = index.manifests.find((m) => m.digest === attestation.digest);
      assert.equal(entry?.artifactType, 'application/vnd.example.attestation.config.v1+json');
    });

    it('a digest without referrers, or a repository that does not exist, gives an empty index, not 404', {
      skip: berthOnly('referrers API'),
    }, async () => {
      const { repo, subject } = await subjectRepo();
      await assertReferrers(repo, subject.digest, []);
      await assertReferrers(repo, sha256(randomBlob(16)), []);
      await assertReferrers(uniqueRepo('never'), subject.digest, []);
    });

    it('an invalid digest answers 400 DIGEST_INVALID', { skip: berthOnly('referrers API') }, async () => {
      const { repo } = await subjectRepo();
      for (const digest of ['sha256:abc', 'not-a-digest', `sha256:${'g'.repeat(64)}`, `sha256:${'A'.repeat(64)}`]) {
        await assertOciError(await fetch(referrersUrl(repo, digest)), 400, 'DIGEST_INVALID');
      }
    });

    it('lists only referrers in the same repository', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const other = uniqueRepo('referrers');
      await pushBlob(registry.url, other, EMPTY_JSON);
      const here = referrerManifest(descriptorOf(subject), { artifactType: SBOM });
      const there = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE });
      await pushReferrer(repo, here, subject.digest);
      await pushReferrer(other, there, subject.digest);
      await assertReferrers(repo, subject.digest, [here]);
      await assertReferrers(other, subject.digest, [there]);
    });

    it('?artifactType= filters and sets OCI-Filters-Applied: artifactType', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const sboms = [
        referrerManifest(descriptorOf(subject), { artifactType: SBOM }),
        referrerManifest(descriptorOf(subject), { artifactType: SBOM, annotations: { n: '2' } }),
      ];
      const signature = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE });
      for (const manifest of [...sboms, signature]) await pushReferrer(repo, manifest, subject.digest);

      const filtered = await getReferrers(referrersUrl(repo, subject.digest, `?artifactType=${encodeURIComponent(SBOM)}`));
      assert.equal(filtered.response.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(normalise(filtered.index.manifests), normalise(sboms.map(expectedEntry)));

      const none = await getReferrers(
        referrersUrl(repo, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.none')}`),
      );
      assert.equal(none.response.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(none.index.manifests, []);

      // Without the filter: everything, and no header.
      await assertReferrers(repo, subject.digest, [...sboms, signature]);
    });

    it('?n= paginates with Link rel="next"; following the Links yields every referrer once', {
      skip: berthOnly('referrers API'),
    }, async () => {
      const { repo, subject } = await subjectRepo();
      const pushed: BuiltManifest[] = [];
      for (let i = 0; i < 7; i++) {
        const manifest = referrerManifest(descriptorOf(subject), { artifactType: SBOM, annotations: { i: String(i) } });
        await pushReferrer(repo, manifest, subject.digest);
        pushed.push(manifest);
      }
      const first = await getReferrers(referrersUrl(repo, subject.digest, '?n=3'));
      assert.equal(first.index.manifests.length, 3);
      assert.ok(first.response.headers.get('link'), 'a first page of 3 out of 7 has a Link');

      const pages = await allPages(referrersUrl(repo, subject.digest, '?n=3'), 3, false);
      assert.ok(pages.length >= 3, `7 referrers in pages of 3 need at least 3 pages, got ${pages.length}`);
      const entries = pages.flat();
      const digests = entries.map((entry) => entry.digest);
      assert.equal(new Set(digests).size, digests.length, `a referrer appeared twice: ${digests.join(' ')}`);
      assert.deepEqual(normalise(entries), normalise(pushed.map(expectedEntry)));
    });

    it('pagination keeps the artifactType filter on every page', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const sboms: BuiltManifest[] = [];
      for (let i = 0; i < 5; i++) {
        const sbom = referrerManifest(descriptorOf(subject), { artifactType: SBOM, annotations: { i: String(i) } });
        const signature = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE, annotations: { i: String(i) } });
        await pushReferrer(repo, sbom, subject.digest);
        await pushReferrer(repo, signature, subject.digest);
        sboms.push(sbom);
      }
      const pages = await allPages(referrersUrl(repo, subject.digest, `?n=2&artifactType=${encodeURIComponent(SBOM)}`), 2, true);
      assert.deepEqual(normalise(pages.flat()), normalise(sboms.map(expectedEntry)));
    });

    it('DELETE of a referrer removes it from the list; the others stay', { skip: berthOnly('referrers API') }, async () => {
      const { repo, subject } = await subjectRepo();
      const keep = referrerManifest(descriptorOf(subject), { artifactType: SBOM });
      const drop = referrerManifest(descriptorOf(subject), { artifactType: SIGNATURE });
      await pushReferrer(repo, keep, subject.digest);
      await pushReferrer(repo, drop, subject.digest);
      await assertReferrers(repo, subject.digest, [keep, drop]);
      const response = await fetch(`${registry.url}/v2/${repo}/manifests/${drop.digest}`, { method: 'DELETE' });
      await response.arrayBuffer();
      assert.equal(response.status, 202);
      await assertReferrers(repo, subject.digest, [keep]);
    });
  });

  it('the referrers tag schema still works: a sha256-<hex> tag holding an index is pushed and listed', async () => {
    const { repo, subject } = await subjectRepo();
    const artifact = referrerManifest(descriptorOf(subject), {
      artifactType: SBOM,
      annotations: { 'org.example.format': 'spdx' },
    });
    await pushManifest(registry.url, repo, artifact.digest, artifact);
    const tag = subject.digest.replace(':', '-');
    const fallback = manifestOf(MEDIA.ociIndex, {
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: [descriptorOf(artifact, { artifactType: SBOM })],
    });
    await pushManifest(registry.url, repo, tag, fallback);
    assert.deepEqual((await listTagsOf(registry.url, repo)).sort(), [tag, 'v1'].sort());
    const got = await fetchManifest(registry.url, repo, tag);
    assert.equal(got.status, 200);
    assert.equal(got.contentType, MEDIA.ociIndex);
    assert.equal(got.digest, fallback.digest);
    assert.ok(got.body.equals(fallback.bytes));
    if (testTarget === 'berth') {
      // The index under the tag has no subject, so the API lists the artifact alone.
      await assertReferrers(repo, subject.digest, [artifact]);
    }
  });

  describe('several tags in one PUT (?tag=)', () => {
    /** PUT a new image manifest to reference with the query; returns the manifest, response and repository. */
    async function putWithTags(
      reference: 'digest' | string,
      tags: readonly string[],
    ): Promise<{ repo: string; manifest: BuiltManifest; response: Response }> {
      const repo = uniqueRepo('referrers');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const manifest = ociManifest(config, layers);
      const query = tags.map((tag) => `tag=${encodeURIComponent(tag)}`).join('&');
      const path = reference === 'digest' ? manifest.digest : reference;
      const response = await fetch(`${registry.url}/v2/${repo}/manifests/${path}?${query}`, {
        method: 'PUT',
        headers: { 'content-type': manifest.mediaType },
        body: manifest.bytes,
      });
      const text = await response.text();
      assert.equal(response.status, 201, `PUT ${repo}/manifests/${path}?${query}: ${text}`);
      assert.equal(response.headers.get('docker-content-digest'), manifest.digest);
      return { repo, manifest, response };
    }

    async function assertTagsResolve(repo: string, tags: readonly string[], manifest: BuiltManifest): Promise<void> {
      for (const tag of tags) {
        const got = await fetchManifest(registry.url, repo, tag);
        assert.equal(got.status, 200, `GET ${repo}:${tag}`);
        assert.equal(got.digest, manifest.digest);
        assert.ok(got.body.equals(manifest.bytes));
      }
    }

    it('PUT by digest with ?tag=a&tag=b answers 201 and both tags resolve', { skip: berthOnly('?tag= on manifest PUT') }, async () => {
      const { repo, manifest } = await putWithTags('digest', ['a', 'b']);
      await assertTagsResolve(repo, ['a', 'b'], manifest);
      assert.deepEqual((await listTagsOf(registry.url, repo)).sort(), ['a', 'b']);
    });

    it('ten tags in one PUT are all created', { skip: berthOnly('?tag= on manifest PUT') }, async () => {
      const tags = ['1', '1.2', '1.2.3', 'latest', 'stable', 'v1', 'v1.2', 'v1.2.3', 'prod', 'x_y'];
      const { repo, manifest } = await putWithTags('digest', tags);
      await assertTagsResolve(repo, tags, manifest);
      assert.deepEqual((await listTagsOf(registry.url, repo)).sort(), [...tags].sort());
    });

    it('PUT by tag with ?tag= creates the path tag and the extra tags', { skip: berthOnly('?tag= on manifest PUT') }, async () => {
      const { repo, manifest } = await putWithTags('main', ['x', 'y']);
      await assertTagsResolve(repo, ['main', 'x', 'y'], manifest);
    });

    it('the 201 carries an OCI-Tag value for each accepted tag', { skip: berthOnly('?tag= on manifest PUT') }, async () => {
      const two = await putWithTags('digest', ['a', 'b']);
      assert.deepEqual(headerValues(two.response, 'oci-tag').sort(), ['a', 'b'], `OCI-Tag: ${two.response.headers.get('oci-tag')}`);
      const tags = ['1', '1.2', '1.2.3', 'latest', 'stable', 'v1', 'v1.2', 'v1.2.3', 'prod', 'x_y'];
      const ten = await putWithTags('digest', tags);
      assert.deepEqual(headerValues(ten.response, 'oci-tag').sort(), [...tags].sort());
      const byTag = await putWithTags('main', ['x', 'y']);
      const reported = headerValues(byTag.response, 'oci-tag');
      for (const tag of ['x', 'y']) assert.ok(reported.includes(tag), `OCI-Tag lacks ${tag}: ${reported.join(', ')}`);
    });

    it('an invalid tag in ?tag= answers 400 TAG_INVALID and stores nothing', { skip: berthOnly('?tag= on manifest PUT') }, async () => {
      const repo = uniqueRepo('referrers');
      await pushImage(registry.url, repo, 'existing', 'oci');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const manifest = ociManifest(config, layers);
      for (const bad of ['.bad', 'has space', 'a'.repeat(129), '']) {
        const url = `${registry.url}/v2/${repo}/manifests/${manifest.digest}?tag=good&tag=${encodeURIComponent(bad)}`;
        const response = await fetch(url, {
          method: 'PUT',
          headers: { 'content-type': manifest.mediaType },
          body: manifest.bytes,
        });
        await assertOciError(response, 400, 'TAG_INVALID');
      }
      assert.equal((await fetchManifest(registry.url, repo, manifest.digest)).status, 404);
      assert.equal((await fetchManifest(registry.url, repo, 'good')).status, 404);
      assert.deepEqual(await listTagsOf(registry.url, repo), ['existing']);
    });
  });
});
