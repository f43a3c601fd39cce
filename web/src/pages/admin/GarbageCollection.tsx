// Garbage collection (/api/v1/gc/runs): a dry run that says what a run would delete, a run
// (after a confirmation), and the history of runs, newest first, a page at a time.
import { useState } from 'preact/hooks';
import { type GcReport, type GcRun, type GcStats, listGcRuns, runGc } from '../../admin-api';
import { ConfirmButton, Show, useLoad } from '../../components';
import { formatBytes } from '../../format';
import { ActionError, Check, CursorPager, Field, useAction, useCursorPages, When } from './shared';

export function GarbageCollection() {
  const pages = useCursorPages();
  const [history, reload] = useLoad(() => listGcRuns(pages.before), [pages.before]);
  const [deleteUntagged, setDeleteUntagged] = useState(false);
  const [grace, setGrace] = useState('');
  const [report, setReport] = useState<GcReport | undefined>();
  const action = useAction();
  const collect = async (dryRun: boolean): Promise<void> => {
    setReport(undefined);
    setReport(await runGc({ dryRun, deleteUntagged, ...(grace.trim() === '' ? {} : { grace: grace.trim() }) }));
    pages.reset();
    reload();
  };
  return (
    <section aria-labelledby="gc-heading">
      <h1 id="gc-heading">Garbage collection</h1>
      <p class="muted">
        Deletes blobs no manifest references (and, if asked, manifests no tag names) once they are older than the grace period. Safe while
        the registry serves. A dry run changes nothing.
      </p>
      <fieldset class="admin-form">
        <legend class="visually-hidden">Garbage collection options</legend>
        <Check id="gc-untagged" label="Delete untagged manifests" checked={deleteUntagged} onChange={setDeleteUntagged} />
        <Field
          id="gc-grace"
          label="Grace period"
          value={grace}
          onInput={setGrace}
          hint="Such as 1h or 0s; the configured gc.grace when empty."
        />
        <button type="button" class="secondary" disabled={action.busy} onClick={() => action.run(() => collect(true))}>
          Dry run
        </button>
        <ConfirmButton
          label="Run garbage collection"
          question="Delete what a dry run lists now? This cannot be undone."
          confirmLabel="Delete now"
          onConfirm={() => collect(false)}
        />
      </fieldset>
      {action.busy && (
        <p class="muted" aria-live="polite">
          Collecting…
        </p>
      )}
      <ActionError action={action} />
      {report !== undefined && (
        <div class="notice" role="status">
          <p>
            <strong>{report.dryRun ? 'Dry run finished' : 'Run finished'}</strong>: {report.dryRun ? 'would delete' : 'deleted'}{' '}
            {report.stats.manifestsDeleted} manifests and {report.stats.blobsDeleted} blobs, {formatBytes(report.stats.bytesFreed)}{' '}
            {report.dryRun ? 'to free' : 'freed'}.
          </p>
        </div>
      )}
      <h2>History</h2>
      <Show loaded={history} what="past runs">
        {(page) => (
          <>
            {page.runs.length === 0 ? (
              <p class="muted">No runs yet.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Garbage collection runs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Started</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Trigger</th>
                    <th scope="col">Status</th>
                    <th scope="col">Manifests</th>
                    <th scope="col">Blobs</th>
                    <th scope="col">Freed</th>
                  </tr>
                </thead>
                <tbody>
                  {page.runs.map((run) => (
                    <GcRunRow key={run.id} run={run} />
                  ))}
                </tbody>
              </table>
            )}
            <CursorPager pages={pages} next={page.next} what="runs" />
          </>
        )}
      </Show>
    </section>
  );
}

function GcRunRow({ run }: { run: GcRun }) {
  const stats: Partial<GcStats> = run.stats ?? {};
  return (
    <tr>
      <td>
        <When at={run.startedAt} />
      </td>
      <td>{run.dryRun ? 'dry run' : 'run'}</td>
      <td>{run.trigger}</td>
      <td>
        {run.status}
        {run.error === undefined ? '' : `: ${run.error}`}
      </td>
      <td>{stats.manifestsDeleted ?? '–'}</td>
      <td>{stats.blobsDeleted ?? '–'}</td>
      <td>{stats.bytesFreed === undefined ? '–' : formatBytes(stats.bytesFreed)}</td>
    </tr>
  );
}
