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

export function AdminPages({ section }: { section: string }) {
  const current = SECTIONS.find((candidate) => candidate.path === section) ?? SECTIONS[0];
  useEffect(() => {
    if (current) document.title = `${current.title} · Administration · Berth`;
  }, [current]);
  if (current === undefined) return null;
  const Page = current.page;
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
