import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { neutraliseFormula, parseCsv, toCsv } from './csv.ts';
import { isVigilError } from './errors.ts';

describe('CSV exports and imports', () => {
  it('neutralises every formula start a spreadsheet runs: = + - @ tab CR', () => {
    for (const bad of ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])
      assert.equal(neutraliseFormula(bad), `'${bad}`);
    for (const ok of ['patient-1', 'a=b', '', "'quoted"]) assert.equal(neutraliseFormula(ok), ok);
  });

  it('writes RFC 4180 (CRLF, quotes doubled) and keeps numbers, negative ones too, as numbers', () => {
    const csv = toCsv(
      ['id', 'note', 'n', 'ok', 'none'],
      [
        ['p-1', 'says "hi", then\nleaves', -3.5, true, null],
        ['=cmd|calc', '@x', 0, false, undefined],
      ],
    );
    assert.ok(csv.endsWith('\r\n'));
    assert.equal(csv.split('\r\n')[0], 'id,note,n,ok,none');
    const back = parse(csv, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(back[0], {
      id: 'p-1',
      note: 'says "hi", then\nleaves',
      n: '-3.5',
      ok: 'true',
      none: '',
    });
    assert.deepEqual(back[1], { id: "'=cmd|calc", note: "'@x", n: '0', ok: 'false', none: '' });
  });

  it('reads CSV back: BOM dropped, quoted commas and line breaks, ragged rows kept; bad quoting is coded', () => {
    assert.deepEqual(parseCsv('\uFEFFid,note\r\na,"x, y"\r\nb,"two\nlines"\r\nc\r\n'), [
      ['id', 'note'],
      ['a', 'x, y'],
      ['b', 'two\nlines'],
      ['c'],
    ]);
    assert.deepEqual(parseCsv(toCsv(['n'], [['=1+1']])), [['n'], ["'=1+1"]]);
    assert.throws(
      () => parseCsv('id,note\na,"never closed\n'),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_API_CSV_MALFORMED' && e.status === 400,
    );
  });
});
