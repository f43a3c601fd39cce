// Loads the built web UI (dist/web, made from web/ by `npm run build`) into memory once at
// start-up: a few files of some tens of KiB, each kept with its gzip and brotli encodings so
// that serving one costs no compression per request. Undefined when the UI was not built.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { UiAsset, UiAssets } from '../http/ui/ui-routes.js';

/** dist/web beside dist/ and src/: the same path from src/server (tsx) and dist/server (built). */
export const DEFAULT_UI_DIRECTORY = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Built assets above this size (all of them, today) are kept precompressed too. */
const COMPRESS_FROM_BYTES = 512;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

async function* walk(directory: string): AsyncGenerator<string> {
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function compressible(type: string): boolean {
  return type.startsWith('text/') || type === 'image/svg+xml' || type === 'application/json';
}

/** The UI's files by path relative to the directory ("index.html", "assets/index-abc.js"); undefined when it has no index.html. */
export async function loadUiAssets(directory: string = DEFAULT_UI_DIRECTORY): Promise<UiAssets | undefined> {
  const files = new Map<string, UiAsset>();
  try {
    for await (const path of walk(directory)) {
      const name = relative(directory, path).split(sep).join('/');
      const dot = name.lastIndexOf('.');
      const type = CONTENT_TYPES[dot === -1 ? '' : name.slice(dot)] ?? 'application/octet-stream';
      const body = await readFile(path);
      const compress = compressible(type) && body.length >= COMPRESS_FROM_BYTES;
      files.set(name, {
        body,
        type,
        // Vite names what it builds under assets/ by content hash: such a name never changes meaning.
        immutable: name.startsWith('assets/'),
        gzip: compress ? gzipSync(body, { level: 9 }) : undefined,
        brotli: compress ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }) : undefined,
      });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return files.has('index.html') ? files : undefined;
}
