// The Berth web UI: the page frame (header, sign-in state, navigation) and the routes. It talks
// to the server only through documented HTTP APIs (api.ts) and imports nothing from src/.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from './api';
import { ErrorMessage } from './components';
import { Account } from './pages/Account';
import { Admin } from './pages/admin';
import { Manifest } from './pages/Manifest';
import { Repositories } from './pages/Repositories';
import { Repository } from './pages/Repository';
import { SignIn } from './pages/SignIn';
import { href, interceptLinks, navigate, useRoute } from './router';
import { loadSession, SessionContext, signOut } from './session';
import './styles.css';

function Page() {
  const { path } = useRoute();
  if (path === '' || path === '/') return <Repositories />;
  if (path === 'sign-in') return <SignIn />;
  if (path === 'account') return <Account />;
  if (path === 'admin' || path.startsWith('admin/')) return <Admin section={path.slice('admin/'.length).replace(/\/+$/, '')} />;
  if (path.startsWith('r/')) {
    const rest = path.slice(2);
    const marker = rest.indexOf('/-/manifest/');
    if (marker === -1) return <Repository name={rest.replace(/\/+$/, '')} />;
    return <Manifest repository={rest.slice(0, marker)} reference={rest.slice(marker + '/-/manifest/'.length)} />;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. <a href={href('')}>Go to the repositories</a>.
      </p>
    </section>
  );
}

function skipToContent(event: MouseEvent): void {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

function App() {
  const [session, setSession] = useState<SessionInfo | undefined>();
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    loadSession().then(setSession, (caught: unknown) => setError(caught instanceof Error ? caught : new Error(String(caught))));
  }, []);
  if (error) return <ErrorMessage error={error} />;
  if (session === undefined) return null;
  const leave = async (): Promise<void> => {
    await signOut();
    setSession(await loadSession());
    navigate('');
  };
  return (
    <SessionContext.Provider value={{ session, setSession }}>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link by convention; it moves focus itself, as with the <base> element "#main" would name ui.path's first page, not this one */}
      <a class="skip" href="#main" onClick={skipToContent}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('')}>
          Berth
        </a>
        <nav aria-label="Account" class="account">
          {session.user !== null ? (
            <>
              {session.user.admin && <a href={href('admin')}>Administration</a>}
              <span>
                Signed in as <strong>{session.user.name}</strong>
              </span>
              <a href={href('account')}>Account and tokens</a>
              <button type="button" class="secondary" onClick={leave}>
                Sign out
              </button>
            </>
          ) : session.authEnabled ? (
            <a href={href('sign-in')}>Sign in</a>
          ) : null}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
    </SessionContext.Provider>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  interceptLinks(root);
  render(<App />, root);
}
