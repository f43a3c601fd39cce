// Users of the metadata database (GET/POST/PATCH/DELETE /api/v1/users, PUT .../password): list
// them, create one, set a password, make one an administrator or not, delete one (with their
// memberships, grants and tokens, after a confirmation).
import { useState } from 'preact/hooks';
import { createUser, deleteUser, listUsers, setPassword, setUserAdmin, type User } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { useSession } from '../../session';
import { ActionError, AdminForm, Check, Field, RemoveButton, useAction, When } from './shared';

export function Users() {
  const [loaded, reload] = useLoad(listUsers, []);
  const [name, setName] = useState('');
  const [password, setPasswordText] = useState('');
  const [admin, setAdmin] = useState(false);
  const [created, setCreated] = useState<string | undefined>();
  const create = useAction();
  const submit = async (): Promise<void> => {
    if (await create.run(() => createUser(name.trim(), password, admin))) {
      setCreated(name.trim());
      setName('');
      setPasswordText('');
      setAdmin(false);
      reload();
    }
  };
  return (
    <section aria-labelledby="users-heading">
      <h1 id="users-heading">Users</h1>
      <p class="muted">Database users sign in here and with docker login or podman login. Users of an htpasswd file are not listed.</p>
      <h2>Create a user</h2>
      <AdminForm label="Create a user" onSubmit={submit}>
        <Field id="new-user-name" label="Name" value={name} onInput={setName} required autocomplete="off" />
        <Field
          id="new-user-password"
          label="Password"
          type="password"
          value={password}
          onInput={setPasswordText}
          required
          autocomplete="new-password"
          hint="At least 8 characters."
        />
        <Check id="new-user-admin" label="Registry administrator" checked={admin} onChange={setAdmin} />
        <button type="submit" disabled={create.busy}>
          Create user
        </button>
      </AdminForm>
      <ActionError action={create} />
      {created !== undefined && !create.error && (
        <p role="status" class="notice">
          Created user {created}.
        </p>
      )}
      <h2>All users</h2>
      <Show loaded={loaded} what="users">
        {(users) =>
          users.length === 0 ? (
            <p class="muted">No database users yet.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Administrator</th>
                  <th scope="col">Created</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.map((user) => (
                  <UserRow key={user.name} user={user} changed={reload} />
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

function UserRow({ user, changed }: { user: User; changed: () => void }) {
  const { session } = useSession();
  const [password, setPasswordText] = useState('');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const isSelf = session.user?.name === user.name;
  const savePassword = async (): Promise<void> => {
    setSaved(false);
    if (await action.run(() => setPassword(user.name, password))) {
      setPasswordText('');
      setSaved(true);
    }
  };
  const toggleAdmin = async (): Promise<void> => {
    if (await action.run(() => setUserAdmin(user.name, !user.admin))) changed();
  };
  const id = `user-${user.name}`;
  return (
    <tr>
      <th scope="row">{user.name}</th>
      <td>{user.admin ? 'yes' : 'no'}</td>
      <td>
        <When at={user.createdAt} />
      </td>
      <td>
        <div class="row-actions">
          <AdminForm label={`Set the password of ${user.name}`} onSubmit={savePassword}>
            <Field
              id={`${id}-password`}
              label={`New password for ${user.name}`}
              type="password"
              value={password}
              onInput={setPasswordText}
              required
              autocomplete="new-password"
            />
            <button type="submit" class="secondary" disabled={action.busy}>
              Set password
            </button>
          </AdminForm>
          <button type="button" class="secondary" disabled={action.busy || isSelf} onClick={toggleAdmin}>
            {user.admin ? `Remove administrator ${user.name}` : `Make ${user.name} administrator`}
          </button>
          <RemoveButton
            label={`Delete ${user.name}`}
            question={`Delete user ${user.name} with their team memberships, grants and API tokens? This cannot be undone.`}
            confirmLabel="Delete user"
            remove={() => deleteUser(user.name)}
            removed={changed}
          />
        </div>
        <ActionError action={action} />
        {saved && (
          <p role="status" class="notice">
            Password of {user.name} set.
          </p>
        )}
      </td>
    </tr>
  );
}
