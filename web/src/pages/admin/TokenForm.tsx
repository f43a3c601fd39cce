// The form that creates an API token (POST /api/v1/tokens): name, repositories and actions as
// comma-separated lists, expiry, and for administrators the owner. The caller shows the new
// token's secret, which exists only in the answer handed to `created`. Used by the admin tokens
// page and by anyone's account page, so both ask the same questions the same way.
import { useState } from 'preact/hooks';
import { createToken, type NewApiToken, type TokenAction } from '../../admin-api';
import { ActionError, AdminForm, Field, splitList, useAction } from './shared';

export function TokenForm({
  idPrefix,
  label,
  withOwner = false,
  repositoriesDefault = '',
  actionsDefault = 'pull',
  created,
}: {
  /** Prefix of the fields' ids, unique on the page. */
  idPrefix: string;
  /** The form's accessible name. */
  label: string;
  /** Ask for an owner (administrators may create tokens for others). */
  withOwner?: boolean;
  repositoriesDefault?: string;
  actionsDefault?: string;
  created: (token: NewApiToken) => void;
}) {
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const [repositories, setRepositories] = useState(repositoriesDefault);
  const [actions, setActions] = useState(actionsDefault);
  const [expiresIn, setExpiresIn] = useState('720h');
  const create = useAction();
  const submit = async (): Promise<void> => {
    const scopes = splitList(repositories).map((repository) => ({ repository, actions: splitList(actions) as TokenAction[] }));
    const input = { name: name.trim(), scopes, expiresIn: expiresIn.trim(), ...(owner.trim() === '' ? {} : { user: owner.trim() }) };
    await create.run(async () => {
      created(await createToken(input));
      setName('');
    });
  };
  return (
    <>
      <AdminForm label={label} onSubmit={submit}>
        <Field id={`${idPrefix}-name`} label="Token name" value={name} onInput={setName} required autocomplete="off" />
        {withOwner && (
          <Field
            id={`${idPrefix}-owner`}
            label="Owner"
            value={owner}
            onInput={setOwner}
            autocomplete="off"
            hint="A user name; empty for yourself."
          />
        )}
        <Field
          id={`${idPrefix}-repositories`}
          label="Repositories"
          value={repositories}
          onInput={setRepositories}
          required
          autocomplete="off"
          hint="Globs, comma-separated: ** for all, team/** or library/*."
        />
        <Field
          id={`${idPrefix}-actions`}
          label="Actions"
          value={actions}
          onInput={setActions}
          required
          hint="pull, push, delete or *, comma-separated."
        />
        <Field
          id={`${idPrefix}-expires`}
          label="Expires in"
          value={expiresIn}
          onInput={setExpiresIn}
          required
          hint="A duration such as 720h or 30d (at most a year)."
        />
        <button type="submit" disabled={create.busy}>
          Create token
        </button>
      </AdminForm>
      <ActionError action={create} />
    </>
  );
}
