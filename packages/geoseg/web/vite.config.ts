// Vite build of the viewer: `vite build web` → web/dist, served by `geoseg serve` at /.
// `vite web` (dev) forwards the API and files to a running `geoseg serve` on the default port.
import { defineConfig } from 'vite';

const api = 'http://127.0.0.1:8321';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': api, '/files': api } },
});
