// Builds the web UI (src/ui) into dist/ui, which the operator serves at / (src/http/ui.ts).
// Everything is bundled: no CDN and no web fonts, so the UI works in air-gapped clusters.
import { join } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: join(import.meta.dirname, 'src/ui'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  // `npm run dev:ui`: the API comes from an operator running locally (npm start).
  server: {
    proxy: { '/api': process.env.HINDSIGHT_URL ?? 'http://127.0.0.1:8080' },
  },
  build: {
    outDir: join(import.meta.dirname, 'dist/ui'),
    emptyOutDir: true,
    target: 'es2022',
    // Inline nothing into data: URLs beyond what the CSP's img-src allows; scripts stay files.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
