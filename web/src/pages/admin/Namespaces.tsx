// Namespaces, their visibility and their grants (/api/v1/namespaces, .../grants/:kind/:subject):
// create a namespace or change its visibility, give a user or team a role there, revoke it, and
// forget a namespace (it turns private; its repositories stay).
import { useState } from 'preact/hooks';
import {
  deleteNamespace,
  type Grant,
  listGrants,
  listNamespaces,
  type Namespace,
  ROLES,
  type Role,
  revokeGrant,
  setGrant,
  setNamespaceVisibility,
  type Visibility,
} from '../../admin-api';
import { Show, useLoad } from '../../components';
import { ActionError, AdminForm, Field, RemoveButton, useAction } from './shared';

export function Namespaces() {
  const [loaded, reload] = useLoad(listNamespaces, []);
  const [name, setName] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('private');
  const create = useAction();
  const submit = async (): Promise<void> => {
    if (await create.run(() => setNamespaceVisibility(name.trim(), visibility))) {
      setName('');
      reload();
    }
  };
  return (
    <section aria-labelledby="namespaces-heading">
      <h1 id="namespaces-heading">Namespaces</h1>
      <p class="muted">
        A namespace is the first component of a repository name. Public namespaces allow anonymous pulls; one without a row here is private.
      </p>
      <h2>Create a namespace</h2>
      <AdminForm label="Create a namespace" onSubmit={submit}>
        <Field id="new-namespace-name" label="Namespace" value={name} onInput={setName} required autocomplete="off" />
        <VisibilitySelect id="new-namespace-visibility" value={visibility} onChange={setVisibility} />
        <button type="submit" disabled={create.busy}>
          Save namespace
        </button>
      </AdminForm>
      <ActionError action={create} />
      <h2>All namespaces</h2>
      <Show loaded={loaded} what="namespaces">
        {(namespaces) =>
          namespaces.length === 0 ? (
            <p class="muted">No namespaces yet.</p>
          ) : (
            <ul class="cards">
              {namespaces.map((namespace) => (
                <NamespaceCard key={namespace.name} namespace={namespace} changed={reload} />
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

function VisibilitySelect({
  id,
  value,
  onChange,
  label,
}: {
  id: string;
  value: Visibility;
  onChange: (value: Visibility) => void;
  label?: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label ?? 'Visibility'}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value as Visibility)}>
        <option value="private">private</option>
        <option value="public">public (anonymous pulls)</option>
      </select>
    </div>
  );
}

function NamespaceCard({ namespace, changed }: { namespace: Namespace; changed: () => void }) {
  const [grants, reloadGrants] = useLoad(() => listGrants(namespace.name), [namespace.name]);
  const [kind, setKind] = useState<Grant['kind']>('team');
  const [subject, setSubject] = useState('');
  const [role, setRole] = useState<Role>('pull');
  const action = useAction();
  const prefix = `namespace-${namespace.name}`;
  const grant = async (): Promise<void> => {
    if (await action.run(() => setGrant(namespace.name, kind, subject.trim(), role))) {
      setSubject('');
      reloadGrants();
    }
  };
  const headingId = `${prefix}-heading`;
  return (
    <li class="card" aria-labelledby={headingId}>
      <div class="card-head">
        <h3 id={headingId}>{namespace.name}</h3>
        <RemoveButton
          label={`Forget ${namespace.name}`}
          question={`Forget namespace ${namespace.name}: it becomes private and loses its grants (its repositories stay)?`}
          confirmLabel="Forget namespace"
          remove={() => deleteNamespace(namespace.name)}
          removed={changed}
        />
      </div>
      <VisibilitySelect
        id={`${prefix}-visibility`}
        label={`Visibility of ${namespace.name}`}
        value={namespace.visibility}
        onChange={async (visibility) => (await action.run(() => setNamespaceVisibility(namespace.name, visibility))) && changed()}
      />
      <h4>Grants</h4>
      <Show loaded={grants} what="grants">
        {(list) =>
          list.length === 0 ? (
            <p class="muted">
              No grants: only registry administrators may use it{namespace.visibility === 'public' ? ', and anyone may pull' : ''}.
            </p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Grants on {namespace.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Role</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((entry) => (
                  <tr key={`${entry.kind}/${entry.subject}`}>
                    <td>
                      {entry.kind} {entry.subject}
                    </td>
                    <td>{entry.role}</td>
                    <td>
                      <button
                        type="button"
                        class="secondary"
                        disabled={action.busy}
                        onClick={async () =>
                          (await action.run(() => revokeGrant(namespace.name, entry.kind, entry.subject))) && reloadGrants()
                        }
                      >
                        Revoke {entry.kind} {entry.subject}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <AdminForm label={`Grant a role on ${namespace.name}`} onSubmit={grant}>
        <div class="field">
          <label for={`${prefix}-kind`}>Grant to</label>
          <select id={`${prefix}-kind`} value={kind} onChange={(event) => setKind(event.currentTarget.value as Grant['kind'])}>
            <option value="team">team</option>
            <option value="user">user</option>
          </select>
        </div>
        <Field id={`${prefix}-subject`} label="Name" value={subject} onInput={setSubject} required autocomplete="off" />
        <div class="field">
          <label for={`${prefix}-role`}>Role</label>
          <select id={`${prefix}-role`} value={role} onChange={(event) => setRole(event.currentTarget.value as Role)}>
            {ROLES.map((candidate) => (
              <option key={candidate} value={candidate}>
                {candidate}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="secondary" disabled={action.busy}>
          Grant role
        </button>
      </AdminForm>
      <ActionError action={action} />
    </li>
  );
}
