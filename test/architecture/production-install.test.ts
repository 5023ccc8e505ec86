import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
  files: string[];
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|js)$/.test(name) && !/\.test\.ts$/.test(name) ? [p] : [];
  });
}

/** Packages a file loads at run time (type-only imports are erased by type stripping). */
function runtimePackages(source: string): string[] {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/(import|export)\s+type\s+[^;]*?from\s+'[^']+'/g, '');
  const specs = [...code.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1] ?? '');
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? s)));
}

describe('a production install (npm ci --omit=dev) runs the server', () => {
  it('every package the server and the CLI load at run time is a production dependency', () => {
    const missing: string[] = [];
    for (const f of [...files(join(root, 'src')), ...files(join(root, 'bin'))])
      for (const p of runtimePackages(readFileSync(f, 'utf8')))
        if (!pkg.dependencies[p]) missing.push(`${f.slice(root.length)} → ${p}`);
    assert.deepEqual(missing, []);
  });

  it('the dashboard build tools are development dependencies; the pinned Node is a runtime one', () => {
    for (const d of ['vite', '@vitejs/plugin-react', 'react', 'react-dom'])
      assert.ok(pkg.devDependencies[d] && !pkg.dependencies[d], `${d} is a devDependency`);
    assert.ok(pkg.dependencies['node'], 'npm start runs on the pinned Node 24 without dev dependencies');
  });

  it('prepare builds only where Vite is present; the package ships the built dashboard', () => {
    assert.match(pkg.scripts['prepare'] ?? '', /build-if-present/);
    const prepare = readFileSync(join(root, 'web/build-if-present.js'), 'utf8');
    assert.match(prepare, /existsSync\(vite\)/);
    assert.match(pkg.scripts['prepack'] ?? '', /build:web/);
    assert.ok(pkg.files.includes('web/dist/'));
  });
});
