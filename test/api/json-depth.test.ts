import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/** Deep JSON is refused by the management API before anything recursive touches it (never a 500). */
describe('management API JSON depth', () => {
  let t: InProcess;
  before(async () => {
    t = await startInProcess();
  });
  after(async () => t?.stop());

  it('answers 400 VIGIL_ERR_API_TOO_DEEP to 20,000 nested arrays; ordinary bodies still parse', async () => {
    const token = await t.token();
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: deep,
    });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_API_TOO_DEEP');
    const ok = await t.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ patientId: 'pat-depth', severity: 'low', summary: 'depth check' }),
    });
    assert.equal(ok.statusCode, 201, ok.body);
    const poisoned = await t.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"patientId":"p","severity":"low","summary":"x","__proto__":{"admin":true}}',
    });
    assert.equal(poisoned.statusCode, 400, poisoned.body);
  });
});
