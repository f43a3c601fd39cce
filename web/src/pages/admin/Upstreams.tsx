// The pull-through cache's upstreams (GET /api/v1/upstreams, read-only): each upstream of the
// configuration file with the namespace it serves and what the cache holds for it, and this
// replica's hit and miss counters. Upstreams are changed in the configuration file.
import { listUpstreams } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { formatBytes } from '../../format';
import { When } from './shared';

/** A tag TTL in the largest whole unit ("24h", "90s"). */
function duration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function Upstreams() {
  const [loaded, reload] = useLoad(listUpstreams, []);
  return (
    <section aria-labelledby="upstreams-heading">
      <h1 id="upstreams-heading">Pull-through upstreams</h1>
      <p class="muted">Upstream registries this registry caches, from the configuration file (proxy.upstreams).</p>
      <button type="button" class="secondary" onClick={reload}>
        Refresh
      </button>
      <Show loaded={loaded} what="upstreams">
        {(list) => (
          <>
            {list.upstreams.length === 0 ? (
              <p class="muted">No upstreams are configured: this registry serves only what is pushed to it.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Upstreams and their cache</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">URL</th>
                    <th scope="col">Namespace</th>
                    <th scope="col">Tag TTL</th>
                    <th scope="col">Cached repositories</th>
                    <th scope="col">Cached items</th>
                    <th scope="col">Cached bytes</th>
                    <th scope="col">Last pull</th>
                  </tr>
                </thead>
                <tbody>
                  {list.upstreams.map((upstream) => (
                    <tr key={upstream.name}>
                      <th scope="row">{upstream.name}</th>
                      <td class="wrap">{upstream.url}</td>
                      <td>{upstream.namespace === '' ? <span class="muted">(root)</span> : <code>{upstream.namespace}/</code>}</td>
                      <td>
                        {duration(upstream.tagTtlMs)}
                        {upstream.offline ? ', served from cache when unreachable' : ''}
                      </td>
                      <td>{upstream.cache.repositories}</td>
                      <td>{upstream.cache.items}</td>
                      <td title={`${upstream.cache.bytes} bytes`}>{formatBytes(upstream.cache.bytes)}</td>
                      <td>
                        <When at={upstream.cache.lastPulledAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {Object.keys(list.stats).length > 0 && (
              <>
                <h2>Since this replica started</h2>
                <dl class="facts">
                  {Object.entries(list.stats).map(([name, value]) => (
                    <div key={name}>
                      <dt>{name}</dt>
                      <dd>{value}</dd>
                    </div>
                  ))}
                </dl>
              </>
            )}
          </>
        )}
      </Show>
    </section>
  );
}
