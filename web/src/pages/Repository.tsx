// A repository: its tags in a table (digest, size, push and last pull times, the platforms of a
// multi-arch index, badges for an immutable tag and for what retention would do to it now), by
// name or newest push first, a page at a time; copy-paste pull commands by
// tag and by digest with this registry's host name; deleting a tag (with a confirmation) when the
// visitor may. Tags come from GET /api/v1/tags (the same tags /v2/<name>/tags/list lists); an
// index's platforms from its manifest (GET /v2/<name>/manifests/<digest>); deleting is
// DELETE /v2/<name>/manifests/<tag>. The order and page live in the address (?sort=, ?after=).
import { useState } from 'preact/hooks';
import { getJson, type ListingOrder, referencePath, repositoryPath, request, type TagList, type TagSummary } from '../api';
import { ConfirmButton, CopyCommand, RelativeTime, Show, useLoad } from '../components';
import { formatBytes, shortDigest } from '../format';
import { IMAGE_CONFIG_TYPES, INDEX_TYPES, MANIFEST_ACCEPT, type OciIndex, platformName } from '../manifests';
import { href, navigate, useRoute } from '../router';

const PAGE_SIZE = 100;

function pageQuery(sort: ListingOrder, after?: string): Record<string, string> {
  return { ...(sort === 'last-push' ? { sort } : {}), ...(after ? { after } : {}) };
}

export function Repository({ name }: { name: string }) {
  const { query } = useRoute();
  const sort: ListingOrder = query.get('sort') === 'last-push' ? 'last-push' : 'name';
  const after = query.get('after') ?? '';
  const [loaded, reload] = useLoad(() => {
    const params = new URLSearchParams({ repository: name, n: String(PAGE_SIZE), sort });
    if (after !== '') params.set('last', after);
    return getJson<TagList>(`/api/v1/tags?${params.toString()}`);
  }, [name, sort, after]);
  const route = `r/${name}`;
  return (
    <section aria-labelledby="repository-heading">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <a href={href('')}>Repositories</a> / <span aria-current="page">{name}</span>
      </nav>
      <h1 id="repository-heading">{name}</h1>
      <Show loaded={loaded} what="tags">
        {(list) =>
          list.tags.length === 0 && after === '' ? (
            <p class="muted" id="no-tags">
              This repository has no tags.
            </p>
          ) : (
            <>
              <PullCommands repository={name} tags={list.tags} />
              <h2 id="tags-heading">Tags</h2>
              <form class="search" onSubmit={(event) => event.preventDefault()}>
                <label for="tag-sort">Sort tags by</label>
                <select
                  id="tag-sort"
                  value={sort}
                  onChange={(event) => navigate(route, pageQuery(event.currentTarget.value as ListingOrder))}
                >
                  <option value="name">Name</option>
                  <option value="last-push">Last push</option>
                </select>
              </form>
              <div class="scroll">
                <table class="listing" id="tags" aria-labelledby="tags-heading">
                  <thead>
                    <tr>
                      <th scope="col">Tag</th>
                      <th scope="col">Digest</th>
                      <th scope="col">Size</th>
                      <th scope="col">Pushed</th>
                      <th scope="col">Last pulled</th>
                      <th scope="col">Platforms</th>
                      {list.mayDelete && <th scope="col">Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {list.tags.map((tag) => (
                      <TagRow key={tag.name} repository={name} tag={tag} mayDelete={list.mayDelete} onDeleted={reload} />
                    ))}
                  </tbody>
                </table>
              </div>
              <nav class="pager" aria-label="Pages of tags">
                {after !== '' && (
                  <a href={href(route, pageQuery(sort))} rel="first">
                    First page
                  </a>
                )}
                {list.next !== null && (
                  <a href={href(route, pageQuery(sort, list.next))} rel="next">
                    Next page
                  </a>
                )}
              </nav>
            </>
          )
        }
      </Show>
    </section>
  );
}

/** docker and podman pull commands for a tag the visitor picks, by tag and by digest. */
function PullCommands({ repository, tags }: { repository: string; tags: TagSummary[] }) {
  const [chosen, setChosen] = useState<string | undefined>();
  const tag = tags.find((candidate) => candidate.name === chosen) ?? tags.find((candidate) => candidate.name === 'latest') ?? tags[0];
  if (tag === undefined) return null;
  const image = `${location.host}/${repository}`;
  return (
    <section aria-labelledby="pull-heading">
      <h2 id="pull-heading">Pull</h2>
      <form class="search" onSubmit={(event) => event.preventDefault()}>
        <label for="pull-tag">Tag</label>
        <select id="pull-tag" value={tag.name} onChange={(event) => setChosen(event.currentTarget.value)}>
          {tags.map((candidate) => (
            <option key={candidate.name} value={candidate.name}>
              {candidate.name}
            </option>
          ))}
        </select>
      </form>
      <CopyCommand label="podman pull command" command={`podman pull ${image}:${tag.name}`} />
      <CopyCommand label="docker pull command" command={`docker pull ${image}:${tag.name}`} />
      <CopyCommand label="podman pull by digest command" command={`podman pull ${image}@${tag.digest}`} />
      <CopyCommand label="docker pull by digest command" command={`docker pull ${image}@${tag.digest}`} />
    </section>
  );
}

/** An artifact (a signature, an SBOM, a Helm chart) rather than a container image: the index records an image's config type as its artifact type. */
function isArtifact(tag: TagSummary): boolean {
  return tag.artifactType !== null && !IMAGE_CONFIG_TYPES.has(tag.artifactType);
}

function TagRow({
  repository,
  tag,
  mayDelete,
  onDeleted,
}: {
  repository: string;
  tag: TagSummary;
  mayDelete: boolean;
  onDeleted: () => void;
}) {
  const remove = async (): Promise<void> => {
    await request(`/v2/${repositoryPath(repository)}/manifests/${referencePath(tag.name)}`, { method: 'DELETE' });
    onDeleted();
  };
  return (
    <tr data-tag={tag.name} data-digest={tag.digest}>
      <th scope="row">
        <a href={href(`r/${repository}/-/manifest/${tag.digest}`)}>{tag.name}</a>
        {isArtifact(tag) && <span class="chip">{tag.artifactType}</span>}
        <TagMarks tag={tag} />
      </th>
      <td class="nowrap">
        <code title={tag.digest} data-digest={tag.digest}>
          {shortDigest(tag.digest)}
        </code>
      </td>
      <td class="nowrap" data-bytes={tag.size}>
        {formatBytes(tag.size)}
      </td>
      <td>
        <RelativeTime at={tag.pushedAt} />
      </td>
      <td>
        <RelativeTime at={tag.lastPulledAt} />
      </td>
      <td>
        {INDEX_TYPES.has(tag.mediaType) ? <Platforms repository={repository} digest={tag.digest} /> : <span class="muted">single</span>}
      </td>
      {mayDelete && (
        <td>
          <ConfirmButton
            label={`Delete tag ${tag.name}`}
            question={`Delete the tag ${repository}:${tag.name}? Pulls of it will fail.`}
            confirmLabel="Delete tag"
            onConfirm={remove}
          />
        </td>
      )}
    </tr>
  );
}

/**
 * The tag's marks as small badges whose words say it (not their colour): "immutable" when an
 * immutability rule protects it, and what the retention policy judging the repository would do
 * if it ran now, with the delete rules that match (keeplast, olderthan, notpulledfor).
 */
function TagMarks({ tag }: { tag: TagSummary }) {
  const { immutable, retention } = tag;
  return (
    <>
      {immutable && (
        <span class="badge" data-mark="immutable" title="An immutability rule protects this tag: it cannot be moved or deleted">
          immutable
        </span>
      )}
      {retention !== null &&
        (retention.keeps ? (
          <span class="badge" data-mark="retention-keep" title={`Retention policy ${retention.rule} keeps this tag`}>
            retention: kept
          </span>
        ) : (
          <span class="badge badge-warn" data-mark="retention-remove" title={`Retention policy ${retention.rule} would untag it now`}>
            retention: removes ({retention.reasons.join(', ')})
          </span>
        ))}
    </>
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
        <ul class="plain chips">
          {index.manifests.map((child) => (
            <li key={child.digest}>
              <a class="chip" href={href(`r/${repository}/-/manifest/${child.digest}`)} data-digest={child.digest}>
                {platformName(child.platform)}
              </a>
            </li>
          ))}
        </ul>
      )}
    </Show>
  );
}
