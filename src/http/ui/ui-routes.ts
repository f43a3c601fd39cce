// Serves the web UI's static files under ui.path (default /ui) from the same process and port
// as the registry: content-hashed assets with a year-long immutable cache, index.html for every
// page path (the UI routes in the browser) with no-cache, each with a strict
// Content-Security-Policy. GET / redirects to the UI. Only ui.path and / are routed here, so
// /v2/, /api/, /token and the rest are never shadowed (ui-schema.ts refuses paths over them).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors/index.js';

/** One built file, with its precompressed encodings when worth having. */
export interface UiAsset {
  readonly body: Buffer;
  readonly type: string;
  /** Named by content hash: cached for a year without revalidation. */
  readonly immutable: boolean;
  readonly gzip: Buffer | undefined;
  readonly brotli: Buffer | undefined;
}

/** The built UI's files by path relative to its root ("index.html", "assets/index-abc.js"). */
export type UiAssets = ReadonlyMap<string, UiAsset>;

export interface UiRouteOptions {
  /** ui.path, without a trailing slash ("/ui"). */
  readonly path: string;
  readonly assets: UiAssets;
}

/**
 * The UI's pages may load scripts, styles and images only from this origin, talk only to it,
 * never be framed, and submit forms only to it; no inline script or style, no eval.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** index.html with a <base> naming ui.path, so its relative asset URLs and the router work from any page path. */
function pageAsset(index: UiAsset, path: string): UiAsset {
  const html = index.body.toString('utf8');
  const base = `<base href="${path}/" />`;
  const withBase = html.includes('<head>') ? html.replace('<head>', `<head>\n    ${base}`) : `${base}${html}`;
  return { body: Buffer.from(withBase, 'utf8'), type: index.type, immutable: false, gzip: undefined, brotli: undefined };
}

function etagOf(asset: UiAsset): string {
  return `"${createHash('sha256').update(asset.body).digest('base64url').slice(0, 22)}"`;
}

export function registerUiRoutes(app: FastifyInstance, options: UiRouteOptions): void {
  const { path, assets } = options;
  const index = assets.get('index.html');
  if (index === undefined) throw new Error('the web UI has no index.html');
  const page = pageAsset(index, path);
  const etags = new Map<UiAsset, string>([[page, etagOf(page)]]);
  for (const asset of assets.values()) etags.set(asset, etagOf(asset));

  const send = (request: FastifyRequest, reply: FastifyReply, asset: UiAsset): FastifyReply => {
    const etag = etags.get(asset) ?? etagOf(asset);
    reply
      .header('Content-Type', asset.type)
      .header('Cache-Control', asset.immutable ? IMMUTABLE : 'no-cache')
      .header('ETag', etag)
      .header('Vary', 'Accept-Encoding')
      .header('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY)
      .header('X-Content-Type-Options', 'nosniff')
      .header('X-Frame-Options', 'DENY')
      .header('Referrer-Policy', 'same-origin');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    const accepted = String(request.headers['accept-encoding'] ?? '');
    let body = asset.body;
    if (asset.brotli !== undefined && /\bbr\b/.test(accepted)) {
      body = asset.brotli;
      reply.header('Content-Encoding', 'br');
    } else if (asset.gzip !== undefined && /\bgzip\b/.test(accepted)) {
      body = asset.gzip;
      reply.header('Content-Encoding', 'gzip');
    }
    reply.header('Content-Length', body.length);
    return reply.code(200).send(request.method === 'HEAD' ? undefined : body);
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const url = request.url;
    const pathname = url.slice(0, url.indexOf('?') === -1 ? url.length : url.indexOf('?'));
    const rest = pathname.slice(path.length + 1);
    // Files first; any other path below ui.path is a page of the UI (it routes in the browser).
    const asset = rest === 'index.html' ? page : assets.get(rest);
    if (asset !== undefined) return send(request, reply, asset);
    // A missing asset is a 404, not the page: a stale script URL must not load HTML as script.
    if (rest.startsWith('assets/') || rest === 'favicon.svg') throw new RegistryError('NOT_FOUND', { path: pathname.slice(0, 300) });
    return send(request, reply, page);
  };

  app.route({ method: ['GET', 'HEAD'], url: path, handler: async (_request, reply) => reply.redirect(`${path}/`, 301) });
  app.route({ method: ['GET', 'HEAD'], url: `${path}/`, handler: serve });
  app.route({ method: ['GET', 'HEAD'], url: `${path}/*`, handler: serve });
  app.route({ method: ['GET', 'HEAD'], url: '/', handler: async (_request, reply) => reply.redirect(`${path}/`, 302) });
}
