/**
 * `npm run bench [-- name …] [-- --quick] [-- --large]`: runs each bench/<name>.bench.ts in its own
 * process, keeps its result in bench/results/<name>.json, and rewrites docs/benchmarks.md (and the
 * README's headline table) from all kept results, so a partial run keeps the other figures with
 * the date they were measured. `npm run bench -- --report` only rewrites the docs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchResult, machineDescription } from './harness.ts';

const benchDir = fileURLToPath(new URL('./', import.meta.url));
const resultsDir = `${benchDir}results/`;
const root = fileURLToPath(new URL('../', import.meta.url));

interface Kept extends BenchResult {
  name: string;
  measuredAt: string;
  machine: string;
  quick: boolean;
  large: boolean;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const large = args.includes('--large');
const reportOnly = args.includes('--report'); // rewrite the docs from the kept results, run nothing
const names = args.filter((a) => !a.startsWith('--'));
const all = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const selected = reportOnly ? [] : names.length ? names : all;
for (const n of selected)
  if (!all.includes(n)) throw new Error(`no bench/${n}.bench.ts (have: ${all.join(', ')})`);

let failed = 0;
for (const name of selected) {
  process.stderr.write(`\n▶ ${name}${quick ? ' (quick)' : ''}${large ? ' (large)' : ''}\n`);
  const script = `import(${JSON.stringify(`${benchDir}${name}.bench.ts`)}).then(m => m.default(${JSON.stringify({ quick, large })})).then(r => { process.stdout.write('\\n@@RESULT@@' + JSON.stringify(r) + '\\n'); process.exit(0); }, e => { console.error(e); process.exit(1); })`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: process.env,
  });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('@@RESULT@@'));
  if (r.status !== 0 || !line) {
    failed++;
    process.stderr.write(`✖ ${name} failed (exit ${r.status})\n${r.stdout?.slice(-2000) ?? ''}\n`);
    continue;
  }
  const result = JSON.parse(line.slice('@@RESULT@@'.length)) as BenchResult;
  const kept: Kept = {
    ...result,
    name,
    measuredAt: new Date().toISOString(),
    machine: machineDescription(),
    quick,
    large,
  };
  writeFileSync(`${resultsDir}${name}.json`, `${JSON.stringify(kept, null, 2)}\n`);
  for (const f of result.figures)
    process.stderr.write(
      `  ${f.metric}: ${f.value}${f.goal ? ` (goal ${f.goal}${f.met === undefined ? '' : f.met ? ', met' : ', NOT met'})` : ''}\n`,
    );
}

const kept: Kept[] = readdirSync(resultsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(`${resultsDir}${f}`, 'utf8')) as Kept)
  .sort((a, b) => a.name.localeCompare(b.name));

const esc = (s: string) => s.replace(/\|/g, '\\|');
const doc = [
  '# Benchmarks',
  '',
  'Written by `npm run bench` from `bench/results/*.json` (one file per scenario in `bench/`). Each section',
  'names the machine and Node.js version it ran on, how it was measured, and whether the goal was met.',
  'Tests never assert on time; these figures are the only speed claims Vigil makes.',
  '',
  ...kept.flatMap((k) => [
    `## ${k.title}`,
    '',
    `*${k.name} · measured ${k.measuredAt.slice(0, 16).replace('T', ' ')} UTC · ${k.machine}${k.quick ? ' · quick size' : ''}${k.large ? ' · large size' : ''}*`,
    '',
    '| metric | value | goal | met |',
    '| --- | --- | --- | --- |',
    ...k.figures.map(
      (f) =>
        `| ${esc(f.metric)} | ${esc(f.value)} | ${esc(f.goal ?? '')} | ${f.met === undefined ? '' : f.met ? 'yes' : '**no**'} |`,
    ),
    '',
    '**Method.** ' + k.method,
    '',
    ...(k.notes ? [`**Notes.** ${k.notes}`, ''] : []),
  ]),
].join('\n');
writeFileSync(`${root}docs/benchmarks.md`, `${doc}\n`);

const readme = `${root}README.md`;
if (existsSync(readme)) {
  const headline = [
    '| scenario | figure | value | goal | met |',
    '| --- | --- | --- | --- | --- |',
    ...kept.flatMap((k) =>
      k.figures
        .filter((f) => f.goal)
        .map(
          (f) =>
            `| ${esc(k.title)} | ${esc(f.metric)} | ${esc(f.value)} | ${esc(f.goal ?? '')} | ${f.met === undefined ? '' : f.met ? 'yes' : 'no'} |`,
        ),
    ),
  ].join('\n');
  const text = readFileSync(readme, 'utf8');
  writeFileSync(
    readme,
    text.replace(
      /<!-- bench:headline:start -->[\s\S]*<!-- bench:headline:end -->/,
      `<!-- bench:headline:start -->\n${headline}\n<!-- bench:headline:end -->`,
    ),
  );
}
process.stderr.write(`\nwrote docs/benchmarks.md (${kept.length} scenarios)\n`);
process.exit(failed ? 1 : 0);
