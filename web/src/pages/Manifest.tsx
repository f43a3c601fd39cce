// A manifest: its JSON as pushed, media type and digest; for an image its configuration
// (platform, entrypoint, cmd, env, labels, created, history as a Dockerfile-like list) and
// layers with sizes and download links; for an index its children; annotations; and referrers
// (signatures, SBOMs, attestations) with their artifact types, linked; deleting the manifest
// (with a confirmation) when the visitor may. Everything comes from /v2/ (the manifest, the
// config blob, the referrers API, DELETE by digest), except whether the visitor may delete,
// which GET /api/v1/tags says.
import { getJson, referencePath, repositoryPath, request, type TagList } from '../api';
import { ConfirmButton, CopyCommand, RelativeTime, Show, useLoad } from '../components';
import { formatBytes, shortDigest } from '../format';
import { type Descriptor, type ImageConfig, type ImageManifest, isIndex, MANIFEST_ACCEPT, type OciIndex, platformName } from '../manifests';
import { href, navigate } from '../router';

interface LoadedManifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly text: string;
  readonly manifest: OciIndex | ImageManifest;
  readonly config: ImageConfig | undefined;
  readonly referrers: Descriptor[];
  /** Whether the visitor may delete manifests here. */
  readonly mayDelete: boolean;
}

async function loadManifest(repository: string, reference: string): Promise<LoadedManifest> {
  const base = `/v2/${repositoryPath(repository)}`;
  const response = await request(`${base}/manifests/${referencePath(reference)}`, { accept: MANIFEST_ACCEPT });
  const text = await response.text();
  const manifest = JSON.parse(text) as OciIndex | ImageManifest;
  const mediaType = (response.headers.get('Content-Type') ?? manifest.mediaType ?? '').split(';')[0] ?? '';
  const digest = response.headers.get('Docker-Content-Digest') ?? reference;
  let config: ImageConfig | undefined;
  if (!isIndex(manifest, mediaType) && manifest.config.mediaType.endsWith('config.v1+json')) {
    config = (await (await request(`${base}/blobs/${manifest.config.digest}`)).json()) as ImageConfig;
  }
  const referrers = ((await (await request(`${base}/referrers/${digest}`)).json()) as OciIndex).manifests;
  const mayDelete = await getJson<TagList>(`/api/v1/tags?${new URLSearchParams({ repository, n: '1' }).toString()}`).then(
    (list) => list.mayDelete,
    () => false,
  );
  return { mediaType, digest, text, manifest, config, referrers, mayDelete };
}

export function Manifest({ repository, reference }: { repository: string; reference: string }) {
  const [loaded] = useLoad(() => loadManifest(repository, reference), [repository, reference]);
  return (
    <section aria-labelledby="manifest-heading">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <a href={href('')}>Repositories</a> / <a href={href(`r/${repository}`)}>{repository}</a> /{' '}
        <span aria-current="page">{shortDigest(reference)}</span>
      </nav>
      <h1 id="manifest-heading">
        {repository}@{shortDigest(reference)}
      </h1>
      <Show loaded={loaded} what="the manifest">
        {(value) => <ManifestDetails repository={repository} value={value} />}
      </Show>
    </section>
  );
}

function ManifestDetails({ repository, value }: { repository: string; value: LoadedManifest }) {
  const { manifest, mediaType, digest, config } = value;
  const pretty = JSON.stringify(manifest, null, 2);
  return (
    <>
      <dl class="facts">
        <div>
          <dt>Digest</dt>
          <dd>
            <code class="wrap" data-digest={digest}>
              {digest}
            </code>
          </dd>
        </div>
        <div>
          <dt>Media type</dt>
          <dd data-media-type={mediaType}>{mediaType}</dd>
        </div>
        {'artifactType' in manifest && manifest.artifactType !== undefined && (
          <div>
            <dt>Artifact type</dt>
            <dd>{manifest.artifactType}</dd>
          </div>
        )}
        {manifest.subject !== undefined && (
          <div>
            <dt>Subject</dt>
            <dd>
              <a href={href(`r/${repository}/-/manifest/${manifest.subject.digest}`)}>{shortDigest(manifest.subject.digest)}</a>
            </dd>
          </div>
        )}
      </dl>
      <CopyCommand label="pull by digest command" command={`podman pull ${location.host}/${repository}@${digest}`} />
      {value.mayDelete && (
        <ConfirmButton
          label="Delete manifest"
          question={`Delete ${repository}@${digest}? The tags that name it go with it, and pulls of it will fail.`}
          confirmLabel="Delete manifest"
          onConfirm={async () => {
            await request(`/v2/${repositoryPath(repository)}/manifests/${digest}`, { method: 'DELETE' });
            navigate(`r/${repository}`);
          }}
        />
      )}
      {isIndex(manifest, mediaType) ? (
        <IndexChildren repository={repository} index={manifest} />
      ) : (
        <>
          {config !== undefined && <ConfigDetails config={config} />}
          <Layers repository={repository} manifest={manifest} />
        </>
      )}
      <Annotations annotations={manifest.annotations} />
      <Referrers repository={repository} referrers={value.referrers} />
      <h2>Manifest JSON</h2>
      <section aria-label="Manifest JSON">
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must take focus so the keyboard can scroll it */}
        <pre class="json" tabIndex={0}>
          {pretty}
        </pre>
      </section>
    </>
  );
}

function IndexChildren({ repository, index }: { repository: string; index: OciIndex }) {
  return (
    <>
      <h2>Platforms</h2>
      <table class="listing">
        <thead>
          <tr>
            <th scope="col">Platform</th>
            <th scope="col">Digest</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {index.manifests.map((child) => (
            <tr key={child.digest} data-digest={child.digest}>
              <td>{platformName(child.platform)}</td>
              <td>
                <a href={href(`r/${repository}/-/manifest/${child.digest}`)} title={child.digest}>
                  <code>{shortDigest(child.digest)}</code>
                </a>
              </td>
              <td>{formatBytes(child.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ConfigDetails({ config }: { config: ImageConfig }) {
  const run = config.config ?? {};
  const labels = Object.entries(run.Labels ?? {});
  return (
    <>
      <h2>Configuration</h2>
      <dl class="facts">
        <div>
          <dt>Platform</dt>
          <dd>{[config.os, config.architecture, config.variant].filter(Boolean).join('/') || 'unknown'}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <RelativeTime at={config.created} />
          </dd>
        </div>
        <div>
          <dt>Entrypoint</dt>
          <dd>
            <code>{run.Entrypoint ? JSON.stringify(run.Entrypoint) : 'none'}</code>
          </dd>
        </div>
        <div>
          <dt>Cmd</dt>
          <dd>
            <code>{run.Cmd ? JSON.stringify(run.Cmd) : 'none'}</code>
          </dd>
        </div>
        {run.WorkingDir && (
          <div>
            <dt>Working directory</dt>
            <dd>
              <code>{run.WorkingDir}</code>
            </dd>
          </div>
        )}
        {run.User && (
          <div>
            <dt>User</dt>
            <dd>
              <code>{run.User}</code>
            </dd>
          </div>
        )}
      </dl>
      {(run.Env ?? []).length > 0 && (
        <>
          <h3>Environment</h3>
          <ul class="plain">
            {(run.Env ?? []).map((entry) => (
              <li key={entry}>
                <code class="wrap">{entry}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {labels.length > 0 && (
        <>
          <h3>Labels</h3>
          <dl class="pairs">
            {labels.map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
      {(config.history ?? []).length > 0 && (
        <>
          <h3>History</h3>
          <ol class="history">
            {(config.history ?? []).map((step, index) => (
              <li key={index} class={step.empty_layer ? 'muted' : ''}>
                <code class="wrap">{dockerfileLine(step.created_by ?? step.comment ?? '')}</code>
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}

/** A history step as a Dockerfile line: buildah and docker record "/bin/sh -c #(nop) CMD ..." for metadata steps. */
function dockerfileLine(createdBy: string): string {
  const nop = /^\/bin\/sh -c #\(nop\)\s*/;
  if (nop.test(createdBy)) return createdBy.replace(nop, '');
  if (createdBy.startsWith('/bin/sh -c ')) return `RUN ${createdBy.slice('/bin/sh -c '.length)}`;
  return createdBy;
}

function Layers({ repository, manifest }: { repository: string; manifest: ImageManifest }) {
  const total = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  return (
    <>
      <h2>Layers</h2>
      <p class="muted">
        {manifest.layers.length} {manifest.layers.length === 1 ? 'layer' : 'layers'}, {formatBytes(total)} compressed
      </p>
      <table class="listing">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Digest</th>
            <th scope="col">Media type</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {manifest.layers.map((layer, index) => (
            <tr key={`${index}-${layer.digest}`} data-digest={layer.digest}>
              <td>{index + 1}</td>
              <td>
                <a href={`/v2/${repositoryPath(repository)}/blobs/${layer.digest}`} download title={layer.digest}>
                  <code>{shortDigest(layer.digest)}</code>
                  <span class="visually-hidden"> (download layer {index + 1})</span>
                </a>
              </td>
              <td>{layer.mediaType}</td>
              <td data-bytes={layer.size}>{formatBytes(layer.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Annotations({ annotations }: { annotations: Record<string, string> | undefined }) {
  const entries = Object.entries(annotations ?? {});
  if (entries.length === 0) return null;
  return (
    <>
      <h2>Annotations</h2>
      <dl class="pairs">
        {entries.map(([key, value]) => (
          <div key={key}>
            <dt>{key}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function Referrers({ repository, referrers }: { repository: string; referrers: Descriptor[] }) {
  return (
    <>
      <h2>Referrers</h2>
      {referrers.length === 0 ? (
        <p class="muted">No signatures, SBOMs or attestations refer to this manifest.</p>
      ) : (
        <ul class="plain">
          {referrers.map((referrer) => (
            <li key={referrer.digest} data-digest={referrer.digest}>
              <a href={href(`r/${repository}/-/manifest/${referrer.digest}`)} title={referrer.digest}>
                <code>{shortDigest(referrer.digest)}</code>
              </a>{' '}
              <span class="chip">{referrer.artifactType ?? referrer.mediaType}</span> {formatBytes(referrer.size)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
