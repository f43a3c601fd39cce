// The entry to the administrators' pages that main.tsx renders for routes under admin/. It is
// small and loads the pages themselves (AdminPages.tsx and everything it imports) with a
// dynamic import, so Vite puts them in their own chunk and the first page of the UI stays light.
// Non-administrators get a refusal here; the server refuses their admin API calls anyway.
import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorMessage, Loading } from '../../components';
import { href } from '../../router';
import { useSession } from '../../session';

type AdminPagesComponent = FunctionComponent<{ section: string }>;

let loaded: AdminPagesComponent | undefined;

export function Admin({ section }: { section: string }) {
  const { session } = useSession();
  const [pages, setPages] = useState<AdminPagesComponent | undefined>(() => loaded);
  const [error, setError] = useState<Error | undefined>();
  const isAdmin = session.user?.admin === true;
  useEffect(() => {
    if (!isAdmin || pages !== undefined) return;
    import('./AdminPages').then(
      (module) => {
        loaded = module.AdminPages;
        setPages(() => module.AdminPages);
      },
      (caught: unknown) => setError(caught instanceof Error ? caught : new Error(String(caught))),
    );
  }, [isAdmin, pages]);
  if (!isAdmin) {
    return (
      <section aria-labelledby="admin-denied-heading">
        <h1 id="admin-denied-heading">Administration</h1>
        <p role="alert">
          Only registry administrators may use these pages.{' '}
          {session.user === null ? <a href={href('sign-in')}>Sign in</a> : <a href={href('')}>Go to the repositories</a>}.
        </p>
      </section>
    );
  }
  if (error) return <ErrorMessage error={error} />;
  if (pages === undefined) return <Loading what="the administration pages" />;
  const Pages = pages;
  return <Pages section={section} />;
}
