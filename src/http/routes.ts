// The route table of the registry API, as data. Repository names contain slashes, so each
// route is a pattern over the raw path whose suffix (what follows the name) decides the route;
// the name is whatever precedes it and is validated by the handler's first step.
import type { AccessAction } from '../oci/index.js';
import type { RequestContext } from './context.js';
import { getBase } from './handlers/base.js';
import { deleteBlob, getBlob, headBlob } from './handlers/blobs.js';
import { listCatalog, listTags } from './handlers/listings.js';
import { listReferrers } from './handlers/referrers.js';
import { deleteManifest, getManifest, headManifest, putManifest } from './handlers/manifests.js';
import { cancelUpload, getUploadStatus, patchUpload, putUpload, startUpload } from './handlers/uploads.js';

export type Handler = (ctx: RequestContext) => Promise<void>;
export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/**
 * What a caller needs for a route when authentication is on. signed-in: any valid identity
 * (the version check, which `docker login` uses to test credentials); catalog: anyone, the list
 * is filtered to what the caller may pull; repository: these actions on the named repository.
 */
export type RouteAccess =
  | { readonly kind: 'signed-in' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'repository'; readonly actions: Partial<Record<Method, readonly AccessAction[]>> };

export interface Route {
  /** A name for logs and metrics ("manifest", "blob-upload"). */
  readonly name: string;
  readonly pattern: RegExp;
  /**
   * Text every path the pattern matches contains: a path without it skips the pattern, whose
   * failing match (backtracking over a long repository name) costs more than the search.
   */
  readonly contains?: string;
  readonly methods: Partial<Record<Method, Handler>>;
  readonly access: RouteAccess;
}

// The actions each method needs, as Distribution asks for them (writing implies reading).
const READ = ['pull'] as const;
const WRITE = ['pull', 'push'] as const;
const DELETE = ['delete'] as const;

export const routes: readonly Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: getBase, HEAD: getBase }, access: { kind: 'signed-in' } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: listCatalog }, access: { kind: 'catalog' } },
  {
    name: 'tags',
    contains: '/tags/list',
    pattern: /^\/v2\/(?<name>.+)\/tags\/list$/,
    methods: { GET: listTags },
    access: { kind: 'repository', actions: { GET: READ } },
  },
  {
    name: 'manifest',
    contains: '/manifests/',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: { GET: getManifest, HEAD: headManifest, PUT: putManifest, DELETE: deleteManifest },
    access: { kind: 'repository', actions: { GET: READ, HEAD: READ, PUT: WRITE, DELETE } },
  },
  {
    name: 'blob-upload-session',
    contains: '/blobs/uploads/',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<uuid>[^/]+)$/,
    methods: { GET: getUploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
    access: { kind: 'repository', actions: { GET: WRITE, PATCH: WRITE, PUT: WRITE, DELETE: WRITE } },
  },
  {
    name: 'referrers',
    contains: '/referrers/',
    pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/,
    methods: { GET: listReferrers },
    access: { kind: 'repository', actions: { GET: READ } },
  },
  {
    name: 'blob-upload',
    contains: '/blobs/uploads',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: { POST: startUpload },
    access: { kind: 'repository', actions: { POST: WRITE } },
  },
  {
    name: 'blob',
    contains: '/blobs/',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: { GET: getBlob, HEAD: headBlob, DELETE: deleteBlob },
    access: { kind: 'repository', actions: { GET: READ, HEAD: READ, DELETE } },
  },
];

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly handler: Handler; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method-not-allowed'; readonly route: Route }
  | { readonly kind: 'not-found' };

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export function matchRoute(method: string, path: string): RouteMatch {
  for (const route of routes) {
    if (route.contains !== undefined && !path.includes(route.contains)) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    const handler = route.methods[method as Method];
    if (!handler) return { kind: 'method-not-allowed', route };
    // The match's groups are a fresh object of each exec: no copy needed.
    return { kind: 'found', route, handler, params: match.groups ?? NO_PARAMS };
  }
  return { kind: 'not-found' };
}
