// Sign in with the same accounts as `docker login` (POST /api/v1/session); the server sets an
// HttpOnly session cookie and answers with the CSRF token the UI keeps in memory.
import { useState } from 'preact/hooks';
import { ErrorMessage } from '../components';
import { navigate } from '../router';
import { signIn, useSession } from '../session';

export function SignIn() {
  const { setSession } = useSession();
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
      <p class="muted">Use the same user name and password as for docker login or podman login.</p>
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
