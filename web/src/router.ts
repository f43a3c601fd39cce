// A small history router: the UI lives under one path (ui.path, told by the <base> element Berth
// inserts into index.html), and each page is a path below it:
//   ./                                   repositories
//   ./r/<repository>                     a repository
//   ./r/<repository>/-/manifest/<digest> a manifest ("-" cannot be a repository name component)
//   ./sign-in, ./admin/<page>
import { useEffect, useState } from 'preact/hooks';

/** The UI's base path, with a trailing slash ("/ui/"). */
export function basePath(): string {
  const path = new URL(document.baseURI).pathname;
  return path.endsWith('/') ? path : `${path}/`;
}

/** The current location below the base, without a leading slash ("r/library/alpine"). */
function currentRoute(): string {
  const base = basePath();
  const path = decodeURI(location.pathname);
  return path.startsWith(base) ? path.slice(base.length) : '';
}

const listeners = new Set<() => void>();

export function navigate(to: string, query?: Record<string, string>): void {
  history.pushState(null, '', href(to, query));
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

/** The href of a route below the base. */
export function href(route: string, query?: Record<string, string>): string {
  const search = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`;
  return `${basePath()}${encodeURI(route)}${search}`;
}

export function useRoute(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const changed = (): void => setTick((tick) => tick + 1);
    listeners.add(changed);
    window.addEventListener('popstate', changed);
    return () => {
      listeners.delete(changed);
      window.removeEventListener('popstate', changed);
    };
  }, []);
  return { path: currentRoute(), query: new URLSearchParams(location.search) };
}

/** Same-page navigation for plain left clicks on links below the base; others load normally. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element).closest('a');
    if (anchor === null || anchor.target !== '' || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href);
    const base = basePath();
    if (url.origin !== location.origin || !url.pathname.startsWith(base)) return;
    event.preventDefault();
    history.pushState(null, '', url.pathname + url.search);
    for (const listener of listeners) listener();
    window.scrollTo(0, 0);
  });
}
