// Storage usage per namespace and quotas (/api/v1/usage, /api/v1/usage/namespaces/:ns,
// /api/v1/quotas): each namespace's bytes and repositories against its quota, a namespace's
// repositories on demand, and setting or removing a quota. Quotas of the configuration file are
// shown but changed only in the file.
import { useState } from 'preact/hooks';
import { deleteQuota, listQuotas, listUsage, namespaceUsage, setQuota } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { formatBytes } from '../../format';
import { ActionError, AdminForm, Field, RemoveButton, useAction } from './shared';

export function Storage() {
  const [usage, reloadUsage] = useLoad(listUsage, []);
  const [quotas, reloadQuotas] = useLoad(listQuotas, []);
  const [open, setOpen] = useState<string | undefined>();
  const changed = (): void => {
    reloadUsage();
    reloadQuotas();
  };
  return (
    <section aria-labelledby="storage-heading">
      <h1 id="storage-heading">Storage and quotas</h1>
      <h2>Usage per namespace</h2>
      <p class="muted">Each distinct blob and manifest counts once per namespace; repositories are those holding a manifest.</p>
      <Show loaded={usage} what="usage">
        {(namespaces) =>
          namespaces.length === 0 ? (
            <p class="muted">Nothing stored yet.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Usage per namespace</caption>
              <thead>
                <tr>
                  <th scope="col">Namespace</th>
                  <th scope="col">Used</th>
                  <th scope="col">Repositories</th>
                  <th scope="col">Quota</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {namespaces.map((entry) => (
                  <tr key={entry.namespace} class={entry.warning ? 'warning' : undefined}>
                    <th scope="row">{entry.namespace}</th>
                    <td title={`${entry.bytes} bytes`}>{formatBytes(entry.bytes)}</td>
                    <td>
                      {entry.repositories}
                      {entry.quota?.repositories === undefined ? '' : ` of ${entry.quota.repositories}`}
                    </td>
                    <td>
                      {entry.quota === null ? (
                        <span class="muted">none</span>
                      ) : (
                        <>
                          {formatBytes(entry.quota.size)} ({Math.round((entry.bytes / entry.quota.size) * 100)}%)
                          {entry.warning && <strong> near or over its quota</strong>}
                        </>
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        class="secondary"
                        aria-expanded={open === entry.namespace}
                        onClick={() => setOpen(open === entry.namespace ? undefined : entry.namespace)}
                      >
                        Repositories of {entry.namespace}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      {open !== undefined && <NamespaceRepositories namespace={open} />}
      <h2>Quotas</h2>
      <QuotaForm saved={changed} />
      <Show loaded={quotas} what="quotas">
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No quotas.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Quotas</caption>
              <thead>
                <tr>
                  <th scope="col">Namespace</th>
                  <th scope="col">Size</th>
                  <th scope="col">Repositories</th>
                  <th scope="col">Warn at</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((quota) => (
                  <tr key={quota.namespace}>
                    <th scope="row">{quota.namespace}</th>
                    <td title={`${quota.size} bytes`}>{formatBytes(quota.size)}</td>
                    <td>{quota.repositories ?? <span class="muted">no limit</span>}</td>
                    <td>{quota.warnAt === undefined ? <span class="muted">at the quota</span> : `${Math.round(quota.warnAt * 100)}%`}</td>
                    <td>
                      <RemoveButton
                        readOnly={quota.readOnly}
                        label={`Remove the quota of ${quota.namespace}`}
                        question={`Remove the quota of ${quota.namespace}? Pushes there are then not limited.`}
                        confirmLabel="Remove quota"
                        remove={() => deleteQuota(quota.namespace)}
                        removed={changed}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

function QuotaForm({ saved }: { saved: () => void }) {
  const [namespace, setNamespace] = useState('');
  const [size, setSize] = useState('');
  const [repositories, setRepositories] = useState('');
  const [warnAt, setWarnAt] = useState('');
  const action = useAction();
  const submit = async (): Promise<void> => {
    const quota = {
      size: size.trim(),
      ...(repositories.trim() === '' ? {} : { repositories: Number(repositories) }),
      ...(warnAt.trim() === '' ? {} : { warnAt: Number(warnAt) / 100 }),
    };
    if (await action.run(() => setQuota(namespace.trim(), quota))) {
      setNamespace('');
      setSize('');
      setRepositories('');
      setWarnAt('');
      saved();
    }
  };
  return (
    <>
      <AdminForm label="Set a quota" onSubmit={submit}>
        <Field id="quota-namespace" label="Namespace" value={namespace} onInput={setNamespace} required autocomplete="off" />
        <Field id="quota-size" label="Size" value={size} onInput={setSize} required hint="Such as 200GiB, 500MB or a number of bytes." />
        <Field id="quota-repositories" label="Most repositories" type="number" min="0" value={repositories} onInput={setRepositories} />
        <Field id="quota-warn" label="Warn at (%)" type="number" min="1" max="100" value={warnAt} onInput={setWarnAt} />
        <button type="submit" disabled={action.busy}>
          Set quota
        </button>
      </AdminForm>
      <ActionError action={action} />
    </>
  );
}

function NamespaceRepositories({ namespace }: { namespace: string }) {
  const [loaded] = useLoad(() => namespaceUsage(namespace), [namespace]);
  return (
    <section aria-labelledby="namespace-usage-heading" class="card">
      <h3 id="namespace-usage-heading">Repositories of {namespace}</h3>
      <Show loaded={loaded} what={`the repositories of ${namespace}`}>
        {(report) => (
          <table class="listing">
            <caption class="visually-hidden">Usage of each repository of {namespace}</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col">Bytes linked</th>
                <th scope="col">Blobs</th>
                <th scope="col">Manifests</th>
                <th scope="col">Tags</th>
              </tr>
            </thead>
            <tbody>
              {report.repositoryUsage.map((repository) => (
                <tr key={repository.repository}>
                  <th scope="row">{repository.repository}</th>
                  <td title={`${repository.bytes} bytes`}>{formatBytes(repository.bytes)}</td>
                  <td>{repository.blobs}</td>
                  <td>{repository.manifests}</td>
                  <td>{repository.tags}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}
