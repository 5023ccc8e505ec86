import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * A clone of Vigil must test, bench and document itself with nothing beside it: no file the project
 * ships may point outside the repository for its material (a user who clones Vigil has only the
 * repository). Real external test material lives in test/corpora/ with its SOURCES and licence.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const scanned = [
  'src',
  'test',
  'bench',
  'scripts',
  'web',
  'docs',
  'deploy',
  '.ci',
  'README.md',
  'CONTRIBUTING.md',
  'package.json',
];
const skipDirs = new Set(['node_modules', 'dist', 'corpora', 'results', 'test-results']);
const textFile = /\.(ts|tsx|js|mjs|cjs|json|md|sh|yaml|yml|html|css|sql|service|conf)$|^run$/;

// Built from parts so this file does not match itself.
const outside = [['..', 'shared'].join('/'), ['shared', 'corpora'].join('/'), ['shared', 'docs'].join('/')];

function* files(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (statSync(path).isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) yield* files(join(path, entry.name));
    } else if (textFile.test(entry.name)) yield join(path, entry.name);
  }
}

describe('the repository is self-contained', () => {
  it('no shipped file reads or names material outside the repository', () => {
    const offenders: string[] = [];
    for (const top of scanned)
      for (const file of files(join(root, top))) {
        const text = readFileSync(file, 'utf8');
        text.split('\n').forEach((line, i) => {
          if (outside.some((needle) => line.includes(needle)))
            offenders.push(`${relative(root, file)}:${i + 1}`);
        });
      }
    assert.deepEqual(
      offenders,
      [],
      `these lines point outside the repository; copy the material into test/corpora/:\n${offenders.join('\n')}`,
    );
  });

  it('every corpus folder names its sources', () => {
    const corpora = join(root, 'test', 'corpora');
    const missing = readdirSync(corpora, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .filter((e) => !existsSync(join(corpora, e.name, 'SOURCES.md')))
      .map((e) => e.name);
    assert.deepEqual(missing, []);
  });
});
