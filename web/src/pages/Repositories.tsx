// The first page: the repositories the visitor may read, filtered by name, a page at a time
// (GET /api/v1/repositories, which filters by access as /v2/_catalog does).
import { useEffect, useState } from 'preact/hooks';
import { getJson, type RepositoryPage } from '../api';
import { Show, useLoad } from '../components';
import { formatTime } from '../format';
import { href, navigate, useRoute } from '../router';

const PAGE_SIZE = 50;

export function Repositories() {
  const { query } = useRoute();
  const filter = query.get('q') ?? '';
  const after = query.get('after') ?? '';
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const [loaded] = useLoad(() => {
    const params = new URLSearchParams({ n: String(PAGE_SIZE) });
    if (filter !== '') params.set('q', filter);
    if (after !== '') params.set('last', after);
    return getJson<RepositoryPage>(`/api/v1/repositories?${params.toString()}`);
  }, [filter, after]);

  const search = (event: Event): void => {
    event.preventDefault();
    navigate(text.trim() === '' ? '' : `?${new URLSearchParams({ q: text.trim() }).toString()}`);
  };

  return (
    <section aria-labelledby="repositories-heading">
      <h1 id="repositories-heading">Repositories</h1>
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
        </form>
      </search>
      <Show loaded={loaded} what="repositories">
        {(page) => (
          <>
            {page.repositories.length === 0 ? (
              <p class="muted">{filter === '' ? 'No repositories you may read yet.' : `No repository matches “${filter}”.`}</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Repositories{filter === '' ? '' : ` matching ${filter}`}</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Tags</th>
                    <th scope="col">Last push</th>
                  </tr>
                </thead>
                <tbody>
                  {page.repositories.map((repository) => {
                    const pushed = formatTime(repository.lastPush);
                    return (
                      <tr key={repository.name}>
                        <td>
                          <a href={href(`r/${repository.name}`)}>{repository.name}</a>
                        </td>
                        <td>{repository.tags}</td>
                        <td>
                          <time dateTime={pushed.exact} title={pushed.exact}>
                            {pushed.text}
                          </time>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            <nav class="pager" aria-label="Pages">
              {after !== '' && (
                <a href={href('', filter === '' ? {} : { q: filter })} rel="first">
                  First page
                </a>
              )}
              {page.next !== null && (
                <a href={href('', { ...(filter === '' ? {} : { q: filter }), after: page.next })} rel="next">
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
