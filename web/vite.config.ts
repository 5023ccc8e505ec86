import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The clinician dashboard. `npm run build:web` (also run by `npm ci` via "prepare") builds it to
// web/dist, which Vigil serves at `/` (src/api/routes/web.ts). For development: run Vigil, then
// `npx vite web` — API calls are proxied to VIGIL_URL (default http://127.0.0.1:8080).
const target = process.env['VIGIL_URL'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    // the clinician dashboard at /, the patient app at /patient/
    rollupOptions: {
      input: {
        dashboard: `${import.meta.dirname}/index.html`,
        patient: `${import.meta.dirname}/patient/index.html`,
      },
    },
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/auth', '/fhir', '/health'].map((p) => [p, { target, changeOrigin: true, ws: p === '/api' }]),
    ),
  },
});
