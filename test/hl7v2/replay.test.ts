import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { asWire, corpusDir, MllpClient, parseAck } from './support.ts';

// Issue 13 item 8: replaying an HL7 v2 dead letter failed with REPLAY_NO_DEVICE — MLLP letters are
// kept without a device (it was unknown), and the replay did not identify it from the message.
const message = (name: string) => asWire(readFileSync(new URL(name, corpusDir), 'latin1'));

describe('replay of an HL7 v2 (PCD-01) dead letter', () => {
  let t: InProcess;
  let admin: string;
  before(async () => {
    t = await startInProcess({
      env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1', VIGIL_LOG_LEVEL: 'silent' },
    });
    admin = await t.token();
  });
  after(async () => t?.stop());

  const replay = (id: string) =>
    t.inject({
      method: 'POST',
      url: `/api/v1/dead-letters/${id}/replay`,
      headers: { authorization: `Bearer ${admin}` },
    });

  it('a message refused for an unregistered device is stored on replay once the device is registered', async () => {
    const text = message('wan__valid-oximeter-continua-wan.hl7v2')
      .replaceAll('ACDE48234567ABCD', 'FFEEDDCCBBAA0099') // MSH-3 sender (gateway)
      .replaceAll('0123456789ABCDEF', 'FFEEDDCCBBAA0011') // OBX-18 equipment
      .replace('MSGID1234', 'REPLAY-1');
    const c = await MllpClient.open(t.vigil.mllpPort as number);
    try {
      assert.equal(parseAck(await c.send(text)).code, 'AR');
    } finally {
      c.close();
    }
    const letters = await t.vigil.db.query<{ id: string }>(
      `select id::text from dead_letter where transport = 'hl7v2' and reason_code = 'VIGIL_ERR_HL7V2_UNKNOWN_DEVICE'`,
    );
    assert.equal(letters.length, 1);
    const id = letters[0]?.id as string;

    // still unknown: a coded 409 naming why, nothing stored
    const early = await replay(id);
    assert.equal(early.statusCode, 409);
    const err = (early.json() as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'VIGIL_ERR_INGEST_REPLAY_NO_DEVICE');
    assert.match(err.message, /VIGIL_ERR_HL7V2_UNKNOWN_DEVICE/);

    const reg = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${admin}` },
      payload: { id: 'oxi-late', kind: 'pulse-oximeter', identifier: 'FF-EE-DD-CC-BB-AA-00-11' },
    });
    assert.equal(reg.statusCode, 201);
    const r = await replay(id);
    assert.equal(r.statusCode, 200, r.body);
    const results = (r.json() as { results: Array<{ status: string; ids?: string[] }> }).results;
    assert.equal(results[0]?.status, 'accepted');
    const stored = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where device_id = 'oxi-late'`,
    );
    assert.equal(stored[0]?.n, results[0]?.ids?.length);
    assert.ok((stored[0]?.n ?? 0) > 0);
    const again = await replay(id);
    assert.equal(
      (again.json() as { results: Array<{ status: string }> }).results[0]?.status,
      'duplicate',
      'a second replay stores nothing twice',
    );
  });
});
