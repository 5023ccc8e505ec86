import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { corpusDir, parseAck } from './support.ts';

const run = promisify(execFile);
const mllpSend = '/usr/bin/mllp_send'; // Debian python3-hl7

describe('mllp_send (python-hl7) → Vigil', {
  skip: existsSync(mllpSend) ? false : 'mllp_send not installed (apt-get install python3-hl7)',
}, () => {
  let t: InProcess;
  before(async () => {
    t = await startInProcess({ env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' } });
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${await t.token()}` },
      payload: { id: 'gateway-1', kind: 'gateway', identifier: 'ACDE48234567ABCD' },
    });
    assert.equal(r.statusCode, 201);
  });
  after(async () => t?.stop());

  it('a real HL7 client sends corpus files in place and gets AA / AE acknowledgements', async () => {
    const send = async (name: string) => {
      const file = fileURLToPath(new URL(name, corpusDir));
      const { stdout } = await run(mllpSend, [
        '--loose',
        '-p',
        String(t.vigil.mllpPort),
        '-f',
        file,
        '127.0.0.1',
      ]);
      return parseAck(stdout.replace(/\n/g, '\r'));
    };
    const ok = await send('wan__valid-scale-continua-wan.hl7v2');
    assert.equal(ok.code, 'AA');
    assert.equal(ok.controlId, 'MSGID1234');
    const bad = await send('wan__invalid-glucose-continua-wan.hl7v2');
    assert.equal(bad.code, 'AE');
    const rows = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where device_id = 'gateway-1'`,
    );
    assert.equal(rows[0]?.n, 6, 'the scale message: weight, height and BMI twice');
  });
});
