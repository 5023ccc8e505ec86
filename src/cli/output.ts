import { writeFileSync } from 'node:fs';

/** Output for people (aligned text) or scripts (--json). */
export function out(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/**
 * An NDJSON export the API answered: to `file` (mode 0600, it can hold patient data; says on stderr
 * how many `what` it wrote) or to stdout.
 */
export function writeNdjson(answer: unknown, file: string | undefined, what: string): void {
  const text =
    answer === undefined ? '' : typeof answer === 'string' ? answer : `${JSON.stringify(answer)}\n`;
  if (file) {
    writeFileSync(file, text, { mode: 0o600 });
    process.stderr.write(`wrote ${text.split('\n').filter(Boolean).length} ${what} to ${file}\n`);
  } else process.stdout.write(text);
}
