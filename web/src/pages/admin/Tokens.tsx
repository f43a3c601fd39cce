// API tokens (/api/v1/tokens): every user's tokens, creating one (for the administrator or for
// another user) whose secret is shown once and never again, and revoking one after a
// confirmation.
import { useState } from 'preact/hooks';
import { listAllTokens, type NewApiToken, revokeToken } from '../../admin-api';
import { CopyCommand, Show, useLoad } from '../../components';
import { RemoveButton, When } from './shared';
import { TokenForm } from './TokenForm';

export function Tokens() {
  const [loaded, reload] = useLoad(listAllTokens, []);
  const [created, setCreated] = useState<NewApiToken | undefined>();
  return (
    <section aria-labelledby="tokens-heading">
      <h1 id="tokens-heading">API tokens</h1>
      <p class="muted">
        A token is a password for CI systems (podman login -u OWNER -p TOKEN), limited to its scopes and never more than its owner may do.
      </p>
      <h2>Create a token</h2>
      <TokenForm
        idPrefix="token"
        label="Create a token"
        withOwner
        created={(token) => {
          setCreated(token);
          reload();
        }}
      />
      {created !== undefined && (
        <div class="once" role="status">
          <p>
            <strong>
              Token {created.name} created for {created.owner}.
            </strong>{' '}
            Copy it now: it is shown only this once.
          </p>
          <CopyCommand label="the new token" command={created.token} />
        </div>
      )}
      <h2>All tokens</h2>
      <Show loaded={loaded} what="tokens">
        {(tokens) =>
          tokens.length === 0 ? (
            <p class="muted">No tokens.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">API tokens</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((token) => (
                  <tr key={token.id}>
                    <th scope="row">
                      {token.name} <code class="muted">{token.id}</code>
                    </th>
                    <td>{token.owner}</td>
                    <td>
                      {token.scopes.map((scope) => (
                        <span class="chip" key={scope.repository}>
                          {scope.repository}: {scope.actions.join(', ')}
                        </span>
                      ))}
                    </td>
                    <td>
                      {token.expired ? 'expired ' : ''}
                      <When at={token.expiresAt} />
                    </td>
                    <td>
                      <When at={token.lastUsedAt} />
                    </td>
                    <td>
                      <RemoveButton
                        label={`Revoke ${token.name}`}
                        question={`Revoke token ${token.name} of ${token.owner}? Whatever uses it stops working at once.`}
                        confirmLabel="Revoke token"
                        remove={() => revokeToken(token.id)}
                        removed={reload}
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
