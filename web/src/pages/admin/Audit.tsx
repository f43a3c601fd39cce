// The audit log (/api/v1/audit): who did what to which repository, with what outcome, filtered
// by actor, repository, action, outcome and a time range, newest first, a page at a time with
// the API's cursor. The filters are kept in the page's address, so a filtered view can be
// bookmarked or shared.
import { useEffect, useState } from 'preact/hooks';
import { type AuditFilter, listAudit } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { href, navigate, useRoute } from '../../router';
import { AdminForm, Field, When } from './shared';

const FILTER_KEYS = ['actor', 'repository', 'action', 'outcome', 'since', 'until'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** A datetime-local value (local time, no zone) as ISO-8601, or '' when empty. */
function toIso(local: string): string {
  return local === '' ? '' : new Date(local).toISOString();
}

/** An ISO time as a datetime-local value in local time. */
function toLocal(iso: string): string {
  if (iso === '') return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const offset = date.getTimezoneOffset() * 60_000;
  return new Date(date.getTime() - offset).toISOString().slice(0, 16);
}

export function Audit() {
  const { query } = useRoute();
  const applied: Record<FilterKey, string> = Object.fromEntries(FILTER_KEYS.map((key) => [key, query.get(key) ?? ''])) as Record<
    FilterKey,
    string
  >;
  const before = query.get('before') ?? '';
  const appliedKey = query.toString();
  const [draft, setDraft] = useState(applied);
  useEffect(() => setDraft(applied), [appliedKey]);
  const [loaded] = useLoad(() => {
    const filter: AuditFilter = { ...applied, ...(before === '' ? {} : { before }) };
    return listAudit(filter);
  }, [appliedKey]);
  const set = (key: FilterKey) => (value: string) => setDraft({ ...draft, [key]: value });
  const apply = (): void => {
    const values = Object.fromEntries(
      Object.entries(draft)
        .filter(([, value]) => value.trim() !== '')
        .map(([key, value]) => [key, value.trim()]),
    );
    navigate('admin/audit', values);
  };
  const filterQuery = Object.fromEntries(FILTER_KEYS.filter((key) => applied[key] !== '').map((key) => [key, applied[key]]));
  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log</h1>
      <AdminForm label="Filter the audit log" onSubmit={apply}>
        <Field id="audit-actor" label="Actor" value={draft.actor} onInput={set('actor')} />
        <Field id="audit-repository" label="Repository" value={draft.repository} onInput={set('repository')} />
        <Field id="audit-action" label="Action" value={draft.action} onInput={set('action')} hint="Such as manifest.put or admin." />
        <div class="field">
          <label for="audit-outcome">Outcome</label>
          <select id="audit-outcome" value={draft.outcome} onChange={(event) => set('outcome')(event.currentTarget.value)}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <Field
          id="audit-since"
          label="Since"
          type="datetime-local"
          value={toLocal(draft.since)}
          onInput={(value) => set('since')(toIso(value))}
        />
        <Field
          id="audit-until"
          label="Until"
          type="datetime-local"
          value={toLocal(draft.until)}
          onInput={(value) => set('until')(toIso(value))}
        />
        <button type="submit" class="secondary">
          Filter
        </button>
      </AdminForm>
      <Show loaded={loaded} what="the audit log">
        {(page) => (
          <>
            {page.entries.length === 0 ? (
              <p class="muted">No entries match.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Audit log entries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Repository</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Status</th>
                    <th scope="col">Address</th>
                  </tr>
                </thead>
                <tbody>
                  {page.entries.map((entry) => (
                    <tr key={entry.id}>
                      <td>
                        <When at={entry.at} />
                      </td>
                      <td>{entry.actor ?? <span class="muted">anonymous</span>}</td>
                      <td>{entry.action}</td>
                      <td>{entry.repository ?? ''}</td>
                      <td class={`outcome-${entry.outcome}`}>{entry.outcome}</td>
                      <td>{entry.status ?? ''}</td>
                      <td>{entry.address ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <nav class="pager" aria-label="Pages of the audit log">
              {before !== '' && (
                <a href={href('admin/audit', filterQuery)} rel="first">
                  Newest entries
                </a>
              )}
              {page.next !== undefined && (
                <a href={href('admin/audit', { ...filterQuery, before: page.next })} rel="next">
                  Older entries
                </a>
              )}
            </nav>
          </>
        )}
      </Show>
    </section>
  );
}
