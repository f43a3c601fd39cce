// A repository: its tags with digest, size, push and pull times, the platforms of multi-arch
// indexes, copy-paste pull commands with this registry's host name, and deleting a tag (with a
// confirmation) when the visitor may. Tags come from GET /api/v1/tags; an index's platforms from
// its manifest (GET /v2/<name>/manifests/<digest>); deleting is DELETE /v2/<name>/manifests/<tag>.
import { getJson, repositoryPath, request, type TagList, type TagSummary } from '../api';
import { ConfirmButton, CopyCommand, Show, useLoad } from '../components';
import { formatBytes, formatTime, shortDigest } from '../format';
import { href } from '../router';
import { INDEX_TYPES, MANIFEST_ACCEPT, type OciIndex, platformName } from '../manifests';

export function Repository({ name }: { name: string }) {
  const [loaded, reload] = useLoad(() => getJson<TagList>(`/api/v1/tags?${new URLSearchParams({ repository: name }).toString()}`), [name]);
  const host = location.host;
  return (
    <section aria-labelledby="repository-heading">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <a href={href('')}>Repositories</a> / <span aria-current="page">{name}</span>
      </nav>
      <h1 id="repository-heading">{name}</h1>
      <Show loaded={loaded} what="tags">
        {(list) => (
          <>
            {list.tags.length === 0 ? (
              <p class="muted">This repository has no tags.</p>
            ) : (
              <>
                <h2>Pull</h2>
                <CopyCommand label="podman pull command" command={`podman pull ${host}/${name}:${list.tags[0]?.name ?? 'latest'}`} />
                <CopyCommand label="docker pull command" command={`docker pull ${host}/${name}:${list.tags[0]?.name ?? 'latest'}`} />
                <h2>Tags</h2>
                <ul class="tags">
                  {list.tags.map((tag) => (
                    <TagItem key={tag.name} repository={name} host={host} tag={tag} mayDelete={list.mayDelete} onDeleted={reload} />
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </Show>
    </section>
  );
}

function TagItem({
  repository,
  host,
  tag,
  mayDelete,
  onDeleted,
}: {
  repository: string;
  host: string;
  tag: TagSummary;
  mayDelete: boolean;
  onDeleted: () => void;
}) {
  const pushed = formatTime(tag.pushedAt);
  const pulled = formatTime(tag.lastPulledAt);
  const remove = async (): Promise<void> => {
    await request(`/v2/${repositoryPath(repository)}/manifests/${encodeURIComponent(tag.name)}`, { method: 'DELETE' });
    onDeleted();
  };
  return (
    <li class="tag" aria-labelledby={`tag-${tag.name}`}>
      <div class="tag-head">
        <h3 id={`tag-${tag.name}`}>
          <a href={href(`r/${repository}/-/manifest/${tag.digest}`)}>{tag.name}</a>
        </h3>
        {mayDelete && (
          <ConfirmButton
            label={`Delete tag ${tag.name}`}
            question={`Delete the tag ${repository}:${tag.name}? Pulls of it will fail.`}
            confirmLabel="Delete tag"
            onConfirm={remove}
          />
        )}
      </div>
      <dl class="facts">
        <div>
          <dt>Digest</dt>
          <dd>
            <code title={tag.digest}>{shortDigest(tag.digest)}</code>
          </dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(tag.size)}</dd>
        </div>
        <div>
          <dt>Pushed</dt>
          <dd>
            <time dateTime={pushed.exact} title={pushed.exact}>
              {pushed.text}
            </time>
          </dd>
        </div>
        <div>
          <dt>Last pulled</dt>
          <dd>
            <time dateTime={pulled.exact} title={pulled.exact}>
              {pulled.text}
            </time>
          </dd>
        </div>
        {tag.artifactType !== null && (
          <div>
            <dt>Artifact type</dt>
            <dd>{tag.artifactType}</dd>
          </div>
        )}
      </dl>
      {INDEX_TYPES.has(tag.mediaType) && <Platforms repository={repository} digest={tag.digest} />}
      <details>
        <summary>Pull commands for {tag.name}</summary>
        <CopyCommand label={`podman pull command for ${tag.name}`} command={`podman pull ${host}/${repository}:${tag.name}`} />
        <CopyCommand label={`docker pull command for ${tag.name}`} command={`docker pull ${host}/${repository}:${tag.name}`} />
        <CopyCommand label={`pull by digest command for ${tag.name}`} command={`podman pull ${host}/${repository}@${tag.digest}`} />
      </details>
    </li>
  );
}

function Platforms({ repository, digest }: { repository: string; digest: string }) {
  const [loaded] = useLoad(
    () => getJson<OciIndex>(`/v2/${repositoryPath(repository)}/manifests/${digest}`, MANIFEST_ACCEPT),
    [repository, digest],
  );
  return (
    <Show loaded={loaded} what="platforms">
      {(index) => (
        <p class="platforms">
          <span class="muted">Platforms: </span>
          {index.manifests.map((child) => (
            <a key={child.digest} class="chip" href={href(`r/${repository}/-/manifest/${child.digest}`)}>
              {platformName(child.platform)}
            </a>
          ))}
        </p>
      )}
    </Show>
  );
}
