import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hazards } from '../../scripts/safety/hazards.ts';
import {
  directDependencies,
  generate,
  type Lockfile,
  missingReferences,
  namesTest,
  renderSoup,
  root,
} from '../../scripts/safety-file.ts';

const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('the safety file (docs/safety/)', () => {
  it('the generated files on disk are what the generator writes now', () => {
    for (const [file, content] of generate()) {
      const onDisk = readFileSync(join(root, file), 'utf8');
      assert.ok(onDisk === content, `${file} is out of date: run node scripts/safety-file.ts`);
    }
  });

  it('every file and test the hazard analysis and the requirements cite exists', () => {
    assert.deepEqual(missingReferences(root), []);
  });

  it('the check bites: a renamed test, a missing file and a missing test file are reported', () => {
    const first = hazards[0]!;
    const broken = [
      {
        ...first,
        controls: [
          {
            what: 'x',
            code: ['src/detect/no-such-rule.ts'],
            tests: [
              { file: 'src/detect/rules.test.ts', name: 'a test nobody wrote' },
              { file: 'test/detect/no-such.test.ts', name: 'anything' },
            ],
          },
        ],
      },
    ];
    const problems = missingReferences(root, broken, [], []);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /no-such-rule\.ts does not exist/);
    assert.match(problems[1]!, /has no test named “a test nobody wrote”/);
    assert.match(problems[2]!, /no-such\.test\.ts does not exist/);
    // A name must be a whole string literal, not a fragment of one.
    assert.equal(namesTest("it('fires at 92 %', () => {})", 'fires at 92'), false);
    assert.equal(namesTest("it('fires at 92 %', () => {})", 'fires at 92 %'), true);
  });

  it('the SOUP list names every direct dependency at its locked version', () => {
    assert.deepEqual(directDependencies(lock).problems, []);
    const soup = readFileSync(join(root, 'docs/safety/soup.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const line of soup.split('\n')) {
      const m = /^\| (\S+) \| (\S+) \| [^|]+ \| [^|]+ \|$/.exec(line);
      if (m && !rows.has(m[1]!)) rows.set(m[1]!, m[2]!);
    }
    const direct = { ...pkg.dependencies, ...pkg.devDependencies };
    assert.ok(Object.keys(direct).length > 40);
    for (const [name, range] of Object.entries(direct)) {
      const locked = lock.packages[`node_modules/${name}`]?.version;
      assert.equal(
        rows.get(name),
        locked,
        `${name}: the SOUP list says ${rows.get(name)}, the lockfile ${locked}`,
      );
      assert.equal(range, locked, `${name} is pinned exactly (--save-exact)`);
    }
  });

  it('a lockfile change shows in the SOUP list: a bumped version and a new dependency', () => {
    const changed = structuredClone(lock);
    changed.packages['node_modules/fastify']!.version = '99.0.0';
    changed.packages['']!.dependencies!['left-pad'] = '1.3.0';
    changed.packages['node_modules/left-pad'] = { version: '1.3.0', license: 'WTFPL' };
    assert.match(renderSoup(changed), /\| fastify \| 99\.0\.0 \|/);
    assert.deepEqual(directDependencies(changed).problems, [
      'left-pad has no purpose in scripts/safety/soup-purposes.ts',
    ]);
  });

  it('every production package of the lockfile is in the SOUP list', () => {
    const soup = readFileSync(join(root, 'docs/safety/soup.md'), 'utf8');
    const production = Object.entries(lock.packages).filter(([k, p]) => k !== '' && !p.dev);
    assert.ok(production.length > 50);
    for (const [key, p] of production) {
      const name = p.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      assert.ok(soup.includes(`| ${name} | ${p.version} |`), `${name}@${p.version} missing from soup.md`);
    }
  });

  it('every hazard has causes, controls with code and tests, and a residual risk', () => {
    const ids = new Set<string>();
    for (const h of hazards) {
      assert.ok(!ids.has(h.id), `duplicate ${h.id}`);
      ids.add(h.id);
      assert.ok(h.causes.length > 0 && h.controls.length > 0 && h.residual.length > 0, h.id);
      for (const c of h.controls) assert.ok(c.code.length > 0 && (c.tests.length > 0 || c.untested), h.id);
    }
    for (const title of [
      'Missed alarm',
      'False alarm',
      'Wrong patient',
      'Stale data',
      'Outage',
      'Wrong units',
      'Data loss',
      'Unauthorised access',
    ])
      assert.ok(
        hazards.some((h) => h.title.toLowerCase().startsWith(title.toLowerCase())),
        `no hazard titled ${title}`,
      );
  });
});
