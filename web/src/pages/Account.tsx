// The signed-in person's own account: who they are (GET /api/v1/me) and their personal API tokens
// (GET/POST /api/v1/tokens, DELETE /api/v1/tokens/:id), which is how someone who signs in through
// a company login (OpenID Connect) uses `docker login` or `podman login`: container clients cannot
// follow a browser sign-in, so the token is their password there. A new token's secret is shown
// once, with the login command to paste.
import { useState } from 'preact/hooks';
import { type ApiToken, type NewApiToken, revokeToken } from '../admin-api';
import { getJson } from '../api';
import { ConfirmButton, CopyCommand, Show, useLoad } from '../components';
import { When } from './admin/shared';
import { TokenForm } from './admin/TokenForm';

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
  const [created, setCreated] = useState<NewApiToken | undefined>();
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
            <TokenForm
              idPrefix="account-token"
              label="Create a personal API token"
              repositoriesDefault="**"
              actionsDefault="pull, push"
              created={(token) => {
                setCreated(token);
                reload();
              }}
            />
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
