// Builds the web UI into ../dist/web: index.html plus content-hashed assets that Berth serves
// with long-cache headers. base './' keeps asset URLs relative: Berth inserts a <base> element
// naming ui.path into index.html when it serves it, so one build works under any path.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // Preact's automatic JSX runtime; the same setting as tsconfig.json's jsxImportSource.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // A strict Content-Security-Policy forbids inline scripts, and data: URLs are not needed.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
});
