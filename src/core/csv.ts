import { stringify } from 'csv-stringify/sync';

/** A cell a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @, tab, carriage return. */
const formulaStart = /^[=+\-@\t\r]/;

/** Text cells that would start a formula get a leading apostrophe (shown as text, never run). */
export function neutraliseFormula(s: string): string {
  return formulaStart.test(s) ? `'${s}` : s;
}

/**
 * RFC 4180 CSV (CRLF, quotes doubled) through csv-stringify, one header line then the rows; text
 * cells are neutralised against formula injection, numbers and booleans written as they are (a
 * negative number stays a number), null and undefined as empty cells.
 */
export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return stringify([header as unknown[], ...(rows as unknown[][])], {
    record_delimiter: 'windows',
    cast: {
      string: (v) => neutraliseFormula(v),
      boolean: (v) => String(v),
      date: (v) => v.toISOString(),
      object: (v) => neutraliseFormula(JSON.stringify(v)),
    },
  });
}
