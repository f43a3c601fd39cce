// The administrators' pages (issue 18, item 5), loaded on demand by index.tsx: a navigation of
// the sections and the section the route names (admin/<section>). Each section is one module
// and calls only the documented admin API through ../../admin-api.ts.
import type { FunctionComponent } from 'preact';
import { useEffect } from 'preact/hooks';
import { href } from '../../router';
import { Audit } from './Audit';
import { GarbageCollection } from './GarbageCollection';
import { Namespaces } from './Namespaces';
import { ReadOnly } from './ReadOnly';
import { Rules } from './Rules';
import { Storage } from './Storage';
import { Teams } from './Teams';
import { Tokens } from './Tokens';
import { Upstreams } from './Upstreams';
import { Users } from './Users';
import { Webhooks } from './Webhooks';
import './admin.css';

interface Section {
  readonly path: string;
  readonly title: string;
  readonly page: FunctionComponent;
}

export const SECTIONS: readonly Section[] = [
  { path: 'users', title: 'Users', page: Users },
  { path: 'teams', title: 'Teams', page: Teams },
  { path: 'namespaces', title: 'Namespaces', page: Namespaces },
  { path: 'tokens', title: 'API tokens', page: Tokens },
  { path: 'upstreams', title: 'Pull-through upstreams', page: Upstreams },
  { path: 'storage', title: 'Storage and quotas', page: Storage },
  { path: 'gc', title: 'Garbage collection', page: GarbageCollection },
  { path: 'rules', title: 'Retention and immutability', page: Rules },
  { path: 'read-only', title: 'Read-only mode', page: ReadOnly },
  { path: 'webhooks', title: 'Webhooks and events', page: Webhooks },
  { path: 'audit', title: 'Audit log', page: Audit },
];

/** The page an unknown section shows, beside the navigation. */
function NoSuchSection() {
  return (
    <section aria-labelledby="admin-missing-heading">
      <h1 id="admin-missing-heading">Not found</h1>
      <p>There is no administration page here; pick one from the list.</p>
    </section>
  );
}

export function AdminPages({ section }: { section: string }) {
  // admin/ alone opens the first section.
  const current = section === '' ? SECTIONS[0] : SECTIONS.find((candidate) => candidate.path === section);
  useEffect(() => {
    const before = document.title;
    document.title = `${current?.title ?? 'Not found'} · Administration · Berth`;
    return () => {
      document.title = before;
    };
  }, [current]);
  const Page = current?.page ?? NoSuchSection;
  return (
    <div class="admin">
      <nav aria-label="Administration" class="admin-nav">
        <ul>
          {SECTIONS.map((candidate) => (
            <li key={candidate.path}>
              <a href={href(`admin/${candidate.path}`)} aria-current={candidate === current ? 'page' : undefined}>
                {candidate.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="admin-page">
        <Page />
      </div>
    </div>
  );
}
