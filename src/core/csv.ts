import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { VigilError } from './errors.ts';

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

/**
 * RFC 4180 CSV text → records of cells (csv-parse): CRLF or LF, quoted cells with doubled quotes and
 * line breaks, a UTF-8 byte-order mark dropped. Rows of any length are returned as they are (the
 * caller checks them against its header). Malformed quoting is a coded 400 naming the line.
 */
export function parseCsv(text: string): string[][] {
  try {
    return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: false }) as string[][];
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw new VigilError(
      'VIGIL_ERR_API_CSV_MALFORMED',
      `the CSV cannot be read${line ? ` (line ${line})` : ''}: ${(e as Error).message.split('\n')[0]}`,
      400,
      line ? { line } : undefined,
    );
  }
}
