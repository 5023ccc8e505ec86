import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { testDatabaseUrl } from '../support/databases.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { asWire, corpusDir, MllpClient, parseAck } from './support.ts';

// The Continua WAN scale message: weight 80 kg (OBX 4, OBX-11 R) at 2009-08-15T07:07:07Z.
const SCALE = asWire(readFileSync(new URL('wan__valid-scale-continua-wan.hl7v2', corpusDir), 'latin1'));
const WEIGHT = '|80|263875^MDC_DIM_KILO_G^MDC|||||R|';
/**
 * The first weight corrected to 81 kg in a later message (new control id) that carries only it:
 * MSH, PID, the first OBR, the device row (its OBX-18 names the scale) and the weight, OBX-11 C.
 */
const CORRECTION = SCALE.split('\r')
  .filter((seg, i, all) => {
    const firstObr2 = all.findIndex((x) => x.startsWith('OBR|2|'));
    return (
      seg.startsWith('MSH|') ||
      seg.startsWith('PID|') ||
      (i < firstObr2 && (seg.startsWith('OBR|1|') || seg.startsWith('OBX|2|') || seg.startsWith('OBX|4|')))
    );
  })
  .join('\r')
  .replace('|MSGID1234|', '|MSGID5678|')
  .replace(WEIGHT, '|81|263875^MDC_DIM_KILO_G^MDC|||||C|');

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`HL7 v2 corrections (OBX-11 C) [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    let token: string;
    const weights = async () =>
      t.vigil.db.query<{ id: string; value: number; version_id: number; idem_key: string }>(
        `select id, value, version_id, idem_key from observation where device_id = 'cuff-1' and code = '29463-7'`,
      );
    const fhir = async (url: string) => {
      const r = await t.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, json: r.json() };
    };

    before(async () => {
      t = await startInProcess({
        postgres: backend === 'postgres',
        env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' },
      });
      token = await t.token();
      const r = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: { authorization: `Bearer ${token}` },
        payload: { id: 'cuff-1', kind: 'scale', identifier: '01-23-45-67-89-AB-CD-EF' },
      });
      assert.equal(r.statusCode, 201, r.body);
    });
    after(async () => t?.stop());

    it('a correction amends the earlier reading: same Observation, status corrected, the first version in history', async () => {
      assert.match(CORRECTION, /\|81\|263875\^MDC_DIM_KILO_G\^MDC\|\|\|\|\|C\|/);
      const c = await MllpClient.open(t.vigil.mllpPort as number);
      try {
        assert.equal(parseAck(await c.send(SCALE)).code, 'AA');
        const before = await weights();
        assert.equal(before.length, 2, 'the message has two weight rows (OBX 4 and 10)');

        assert.equal(parseAck(await c.send(CORRECTION)).code, 'AA');
        const rows = await weights();
        assert.equal(rows.length, 2, 'not a duplicate');
        const amended = rows.filter((r) => r.version_id === 2);
        assert.equal(amended.length, 1, 'one reading amended: the one of the same OBX-4');
        assert.ok(
          before.some((r) => r.id === amended[0]?.id),
          'the same reading',
        );
        assert.equal(amended[0]?.value, 81);
        assert.match(amended[0]?.idem_key ?? '', /\|m:MSGID5678\|1\.0\.0\.2\|188736\|/);

        const now = await fhir(`/fhir/Observation/${amended[0]?.id}`);
        assert.equal(now.status, 200);
        assert.equal(now.json.status, 'corrected');
        assert.equal(now.json.valueQuantity.value, 81);
        assert.equal(now.json.meta.versionId, '2');
        const v1 = await fhir(`/fhir/Observation/${amended[0]?.id}/_history/1`);
        assert.equal(v1.status, 200);
        assert.equal(v1.json.status, 'final');
        assert.equal(v1.json.valueQuantity.value, 80);
        const hist = await fhir(`/fhir/Observation/${amended[0]?.id}/_history`);
        assert.deepEqual(
          hist.json.entry.map(
            (e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId,
          ),
          ['2', '1'],
        );
        const search = await fhir('/fhir/Observation?status=corrected');
        assert.deepEqual(
          search.json.entry.map((e: { resource: { id: string } }) => e.resource.id),
          [amended[0]?.id],
        );

        // a resent correction changes nothing; the other rows of the message were not corrected
        assert.equal(parseAck(await c.send(CORRECTION)).code, 'AA');
        const again = await weights();
        assert.deepEqual(again.map((r) => r.version_id).sort(), [1, 2]);
        const others = await t.vigil.db.query<{ n: number }>(
          `select count(*)::int as n from observation where device_id = 'cuff-1' and code <> '29463-7' and version_id > 1`,
        );
        assert.equal(others[0]?.n, 0);
      } finally {
        c.close();
      }
    });

    it('a correction of a reading never received is stored as a corrected reading', async () => {
      const lone = CORRECTION.replace('|MSGID5678|', '|MSGID9|').replaceAll(
        '20090815070707',
        '20090816070707',
      );
      const c = await MllpClient.open(t.vigil.mllpPort as number);
      try {
        assert.equal(parseAck(await c.send(lone)).code, 'AA');
      } finally {
        c.close();
      }
      const rows = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'cuff-1' and code = '29463-7' and data ->> 'resultStatus' = 'corrected'`,
      );
      assert.equal(rows[0]?.n, 2, 'the amended one and the lone correction');
    });
  });
}
