// The first page: the repositories the visitor may read (GET /api/v1/repositories, which filters
// by access as /v2/_catalog does) with each one's tag count, size and last push, filtered by
// name, below a namespace of the namespace tree (GET /api/v1/repository-namespaces), by name or
// newest push first, a page at a time. The state lives in the address (?q=, ?ns=, ?sort=, ?after=), so every view can be linked to.
import { useEffect, useState } from 'preact/hooks';
import { getJson, type ListingOrder, type NamespaceList, type RepositoryPage } from '../api';
import { RelativeTime, Show, useLoad } from '../components';
import { formatBytes } from '../format';
import { href, navigate, useRoute } from '../router';

/** As /v2/_catalog's default page (limits.catalogdefaultentries), so the first pages agree. */
const PAGE_SIZE = 100;

interface ListView {
  q?: string;
  ns?: string;
  sort?: ListingOrder;
  after?: string;
}

/** The query of a view of the list; empty values (and the default order) are left out. */
function listQuery(view: ListView): Record<string, string> {
  const query: Record<string, string> = {};
  if (view.q) query.q = view.q;
  if (view.ns) query.ns = view.ns;
  if (view.sort === 'last-push') query.sort = view.sort;
  if (view.after) query.after = view.after;
  return query;
}

function listHref(view: ListView): string {
  return href('', listQuery(view));
}

export function Repositories() {
  const { query } = useRoute();
  const filter = query.get('q') ?? '';
  const namespace = query.get('ns') ?? '';
  const sort: ListingOrder = query.get('sort') === 'last-push' ? 'last-push' : 'name';
  const after = query.get('after') ?? '';
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const [loaded] = useLoad(() => {
    const params = new URLSearchParams({ n: String(PAGE_SIZE), sort });
    if (filter !== '') params.set('q', filter);
    if (namespace !== '') params.set('namespace', namespace);
    if (after !== '') params.set('last', after);
    return getJson<RepositoryPage>(`/api/v1/repositories?${params.toString()}`);
  }, [filter, namespace, sort, after]);

  const go = (view: ListView): void => navigate('', listQuery(view));
  const search = (event: Event): void => {
    event.preventDefault();
    go({ q: text.trim(), ns: namespace, sort });
  };

  return (
    <section aria-labelledby="repositories-heading">
      <h1 id="repositories-heading">Repositories</h1>
      <NamespacePath namespace={namespace} sort={sort} />
      <NamespaceTree parent={namespace} sort={sort} />
      <search>
        <form class="search" onSubmit={search}>
          <label for="repository-filter">Filter by name</label>
          <input
            id="repository-filter"
            type="search"
            value={text}
            placeholder="e.g. library/alpine"
            onInput={(event) => setText(event.currentTarget.value)}
          />
          <button type="submit">Search</button>
          <label for="repository-sort">Sort by</label>
          <select
            id="repository-sort"
            value={sort}
            onChange={(event) => go({ q: filter, ns: namespace, sort: event.currentTarget.value as ListingOrder })}
          >
            <option value="name">Name</option>
            <option value="last-push">Last push</option>
          </select>
        </form>
      </search>
      <Show loaded={loaded} what="repositories">
        {(page) => (
          <>
            {page.repositories.length === 0 ? (
              <p class="muted" id="no-repositories">
                {filter === '' ? 'No repositories you may read here.' : `No repository matches “${filter}”.`}
              </p>
            ) : (
              <div class="scroll">
                <table class="listing" id="repositories">
                  <caption class="visually-hidden">
                    Repositories{namespace === '' ? '' : ` in ${namespace}`}
                    {filter === '' ? '' : ` matching ${filter}`}, {sort === 'name' ? 'by name' : 'newest push first'}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Tags</th>
                      <th scope="col">Size</th>
                      <th scope="col">Last push</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.repositories.map((repository) => {
                      return (
                        <tr key={repository.name} data-repository={repository.name}>
                          <td>
                            <a href={href(`r/${repository.name}`)}>{repository.name}</a>
                          </td>
                          <td>{repository.tags}</td>
                          <td class="nowrap" data-bytes={repository.size}>
                            {formatBytes(repository.size)}
                          </td>
                          <td>
                            <RelativeTime at={repository.lastPush} />
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
            <nav class="pager" aria-label="Pages">
              {after !== '' && (
                <a href={listHref({ q: filter, ns: namespace, sort })} rel="first">
                  First page
                </a>
              )}
              {page.next !== null && (
                <a href={listHref({ q: filter, ns: namespace, sort, after: page.next })} rel="next">
                  Next page
                </a>
              )}
            </nav>
          </>
        )}
      </Show>
    </section>
  );
}

/** Where in the namespace tree the list is: each level a link up. */
function NamespacePath({ namespace, sort }: { namespace: string; sort: ListingOrder }) {
  if (namespace === '') return null;
  const parts = namespace.split('/');
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={listHref({ sort })}>All namespaces</a>
      {parts.map((part, index) => {
        const path = parts.slice(0, index + 1).join('/');
        return (
          <span key={path}>
            {' / '}
            {index === parts.length - 1 ? <span aria-current="page">{part}</span> : <a href={listHref({ ns: path, sort })}>{part}</a>}
          </span>
        );
      })}
    </nav>
  );
}

/** The namespaces one level below `parent` that hold repositories the visitor may read. */
function NamespaceTree({ parent, sort }: { parent: string; sort: ListingOrder }) {
  const [loaded] = useLoad(
    () => getJson<NamespaceList>(`/api/v1/repository-namespaces${parent === '' ? '' : `?${new URLSearchParams({ parent }).toString()}`}`),
    [parent],
  );
  if (loaded.state !== 'ready' || loaded.value.namespaces.length === 0) return null;
  return (
    <nav aria-label="Namespaces" class="namespaces">
      <h2 class="small">{parent === '' ? 'Namespaces' : `Namespaces in ${parent}`}</h2>
      <ul class="plain chips">
        {loaded.value.namespaces.map((namespace) => (
          <li key={namespace}>
            <a class="chip" href={listHref({ ns: namespace, sort })} data-namespace={namespace}>
              {namespace.slice(parent === '' ? 0 : parent.length + 1)}/
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
