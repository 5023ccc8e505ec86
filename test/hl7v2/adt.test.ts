import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Encounter, Patient } from '@medplum/fhirtypes';
import { testDatabaseUrl } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { asWire, MllpClient, parseAck } from './support.ts';

/**
 * HL7 v2.5 ADT over a real MLLP socket drives admission, transfer, discharge, their cancellations
 * and a merge (test/corpora/hl7v2/adt, one story sent in order), bedside devices follow the patient
 * admitted to their bed, and a PCD-01 reading whose PID disagrees with the association is held.
 * Against PGlite and PostgreSQL.
 */
const adt = (name: string) =>
  asWire(readFileSync(new URL(`../corpora/hl7v2/adt/${name}`, import.meta.url), 'latin1'));

const MRN = 'urn:oid:2.16.840.1.113883.3.72.5.9.1';
const EUI_A = '00A0370098006640';
const EUI_B = '00A0370098006641';

/** A bedside monitor's PCD-01 (the shape of clinical-reference §4.3 sample B) naming patient `mrn`. */
const pcd01 = (controlId: string, eui: string, mrn: string, time: string, spo2: number) =>
  [
    `MSH|^~\\&|MINDRAY_VS900^${eui}^EUI-64||||${time}||ORU^R01^ORU_R01|${controlId}|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO`,
    `PID|||${mrn}^^^GHH&2.16.840.1.113883.3.72.5.9.1&ISO^MR||VERHOEVEN^ANNA^^^^^L||19580412|F`,
    'PV1||I|ICU^101^A^GHH',
    `OBR|1|${controlId}^MINDRAY_VS900^${eui}^EUI-64||182777000^monitoring of patient^SCT|||${time}`,
    `OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|${spo2}|262688^MDC_DIM_PERCENT^MDC|||||R|||${time}||||${eui}^^${eui}^EUI-64`,
    '',
  ].join('\r');

interface Assignment {
  patientId: string;
  periodStart: string;
  periodEnd: string | null;
}

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`HL7 v2 ADT over MLLP [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    let c: MllpClient;
    let token: string;
    let anna = '';
    let second = '';

    const api = async <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
      const r = await t.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
      return { status: r.statusCode, body: r.json() as T };
    };
    const send = async (text: string) => parseAck(await c.send(text));
    const patientsWith = async (mrn: string) =>
      (await api<Bundle<Patient>>('GET', `/fhir/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`))
        .body.entry ?? [];
    const assignments = async (device: string) =>
      (await api<{ assignments: Assignment[] }>('GET', `/api/v1/devices/${device}/assignments`)).body
        .assignments;
    const readingsOf = async (patient: string) =>
      (
        await t.vigil.db.query<{ n: number }>(
          'select count(*)::int as n from observation where patient_id = $1',
          [patient],
        )
      )[0]?.n;
    const encounterOf = async (patient: string) =>
      (await api<Bundle<Encounter>>('GET', `/fhir/Encounter?subject=Patient/${patient}`)).body.entry?.map(
        (e) => e.resource as Encounter,
      ) ?? [];
    const deadLetters = async (reason: string) =>
      (
        await t.vigil.db.query<{ device_id: string | null }>(
          `select device_id from dead_letter where transport = 'hl7v2' and reason_code = $1 order by received`,
          [reason],
        )
      ).map((r) => r.device_id);

    before(async () => {
      t = await startInProcess({
        postgres: backend === 'postgres',
        env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1', VIGIL_ADT_SENDERS: 'ADT1, ADT2' },
      });
      token = await t.token();
      for (const [id, eui, bed] of [
        ['monitor-101a', EUI_A, 'ICU^101^A^GHH'],
        ['monitor-102b', EUI_B, 'ICU^102^B^GHH'],
      ] as const) {
        const r = await api('POST', '/api/v1/devices', { id, kind: 'bedside-monitor', identifier: eui });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const b = await api<{ bed: string }>('PUT', `/api/v1/devices/${id}/bed`, { bed });
        assert.equal(b.status, 200, JSON.stringify(b.body));
        assert.equal(b.body.bed, bed);
      }
      assert.equal((await api('PUT', '/api/v1/devices/nobody/bed', { bed: 'X' })).status, 404);
      c = await MllpClient.open(t.vigil.mllpPort as number);
    });
    after(async () => {
      c?.close();
      await t?.stop();
    });

    it('A01 creates the patient from PID-3 (authority as system), an in-progress Encounter at the PV1-3 bed, and associates the bed’s monitor; ACK^A01^ACK AA', async () => {
      const ack = await send(adt('a01-admit.hl7'));
      assert.equal(ack.type, 'ACK^A01^ACK');
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      assert.equal(ack.controlId, 'ADT0001');
      const found = await patientsWith('MRN100234');
      assert.equal(found.length, 1);
      const p = found[0]?.resource as Patient;
      anna = p.id as string;
      assert.equal(p.name?.[0]?.family, 'Verhoeven');
      assert.deepEqual(p.name?.[0]?.given, ['Anna', 'M']);
      assert.equal(p.gender, 'female');
      assert.equal(p.birthDate, '1958-04-12');
      assert.deepEqual(
        p.identifier?.map((i) => [i.system, i.value]),
        [
          [MRN, 'MRN100234'],
          ['urn:oid:2.16.840.1.113883.2.4.6.3', '900123456'],
        ],
      );
      await validateFhir(p);
      const [enc, ...more] = await encounterOf(anna);
      assert.equal(more.length, 0);
      assert.ok(enc);
      assert.equal(enc.status, 'in-progress');
      assert.equal(enc.class.code, 'IMP');
      assert.equal(enc.period?.start, '2025-03-15T07:25:00.000Z', 'PV1-44 in its +0100 offset');
      assert.equal(enc.location?.[0]?.location.identifier?.value, 'ICU^101^A^GHH');
      assert.equal(enc.location?.[0]?.status, 'active');
      await validateFhir(enc);
      assert.deepEqual(
        (await assignments('monitor-101a')).map((a) => [a.patientId, a.periodStart, a.periodEnd]),
        [[anna, '2025-03-15T07:25:00.000Z', null]],
        'from EVN-6, the time the event occurred',
      );
      assert.deepEqual(await assignments('monitor-102b'), []);
    });

    it('the same A01 resent (same MSH-10) is acknowledged AA and changes nothing', async () => {
      const ack = await send(adt('a01-admit.hl7'));
      assert.equal(ack.code, 'AA');
      assert.equal((await patientsWith('MRN100234')).length, 1);
      assert.equal((await encounterOf(anna)).length, 1);
      assert.equal((await assignments('monitor-101a')).length, 1);
    });

    it('a PCD-01 reading whose PID names the associated patient is stored for that patient', async () => {
      const ack = await send(pcd01('R-1', EUI_A, 'MRN100234', '20250315090000+0100', 96));
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      assert.equal(await readingsOf(anna), 1);
    });

    it('wrong-patient check: a reading whose PID names someone else is held for review (AE, dead letter with the device), stored for nobody', async () => {
      const ack = await send(pcd01('R-2', EUI_A, 'MRN100777', '20250315090500+0100', 91));
      assert.equal(ack.type, 'ACK^R01^ACK');
      assert.equal(ack.code, 'AE');
      assert.equal(ack.err?.[2], 'PID^1^3');
      assert.equal(ack.err?.[5], 'VIGIL_ERR_HL7V2_WRONG_PATIENT^VIGIL_ERR_HL7V2_WRONG_PATIENT^L');
      assert.deepEqual(await deadLetters('VIGIL_ERR_HL7V2_WRONG_PATIENT'), ['monitor-101a']);
      assert.equal(await readingsOf(anna), 1);
      const stored = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'monitor-101a'`,
      );
      assert.equal(stored[0]?.n, 1, 'not stored unattributed either');
    });

    it('A02 moves the Encounter to the new bed: the old bed’s monitor is dissociated, the new one associated (and its readings since the transfer attributed)', async () => {
      // The new bed's monitor measures before the A02 reaches Vigil: stored, attributed to nobody yet.
      assert.equal((await send(pcd01('R-5', EUI_B, 'MRN100234', '20250315123000+0100', 97))).code, 'AA');
      assert.equal(await readingsOf(anna), 1);
      const ack = await send(adt('a02-transfer.hl7'));
      assert.equal(ack.type, 'ACK^A02^ACK');
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      const [enc] = await encounterOf(anna);
      assert.deepEqual(
        enc?.location?.map((l) => [l.location.identifier?.value, l.status]),
        [
          ['ICU^101^A^GHH', 'completed'],
          ['ICU^102^B^GHH', 'active'],
        ],
      );
      assert.deepEqual(
        (await assignments('monitor-101a')).map((a) => a.periodEnd),
        ['2025-03-15T11:00:00.000Z'],
      );
      assert.deepEqual(
        (await assignments('monitor-102b')).map((a) => [a.patientId, a.periodStart, a.periodEnd]),
        [[anna, '2025-03-15T11:00:00.000Z', null]],
      );
      assert.equal(await readingsOf(anna), 2);
    });

    it('A08 updates the demographics', async () => {
      assert.equal((await send(adt('a08-update.hl7'))).code, 'AA');
      const p = (await api<Patient>('GET', `/fhir/Patient/${anna}`)).body;
      assert.equal(p.name?.[0]?.family, 'Verhoeven-de Wit');
    });

    it('A03 finishes the Encounter and dissociates the bed’s monitor; A13 reopens it and associates it again', async () => {
      assert.equal((await send(adt('a03-discharge.hl7'))).code, 'AA');
      let [enc] = await encounterOf(anna);
      assert.equal(enc?.status, 'finished');
      assert.equal(enc?.period?.end, '2025-03-16T09:00:00.000Z');
      assert.deepEqual(
        (await assignments('monitor-102b')).map((a) => a.periodEnd),
        ['2025-03-16T09:00:00.000Z'],
      );
      assert.equal((await send(adt('a13-cancel-discharge.hl7'))).code, 'AA');
      [enc] = await encounterOf(anna);
      assert.equal(enc?.status, 'in-progress');
      assert.equal(enc?.period?.end, undefined);
      assert.deepEqual(
        (await assignments('monitor-102b')).map((a) => [a.periodStart, a.periodEnd]),
        [
          ['2025-03-15T11:00:00.000Z', '2025-03-16T09:00:00.000Z'],
          ['2025-03-16T09:30:00.000Z', null],
        ],
      );
    });

    it('A40 moves the merged patient’s readings, device assignments and visit to the surviving one; the merged Patient is replaced-by it, and both are audited', async () => {
      assert.equal((await send(adt('a01-admit-second.hl7'))).code, 'AA');
      const [dup] = await patientsWith('MRN100999');
      second = dup?.resource?.id as string;
      assert.ok(second && second !== anna);
      assert.equal((await send(pcd01('R-3', EUI_A, 'MRN100999', '20250316113000+0100', 94))).code, 'AA');
      assert.equal(await readingsOf(second), 1);

      const ack = await send(adt('a40-merge.hl7'));
      assert.equal(ack.type, 'ACK^A40^ACK');
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      assert.equal(await readingsOf(second), 0);
      assert.equal(await readingsOf(anna), 3);
      assert.deepEqual(
        (await assignments('monitor-101a')).map((a) => a.patientId),
        [anna, anna],
      );
      assert.equal((await encounterOf(second)).length, 0);
      assert.equal((await encounterOf(anna)).length, 2);
      const merged = (await api<Patient>('GET', `/fhir/Patient/${second}`)).body;
      assert.equal(merged.active, false);
      assert.deepEqual(merged.link, [{ other: { reference: `Patient/${anna}` }, type: 'replaced-by' }]);
      await validateFhir(merged);
      const survivor = (await api<Patient>('GET', `/fhir/Patient/${anna}`)).body;
      assert.deepEqual(survivor.link, [{ other: { reference: `Patient/${second}` }, type: 'replaces' }]);
      const audited = await t.vigil.db.query<{ patient_id: string }>(
        `select patient_id from audit_event where subtype_code = 'hl7v2-adt-a40' order by patient_id`,
      );
      assert.deepEqual(audited.map((a) => a.patient_id).sort(), [anna, second].sort());
      // A reading naming the merged identifier now agrees with the surviving patient.
      assert.equal((await send(pcd01('R-4', EUI_A, 'MRN100999', '20250316114000+0100', 95))).code, 'AA');
      assert.equal(await readingsOf(anna), 4);
      // The merge resent under another control id finds nothing left to merge.
      assert.equal((await send(adt('a40-merge.hl7').replace('|ADT0007|', '|ADT0007B|'))).code, 'AA');
    });

    it('A11 cancels the admission at the bed and dissociates its monitor', async () => {
      assert.equal((await send(adt('a11-cancel-admit.hl7'))).code, 'AA');
      const encs = await encounterOf(anna);
      assert.deepEqual(encs.map((e) => e.status).sort(), ['cancelled', 'in-progress']);
      const open = (await assignments('monitor-101a')).filter((a) => a.periodEnd === null);
      assert.deepEqual(open, []);
    });

    it('wrong-patient check on a PCD-04 alarm: held, no alert for the associated patient', async () => {
      const alarm = asWire(
        readFileSync(new URL('../corpora/hl7v2/acm/acm-spo2-low-mindray.hl7v2', import.meta.url), 'latin1'),
      )
        .replaceAll('00A037EB2175780F', EUI_B)
        .replace('HO2009001^^^Hospital^PI', 'MRN100777^^^GHH&2.16.840.1.113883.3.72.5.9.1&ISO^MR')
        .replaceAll('20120111150457-0600', '20250316140000+0100');
      const ack = await send(alarm);
      assert.equal(ack.type, 'ACK^R40^ACK');
      assert.equal(ack.code, 'AE');
      assert.equal(ack.err?.[5], 'VIGIL_ERR_HL7V2_WRONG_PATIENT^VIGIL_ERR_HL7V2_WRONG_PATIENT^L');
      assert.deepEqual(await deadLetters('VIGIL_ERR_HL7V2_WRONG_PATIENT'), ['monitor-101a', 'monitor-102b']);
      const alerts = await t.vigil.db.query<{ n: number }>(
        'select count(*)::int as n from alert where patient_id = $1',
        [anna],
      );
      assert.equal(alerts[0]?.n, 0);
      // The same alarm naming the associated patient is an alert of hers.
      const agreed = await send(
        alarm.replace('MRN100777', 'MRN100234').replace('|ORU^R40^ORU_R40|1|', '|ORU^R40^ORU_R40|2|'),
      );
      assert.equal(agreed.code, 'AA', agreed.err?.join('|'));
      const raised = await t.vigil.db.query<{ n: number }>(
        'select count(*)::int as n from alert where patient_id = $1',
        [anna],
      );
      assert.equal(raised[0]?.n, 1);
    });

    it('A04 registers an outpatient: class AMB, a birth year, no bed', async () => {
      assert.equal((await send(adt('a04-register.hl7'))).code, 'AA');
      const [p] = await patientsWith('MRN100555');
      assert.equal(p?.resource?.birthDate, '1949');
      assert.equal(p?.resource?.gender, 'male');
      const [enc] = await encounterOf(p?.resource?.id as string);
      assert.equal(enc?.class.code, 'AMB');
      assert.equal(enc?.location?.[0]?.location.display, 'OPD 3 GHH');
    });

    it('bad ADT messages are refused with coded errors and kept as dead letters, never silently dropped', async () => {
      const a01 = adt('a01-admit.hl7');
      const cases: Array<[string, string, string]> = [
        [
          a01.replace('|ADT1|', '|EVIL|').replace('|ADT0001|', '|X1|'),
          'AR',
          'VIGIL_ERR_HL7V2_ADT_SENDER_NOT_ALLOWED',
        ],
        [
          adt('a02-transfer.hl7')
            .replace('MRN100234', 'MRN404404')
            .replace(/900123456/, '1')
            .replace('|ADT0002|', '|X2|'),
          'AE',
          'VIGIL_ERR_HL7V2_ADT_UNKNOWN_PATIENT',
        ],
        [
          a01.replace(/PID\|1\|\|[^|]*\|/, 'PID|1|||').replace('|ADT0001|', '|X3|'),
          'AE',
          'VIGIL_ERR_HL7V2_ADT_NO_PATIENT_ID',
        ],
        [
          a01.replace('ADT^A01^ADT_A01', 'ADT^A05^ADT_A05').replace('|ADT0001|', '|X4|'),
          'AR',
          'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
        ],
        [
          adt('a40-merge.hl7')
            .replace(/MRG\|[^\r]*/, 'MRG|')
            .replace('|ADT0007|', '|X5|'),
          'AE',
          'VIGIL_ERR_HL7V2_ADT_NO_MERGE_ID',
        ],
        [
          a01.replace('|20250315082500+0100\r', '|2025031508\r').replace('|ADT0001|', '|X6|'),
          'AE',
          'VIGIL_ERR_HL7V2_INVALID_TIME',
        ],
      ];
      for (const [msg, code, reason] of cases) {
        const ack = await send(msg);
        assert.equal(ack.code, code, `${reason}: ${ack.err?.join('|')}`);
        assert.equal(ack.err?.[5], `${reason}^${reason}^L`);
        assert.ok((await deadLetters(reason)).length >= 1, reason);
      }
      assert.equal((await patientsWith('MRN404404')).length, 0);
    });
  });
}
