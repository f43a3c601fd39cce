// The read-only switch (/api/v1/maintenance/readonly): pulls keep working, pushes and deletes
// are refused on every replica within seconds. The configuration file's setting, when on, keeps
// this replica read-only whatever the switch says; the page shows both.
import { getReadOnly, setReadOnly } from '../../admin-api';
import { ConfirmButton, Show, useLoad } from '../../components';
import { ActionError, useAction } from './shared';

export function ReadOnly() {
  const [loaded, reload] = useLoad(getReadOnly, []);
  const action = useAction();
  const turnOff = async (): Promise<void> => {
    if (await action.run(() => setReadOnly(false))) reload();
  };
  return (
    <section aria-labelledby="read-only-heading">
      <h1 id="read-only-heading">Read-only mode</h1>
      <p class="muted">In read-only mode pulls work and pushes and deletes are refused, for maintenance or a migration.</p>
      <Show loaded={loaded} what="the read-only status">
        {(status) => (
          <>
            <p role="status" class={status.enabled ? 'notice warning' : 'notice'}>
              The registry is <strong>{status.enabled ? 'read-only' : 'writable'}</strong>
              {status.config ? ' (the configuration file sets storage.maintenance.readonly.enabled)' : ''}.
            </p>
            <p>
              Runtime switch: <strong>{status.runtime ? 'on' : 'off'}</strong>
            </p>
            {status.runtime ? (
              <button type="button" disabled={action.busy} onClick={turnOff}>
                Turn read-only mode off
              </button>
            ) : (
              <ConfirmButton
                label="Turn read-only mode on"
                question="Refuse every push and delete, on every replica, until read-only mode is turned off?"
                confirmLabel="Turn it on"
                onConfirm={async () => {
                  await setReadOnly(true);
                  reload();
                }}
              />
            )}
          </>
        )}
      </Show>
      <ActionError action={action} />
    </section>
  );
}
