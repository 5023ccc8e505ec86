import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toJsonParam } from './database.ts';

describe('toJsonParam', () => {
  it('replaces what PostgreSQL jsonb cannot hold (U+0000, lone surrogates) and leaves the rest exact', () => {
    const out = JSON.parse(
      toJsonParam({ a: 'x\u0000y', b: '\ud800z', c: 'ok 😀', d: 'C:\\u0000', n: [1, null] }),
    ) as Record<string, unknown>;
    assert.deepEqual(out, { a: 'x\ufffdy', b: '\ufffdz', c: 'ok 😀', d: 'C:\\u0000', n: [1, null] });
  });
  it('is plain JSON.stringify for ordinary values', () => {
    const v = { id: 'r1', value: 97.5, flags: ['low-perfusion'], note: 'naïve café' };
    assert.equal(toJsonParam(v), JSON.stringify(v));
  });
});
