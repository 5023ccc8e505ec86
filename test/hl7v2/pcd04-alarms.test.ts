import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { testDatabaseUrl } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { asWire, MllpClient, parseAck } from './support.ts';

/**
 * IHE PCD-04 (ACM) alarms from the wire to an alert and a FHIR read: the two ACM example messages
 * (test/corpora/hl7v2/acm) and variants of them, over a real MLLP socket, against PGlite and
 * PostgreSQL.
 */
const acm = (name: string) =>
  asWire(readFileSync(new URL(`../corpora/hl7v2/acm/${name}`, import.meta.url), 'latin1'));
const MINDRAY = acm('acm-spo2-low-mindray.hl7v2');
const BBRAUN = acm('acm-occlusion-bbraun.hl7v2');

/** The example with another control id and phase/state (its continue / end reports). */
const phase = (msg: string, controlId: string, p: string, state = 'active') =>
  msg
    .replace('|ORU^R40^ORU_R40|1|', `|ORU^R40^ORU_R40|${controlId}|`)
    .replace('|start|', `|${p}|`)
    .replace('|active|', `|${state}|`);

/** The Mindray example turned into a high heart-rate alarm (H, PH) from a second monitor, at `time`. */
const hrHigh = (controlId: string, p: string, time: string, state = 'active') =>
  phase(MINDRAY, controlId, p, state)
    .replace('00A037EB2175780F^EUI64|MINDRAY', '00A037EB21750001^EUI64|MINDRAY')
    .replace(
      '196670^MDC_EVT_LO^MDC|1.3.1.150456.1|Low SpO2|||L~PM~SP',
      '196648^MDC_EVT_HI^MDC|1.2.1.147842.1|HR high|||H~PH~SP',
    )
    .replace(
      '150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456.2|88|262688^MDC_DIM_PERCENT^MDC|90-96',
      '147842^MDC_ECG_HEART_RATE^MDC|1.2.1.147842.2|162|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120',
    )
    .replace(/1\.3\.1\.150456\./g, '1.2.1.147842.')
    .replaceAll('20120111150457-0600', time);

interface AlertView {
  id: string;
  conditionKey: string;
  rule: string;
  severity: string;
  state: string;
  summary: string;
  evidence: string[];
  deviceId: string | null;
  data: Record<string, unknown> & { deviceAlarm?: Record<string, unknown> };
}

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`IHE PCD-04 device alarms over MLLP [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    let c: MllpClient;
    let token: string;
    const patients: Record<string, string> = {};
    let oxiSecret = '';

    const api = async <T>(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
      const r = await t.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
      return { status: r.statusCode, body: r.json() as T };
    };
    const alertsOf = async (patient: string) =>
      (
        await api<{ alerts: AlertView[] }>(
          'GET',
          `/api/v1/alerts?patient=${patient}&state=open,acknowledged,escalated,snoozed,resolved`,
        )
      ).body.alerts;
    const deadLetters = async (reason: string) =>
      (
        await t.vigil.db.query<{ n: number }>(
          `select count(*)::int as n from dead_letter where transport = 'hl7v2' and reason_code = $1`,
          [reason],
        )
      )[0]?.n;

    before(async () => {
      t = await startInProcess({
        postgres: backend === 'postgres',
        env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' },
      });
      token = await t.token();
      for (const [name, monitoring] of [
        // no rule watches SpO2 or heart rate: the device alarm is the only source
        ['ward', { programs: ['hypertension'] }],
        // heart rate watched by Vigil at once, so both sources see the same condition
        [
          'icu',
          {
            programs: ['inpatient-continuous'],
            rules: { 'hr-high': { persistSeconds: 0, confirmAcrossSources: false } },
          },
        ],
      ] as const) {
        const p = await api<{ id: string }>('POST', '/fhir/Patient', {
          resourceType: 'Patient',
          name: [{ family: name }],
        });
        assert.equal(p.status, 201, JSON.stringify(p.body));
        patients[name] = p.body.id;
        const m = await api('PUT', `/api/v1/patients/${p.body.id}/monitoring`, {
          monitoring,
          reason: 'test',
        });
        assert.equal(m.status, 200, JSON.stringify(m.body));
      }
      for (const [id, kind, identifier, patient] of [
        ['monitor-ward', 'bedside-monitor', '00A037EB2175780F', 'ward'],
        ['pump-ward', 'other', '0012210000000000', 'ward'],
        ['monitor-icu', 'bedside-monitor', '00A037EB21750001', 'icu'],
        ['oxi-icu', 'pulse-oximeter', undefined, 'icu'],
        ['monitor-spare', 'bedside-monitor', '00A037EB21759999', undefined],
      ] as const) {
        const r = await api<{ secret: string }>('POST', '/api/v1/devices', {
          id,
          kind,
          ...(identifier ? { identifier } : {}),
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        if (id === 'oxi-icu') oxiSecret = r.body.secret;
        if (patient) {
          const a = await api('POST', `/api/v1/devices/${id}/assignments`, {
            patientId: patients[patient],
            start: '2012-01-01T00:00:00Z',
          });
          assert.equal(a.status, 201, JSON.stringify(a.body));
        }
      }
      c = await MllpClient.open(t.vigil.mllpPort as number);
    });
    after(async () => {
      c?.close();
      await t?.stop();
    });

    it('the ACM low-SpO2 example raises a device-alarm alert with the device’s priority, phase, event and value; ACK^R40^ACK AA', async () => {
      const ack = parseAck(await c.send(MINDRAY));
      assert.equal(ack.type, 'ACK^R40^ACK');
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      assert.equal(ack.controlId, '1');
      const [a, ...rest] = await alertsOf(patients.ward as string);
      assert.equal(rest.length, 0);
      assert.ok(a);
      assert.equal(a.rule, 'device-alarm');
      assert.equal(a.conditionKey, 'hypoxaemia', 'the key Vigil’s own SpO2-low rule uses');
      assert.equal(a.severity, 'medium', 'PM');
      assert.equal(a.state, 'open');
      assert.equal(a.deviceId, 'monitor-ward');
      assert.equal(
        a.summary,
        'Device alarm (physiological, medium priority): Low SpO2: MDC_PULS_OXIM_SAT_O2 88 % (device limits 90-96)',
      );
      assert.equal(a.data.deviceAlarm?.priority, 'PM');
      assert.equal(a.data.deviceAlarm?.phase, 'start');
      assert.equal(a.data.deviceAlarm?.eventRefId, 'MDC_EVT_LO');
      assert.deepEqual(a.data.sources, ['device-alarm']);
      // The triggering value is the evidence, readable as a FHIR Observation that validates.
      assert.equal(a.evidence.length, 1);
      const obs = await api<Observation>('GET', `/fhir/Observation/${a.evidence[0]}`);
      assert.equal(obs.status, 200);
      assert.equal(obs.body.valueQuantity?.value, 88);
      assert.equal(obs.body.valueQuantity?.code, '%');
      assert.equal(obs.body.effectiveDateTime, '2012-01-11T21:04:57.000Z');
      assert.deepEqual(validateFhir(obs.body), []);
      // Routed like every alert: the severity's escalation policy queued a "raised" notification.
      const one = await api<{ notifications: Array<{ reason: string }> }>('GET', `/api/v1/alerts/${a.id}`);
      assert.ok(
        one.body.notifications.some((n) => n.reason === 'raised'),
        JSON.stringify(one.body.notifications),
      );
    });

    it('continue updates the same alert without a new notification; a resend changes nothing; end resolves it', async () => {
      const [before] = await alertsOf(patients.ward as string);
      assert.ok(before);
      const notified = async () =>
        (await api<{ notifications: unknown[] }>('GET', `/api/v1/alerts/${before.id}`)).body.notifications
          .length;
      const n0 = await notified();
      assert.equal(parseAck(await c.send(phase(MINDRAY, 'c-2', 'continue'))).code, 'AA');
      assert.equal(parseAck(await c.send(phase(MINDRAY, 'c-2', 'continue'))).code, 'AA', 'a resend');
      let list = await alertsOf(patients.ward as string);
      assert.equal(list.length, 1);
      assert.equal(list[0]?.data.deviceAlarm?.phase, 'continue');
      assert.equal(await notified(), n0);
      const readings = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'monitor-ward'`,
      );
      assert.equal(readings[0]?.n, 2, 'start and continue values; the resend stored nothing');
      assert.equal(parseAck(await c.send(phase(MINDRAY, 'c-3', 'end', 'inactive'))).code, 'AA');
      list = await alertsOf(patients.ward as string);
      assert.equal(list.length, 1);
      assert.equal(list[0]?.state, 'resolved');
      assert.equal(list[0]?.data.deviceAlarm?.phase, 'end');
    });

    it('de-duplicates against Vigil’s own detection: one alert, both sources and both readings; the device’s end leaves it to Vigil', async () => {
      const icu = patients.icu as string;
      // Vigil's rule sees heart rate 160 from another device first.
      const res = await t.inject({
        method: 'POST',
        url: '/ingest/v1/readings',
        headers: { authorization: `Bearer ${oxiSecret}`, 'content-type': 'application/json' },
        payload: JSON.stringify([
          { messageId: 'hr-1', time: '2012-01-11T21:04:50Z', type: 'heart-rate', value: 160, unit: '/min' },
        ]),
      });
      assert.equal(res.statusCode < 300, true, res.body);
      await t.vigil.pipeline.idle();
      const [vigilAlert] = await alertsOf(icu);
      assert.ok(vigilAlert, 'Vigil raised its own alert');
      assert.equal(vigilAlert.conditionKey, 'threshold:8867-4:high');
      assert.equal(vigilAlert.severity, 'high');

      // The bedside monitor's own alarm for the same condition.
      const ack = parseAck(await c.send(hrHigh('hr-a1', 'start', '20120111150455-0600')));
      assert.equal(ack.code, 'AA', ack.err?.join('|'));
      await t.vigil.pipeline.idle();
      let list = await alertsOf(icu);
      assert.equal(list.length, 1, JSON.stringify(list.map((a) => a.conditionKey)));
      const merged = list[0] as AlertView;
      assert.equal(merged.id, vigilAlert.id);
      assert.deepEqual(merged.data.sources, ['vigil', 'device-alarm']);
      assert.equal(merged.data.deviceAlarm?.priority, 'PH');
      assert.equal(merged.evidence.length, 2, 'Vigil’s reading and the device’s');
      assert.ok(merged.evidence.includes(vigilAlert.evidence[0] as string));

      // The monitor ends its alarm; Vigil has not cleared: the alert stays open.
      assert.equal(
        parseAck(await c.send(hrHigh('hr-a2', 'end', '20120111150458-0600', 'inactive'))).code,
        'AA',
      );
      await t.vigil.pipeline.idle();
      list = await alertsOf(icu);
      assert.equal(list.length, 1);
      assert.notEqual(list[0]?.state, 'resolved');
      assert.deepEqual(list[0]?.data.activeSources, ['vigil']);
    });

    it('refuses what cannot become an alert with a coded AE, keeping a dead letter: the occlusion example has no priority', async () => {
      const ack = parseAck(await c.send(BBRAUN));
      assert.equal(ack.type, 'ACK^R40^ACK');
      assert.equal(ack.code, 'AE');
      assert.equal(ack.controlId, '6346172845752460251');
      assert.match(ack.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_ALARM_PRIORITY\^/);
      assert.equal(ack.err?.[2], 'OBX^1^8');
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_ALARM_PRIORITY'), 1);
      // With a priority it is a technical alarm, keyed per device and event (no Vigil rule shares it).
      const ok = parseAck(await c.send(BBRAUN.replace('|||ST|||F|', '|||ST~PH|||F|')));
      assert.equal(ok.code, 'AA', ok.err?.join('|'));
      const pump = (await alertsOf(patients.ward as string)).find((a) => a.deviceId === 'pump-ward');
      assert.ok(pump);
      assert.equal(pump.conditionKey, 'device-alarm:pump-ward:196940:69985');
      assert.equal(pump.severity, 'high');
      assert.equal(pump.summary, 'Device alarm (technical, high priority): Occlusion');
      assert.deepEqual(pump.evidence, []);
    });

    it('bad phase → AE; a device assigned to nobody → AE; an unknown device → AR; each kept as a dead letter', async () => {
      const bad = parseAck(await c.send(phase(MINDRAY, 'bad-1', 'begin')));
      assert.equal(bad.code, 'AE');
      assert.match(bad.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_ALARM_PHASE\^/);
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_ALARM_PHASE'), 1);

      const spare = parseAck(
        await c.send(MINDRAY.replace('00A037EB2175780F^EUI64|MINDRAY', '00A037EB21759999^EUI64|MINDRAY')),
      );
      assert.equal(spare.code, 'AE');
      assert.match(spare.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_ALARM_NO_PATIENT\^/);
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_ALARM_NO_PATIENT'), 1);
      const stored = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'monitor-spare'`,
      );
      assert.equal(stored[0]?.n, 0, 'nothing stored for a refused alarm');

      const unknown = parseAck(
        await c.send(MINDRAY.replace('00A037EB2175780F^EUI64|MINDRAY', '00A037EB2175AAAA^EUI64|MINDRAY')),
      );
      assert.equal(unknown.code, 'AR');
      assert.match(unknown.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_UNKNOWN_DEVICE\^/);
    });
  });
}
