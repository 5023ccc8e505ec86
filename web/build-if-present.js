// `prepare` (run by `npm ci` / `npm install`): build the dashboard when its build tools are
// installed (a development install); a production install (`npm ci --omit=dev`) has no Vite and uses
// the web/dist that shipped with the package or image (built by `prepack`, or the image's build stage).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vite = `${root}node_modules/vite/bin/vite.js`;
if (existsSync(vite)) {
  const r = spawnSync(process.execPath, [vite, 'build', 'web'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (existsSync(fileURLToPath(new URL('./dist/index.html', import.meta.url)))) {
  process.stdout.write('vigil: dashboard prebuilt (web/dist); Vite not installed, nothing to build\n');
} else {
  process.stdout.write(
    'vigil: Vite is not installed and web/dist is missing: the server runs, the dashboard page says it is not built\n',
  );
}
