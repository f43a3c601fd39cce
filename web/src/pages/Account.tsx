// The signed-in person's own account: who they are (GET /api/v1/me) and their personal API tokens
// (GET/POST /api/v1/tokens, DELETE /api/v1/tokens/:id), which is how someone who signs in through
// a company login (OpenID Connect) uses `docker login` or `podman login`: container clients cannot
// follow a browser sign-in, so the token is their password there. A new token's secret is shown
// once, with the login command to paste.
import { useState } from 'preact/hooks';
import { type ApiToken, createToken, type NewApiToken, revokeToken, type TokenAction } from '../admin-api';
import { getJson } from '../api';
import { ConfirmButton, CopyCommand, Show, useLoad } from '../components';
import { ActionError, AdminForm, Field, splitList, useAction, When } from './admin/shared';

interface Me {
  readonly name: string;
  readonly teams: readonly string[];
}

const loadAccount = async (): Promise<{ me: Me; tokens: ApiToken[] }> => {
  const [me, { tokens }] = await Promise.all([getJson<Me>('/api/v1/me'), getJson<{ tokens: ApiToken[] }>('/api/v1/tokens')]);
  return { me, tokens };
};

export function Account() {
  const [loaded, reload] = useLoad(loadAccount, []);
  const [name, setName] = useState('');
  const [repositories, setRepositories] = useState('**');
  const [actions, setActions] = useState('pull, push');
  const [expiresIn, setExpiresIn] = useState('720h');
  const [created, setCreated] = useState<NewApiToken | undefined>();
  const create = useAction();
  const submit = async (): Promise<void> => {
    const scopes = splitList(repositories).map((repository) => ({ repository, actions: splitList(actions) as TokenAction[] }));
    setCreated(undefined);
    await create.run(async () => {
      setCreated(await createToken({ name: name.trim(), scopes, expiresIn: expiresIn.trim() }));
      setName('');
      reload();
    });
  };
  return (
    <section aria-labelledby="account-heading">
      <h1 id="account-heading">Your account</h1>
      <Show loaded={loaded} what="your account">
        {({ me, tokens }) => (
          <>
            <p>
              Signed in as <strong>{me.name}</strong>
              {me.teams.length > 0 ? `, member of ${me.teams.join(', ')}` : ''}.
            </p>
            <h2>Personal API tokens</h2>
            <p class="muted">
              docker login and podman login cannot sign in through a web page: create a token here and use it as the password, with your
              user name. It can do at most what you can, on the repositories and actions you give it.
            </p>
            <AdminForm label="Create a personal API token" onSubmit={submit}>
              <Field id="account-token-name" label="Token name" value={name} onInput={setName} required autocomplete="off" />
              <Field
                id="account-token-repositories"
                label="Repositories"
                value={repositories}
                onInput={setRepositories}
                required
                autocomplete="off"
                hint="Globs, comma-separated: ** for all, team/** or library/*."
              />
              <Field
                id="account-token-actions"
                label="Actions"
                value={actions}
                onInput={setActions}
                required
                hint="pull, push, delete or *."
              />
              <Field
                id="account-token-expires"
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
            {created !== undefined && (
              <div class="once" role="status">
                <p>
                  <strong>Token {created.name} created.</strong> Copy it now: it is shown only this once.
                </p>
                <CopyCommand label="the login command" command={`podman login -u ${me.name} -p ${created.token} ${location.host}`} />
              </div>
            )}
            {tokens.length === 0 ? (
              <p class="muted">You have no tokens.</p>
            ) : (
              <ul class="tokens">
                {tokens.map((token) => (
                  <li key={token.id}>
                    <strong>{token.name}</strong> <code class="muted">{token.id}</code>:{' '}
                    {token.scopes.map((scope) => `${scope.repository} (${scope.actions.join(', ')})`).join('; ')}.{' '}
                    {token.expired ? 'Expired' : 'Expires'} <When at={token.expiresAt} />; last used <When at={token.lastUsedAt} />.{' '}
                    <ConfirmButton
                      label={`Revoke ${token.name}`}
                      question={`Revoke your token ${token.name}? Whatever uses it stops working at once.`}
                      confirmLabel="Revoke token"
                      onConfirm={async () => {
                        await revokeToken(token.id);
                        reload();
                      }}
                    />
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </Show>
    </section>
  );
}
