import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The module boundaries of docs/architecture.md §3, enforced: a file in src/<module>/ may import only
 * the modules listed for it (its own module is always allowed). A new folder under src/ must be
 * added here, which makes its boundaries a deliberate decision.
 */
export const allowedImports: Record<string, readonly string[]> = {
  core: [],
  config: ['core'],
  // Repositories may use the domain types of the module they persist (alerts); see docs/adr/0002.
  store: ['core', 'alerts'],
  normalize: ['core'],
  detect: ['core'],
  devices: ['core', 'store'],
  // ADT over HL7 v2: the ADT profile (normalize), device associations, the audit log's types.
  adt: ['core', 'store', 'devices', 'normalize', 'audit'],
  // ingest asks the one access policy (auth) whether a device may publish on a topic.
  ingest: ['core', 'devices', 'store', 'auth'],
  alerts: ['core', 'store', 'auth', 'audit'],
  // program (worklist ranking, CGM metrics, population risk, RPM metrics) reuses the pure NEWS2 and
  // program definitions and reads alert data (alarm burden, time to acknowledge).
  program: ['core', 'store', 'detect', 'alerts'],
  // auth, audit and consent are one cross-cutting security group (architecture §3 lists them together).
  auth: ['core', 'store', 'audit', 'consent'],
  audit: ['core', 'store', 'auth', 'consent'],
  consent: ['core', 'store', 'audit', 'auth'],
  pipeline: ['core', 'store', 'detect', 'alerts', 'ingest', 'normalize', 'config'],
  sim: ['core'],
  // the edge gateway's queue and forwarder: over the store port and its own config; it applies the
  // centre's acknowledgements to the hub's alerts (docs/edge.md)
  edge: ['core', 'store', 'config', 'alerts'],
  api: [
    'core',
    'config',
    'store',
    'devices',
    'ingest',
    'normalize',
    'detect',
    'alerts',
    'program',
    'auth',
    'audit',
    'consent',
    'pipeline',
    // the wire types of the edge gateway's forward route
    'edge',
  ],
  cli: ['*'],
  'server.ts': ['*'],
};

const srcDir = fileURLToPath(new URL('../../src/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') || p.endsWith('.tsx') ? [p] : [];
  });
}

function moduleOf(file: string): string {
  const rel = relative(srcDir, file);
  const first = rel.split(sep)[0] as string;
  return rel.includes(sep) ? first : first; // top-level files (server.ts) are their own module
}

const importPattern =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function violations(): string[] {
  const found: string[] = [];
  for (const file of walk(srcDir)) {
    const from = moduleOf(file);
    const allowed = allowedImports[from];
    const text = readFileSync(file, 'utf8');
    if (!allowed) {
      found.push(
        `${relative(srcDir, file)}: module "${from}" has no import rule (add it to test/architecture/import-rules.test.ts and docs/architecture.md)`,
      );
      continue;
    }
    for (const m of text.matchAll(importPattern)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const testSupport = fileURLToPath(new URL('../support/', import.meta.url));
      if (/\.test\.tsx?$/.test(file) && target.startsWith(testSupport)) continue; // tests may use test helpers
      if (!target.startsWith(srcDir)) {
        found.push(`${relative(srcDir, file)} imports ${spec}, outside src/`);
        continue;
      }
      const to = moduleOf(target);
      if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
      found.push(`${relative(srcDir, file)} (${from}) imports ${spec} (${to}), which ${from} may not import`);
    }
  }
  return found;
}

describe('architecture: module import rules', () => {
  it('no module imports what the architecture forbids', () => {
    assert.deepEqual(violations(), []);
  });

  it('the check catches a forbidden import (core importing store)', () => {
    const line = `import { x } from '../store/database.ts';`;
    const m = [...`\n${line}`.matchAll(importPattern)][0];
    assert.equal(m?.[1], '../store/database.ts');
    assert.ok(!(allowedImports['core'] as readonly string[]).includes('store'));
  });
});
