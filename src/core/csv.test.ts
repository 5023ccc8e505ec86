import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { neutraliseFormula, toCsv } from './csv.ts';

describe('CSV exports', () => {
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
});
