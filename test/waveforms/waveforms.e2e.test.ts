import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../../src/core/clock.ts';
import { parseSampleData } from '../../src/core/waveform.ts';
import type { Vigil } from '../../src/server.ts';
import { call, signIn, startTestVigil } from '../pipeline/support.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { readRecordCounts, type WfdbCounts } from '../support/wfdb.ts';

/**
 * Waveforms from the wire to a FHIR read and an alert decision: the last 20 s before the labelled
 * false VT alarm of PhysioNet/CinC 2015 record v102s, sent as gateway strips over HTTP
 * (`POST /ingest/v1/waveforms`) by two bedside monitors, one sending lead II and the pleth, the
 * other lead II alone. Both patients are enrolled in inpatient-continuous with the high heart-rate
 * rule held 4 s (the program's 10 s would absorb this short excerpt on its own). The strips are
 * served back sample-exact by the FHIR API; the detection stage derives heart rate from the stored
 * ECG and pulse rate from the stored pleth; only the monitor without a pleth raises the alarm.
 */
const wfdb = (f: string) => fileURLToPath(new URL(`../corpora/physio/wfdb/${f}`, import.meta.url));
const MDC = 'urn:iso:std:iso:11073:10101';

describe('waveform strips end to end (HTTP ingest → store → FHIR → detection)', () => {
  const clock = new FakeClock(Date.now());
  const rec = readRecordCounts(wfdb('v102s.hea'));
  const signal = (name: string) => rec.signals.find((s) => s.name === name) as WfdbCounts;
  let vigil: Vigil;
  let url: string;
  let token: string;
  const patients: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const sentIds: string[] = [];
  let t0: number;

  before(async () => {
    vigil = await startTestVigil({ clock });
    url = vigil.httpUrl;
    token = await signIn(url);
    t0 = clock.now() - 30 * 60_000; // record second 0
  });
  after(async () => {
    await vigil?.stop();
  });

  const strip = (sig: string, code: string, unit: string, fromS: number) => {
    const s = signal(sig);
    const from = fromS * rec.fs;
    return {
      messageId: `v102s-${sig}-${fromS}`,
      time: new Date(t0 + fromS * 1000).toISOString(),
      channels: [
        {
          code: { system: MDC, code },
          unit,
          periodMs: 1000 / rec.fs,
          origin: -s.baseline / s.gain,
          factor: 1 / s.gain,
          data: Array.from(s.counts.subarray(from, from + 10 * rec.fs)),
        },
      ],
    };
  };

  it('enrols two patients and assigns a bedside monitor to each', async () => {
    for (const who of ['with-pleth', 'ecg-only']) {
      const p = await call<{ id: string }>(
        url,
        token,
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient' },
        'application/fhir+json',
      );
      assert.equal(p.status, 201);
      patients[who] = p.body.id;
      const put = await call(url, token, 'PUT', `/api/v1/patients/${p.body.id}/monitoring`, {
        monitoring: { programs: ['inpatient-continuous'], rules: { 'hr-high': { persistSeconds: 4 } } },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const dev = await call<{ secret: string }>(url, token, 'POST', '/api/v1/devices', {
        id: `monitor-${who}`,
        kind: 'bedside-monitor',
      });
      assert.equal(dev.status, 201, JSON.stringify(dev.body));
      secrets[who] = dev.body.secret;
      const asg = await call(url, token, 'POST', `/api/v1/devices/monitor-${who}/assignments`, {
        patientId: p.body.id,
        start: new Date(t0 - 3600_000).toISOString(),
      });
      assert.equal(asg.status, 201, JSON.stringify(asg.body));
    }
  });

  it('accepts the strips over HTTP, answering after they are stored', async () => {
    for (const who of ['with-pleth', 'ecg-only']) {
      for (const fromS of [280, 290]) {
        const body = [strip('II', '131330', 'mV', fromS)];
        if (who === 'with-pleth') body.push(strip('PLETH', '150452', '1', fromS));
        const res = await fetch(`${url}/ingest/v1/waveforms`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets[who]}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const out = (await res.json()) as { accepted: number; results: { ids: string[] }[] };
        assert.equal(res.status, 200, JSON.stringify(out));
        assert.equal(out.accepted, body.length);
        if (who === 'with-pleth') sentIds.push(...out.results.flatMap((r) => r.ids));
        await vigil.pipeline.idle();
      }
    }
  });

  it('serves each strip as a valid Observation with the samples exactly as sent', async () => {
    const ii = signal('II');
    const obs = await call(url, token, 'GET', `/fhir/Observation/${sentIds[0]}`);
    assert.equal(obs.status, 200);
    assert.deepEqual(validateFhir(obs.body), []);
    const sd = obs.body.valueSampledData;
    assert.equal(obs.body.code.coding[0].code, '131330');
    assert.equal(obs.body.subject.reference, `Patient/${patients['with-pleth']}`);
    assert.equal(sd.period, 4);
    assert.equal(sd.origin.code, 'mV');
    const parsed = parseSampleData(sd.data);
    assert.ok('counts' in parsed);
    assert.deepEqual(Int32Array.from(parsed.counts), ii.counts.subarray(280 * rec.fs, 290 * rec.fs));

    // The management API describes the strip without its samples.
    const mgmt = await call(url, token, 'GET', `/api/v1/readings/${sentIds[0]}`);
    assert.equal(mgmt.status, 200);
    assert.deepEqual(mgmt.body.waveform, [{ code: '131330', unit: 'mV', periodMs: 4, samples: 2500 }]);

    const search = await call(
      url,
      token,
      'GET',
      `/fhir/Observation?patient=${patients['with-pleth']}&code=${encodeURIComponent(`${MDC}|150452`)}`,
    );
    assert.equal(search.status, 200);
    const entries = search.body.entry as { resource: { valueSampledData: { data: string } } }[];
    assert.equal(entries.length, 2);
    for (const e of entries) assert.deepEqual(validateFhir(e.resource as never), []);
  });

  it('derives heart rate from the stored ECG and pulse rate from the stored pleth', async () => {
    const rows = await vigil.db.query<{ profile: string; n: number }>(
      `select data->>'profile' as profile, count(*)::int as n from observation
       where patient_id = $1 and code = '8867-4' group by 1 order by 1`,
      [patients['with-pleth']],
    );
    assert.deepEqual(
      rows.map((r) => r.profile),
      ['waveform-pulse', 'waveform-qrs'],
    );
    assert.ok(
      rows.every((r) => r.n >= 10),
      JSON.stringify(rows),
    );
    const only = await vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where patient_id = $1 and code = '8867-4' and data->>'profile' = 'waveform-pulse'`,
      [patients['ecg-only']],
    );
    assert.equal(only[0]?.n, 0);
  });

  it('the ECG-only monitor raises the high heart-rate alarm; with the pleth confirming, none', async () => {
    const alerts = async (who: string) =>
      (await call(url, token, 'GET', `/api/v1/alerts?patient=${encodeURIComponent(patients[who] as string)}`))
        .body.alerts as { conditionKey: string; severity: string; evidence: string[] }[];
    const raised = (await alerts('ecg-only')).filter((a) => a.conditionKey === 'threshold:8867-4:high');
    assert.equal(raised.length, 1);
    assert.equal(raised[0]?.severity, 'high');
    // its evidence is the derived rates, stored Observations like any other
    const evidence = await call(url, token, 'GET', `/fhir/Observation/${raised[0]?.evidence[0]}`);
    assert.equal(evidence.status, 200);
    assert.equal(evidence.body.code.coding.find((c: { system: string }) => c.system === MDC)?.code, '147842');
    assert.deepEqual(
      (await alerts('with-pleth')).filter((a) => a.conditionKey.startsWith('threshold:8867-4')),
      [],
    );
  });
});
