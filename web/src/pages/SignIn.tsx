// Sign in with the same accounts as `docker login` (POST /api/v1/session); the server sets an
// HttpOnly session cookie and answers with the CSRF token the UI keeps in memory. Or sign in
// through a configured OpenID Connect provider: a link to /api/v1/session/oidc/start, which ends
// back in the UI signed in, or here with ?error= saying what went wrong.
import { useState } from 'preact/hooks';
import { ErrorMessage } from '../components';
import { basePath, navigate, useRoute } from '../router';
import { signIn, useSession } from '../session';

function providerHref(provider: string, returnPath: string): string {
  return `/api/v1/session/oidc/start?${new URLSearchParams({ provider, return: returnPath }).toString()}`;
}

export function SignIn() {
  const { session, setSession } = useSession();
  const { query } = useRoute();
  const providerError = query.get('error');
  const returnPath = query.get('return') ?? basePath();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setSession(await signIn(username, password));
      navigate('');
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="sign-in-heading" class="narrow">
      <h1 id="sign-in-heading">Sign in</h1>
      {providerError !== null && <ErrorMessage error={new Error(providerError)} />}
      {(session.providers ?? []).map((provider) => (
        <p key={provider.name}>
          {/* A navigation, not a form: the page's form-action policy would stop the redirect to the provider. */}
          <button type="button" onClick={() => location.assign(providerHref(provider.name, returnPath))}>
            Sign in with {provider.displayName}
          </button>
        </p>
      ))}
      <p class="muted">
        {(session.providers ?? []).length > 0 ? 'Or use' : 'Use'} the same user name and password as for docker login or podman login.
      </p>
      <form onSubmit={submit} class="stack">
        <label for="username">User name</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          required
          value={username}
          onInput={(event) => setUsername(event.currentTarget.value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
        {error && <ErrorMessage error={error} />}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </section>
  );
}
