import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import type { Reading } from '../core/reading.ts';
import { Loinc, Mdc } from './codes.ts';
import { engineWith, reading } from './test-fixtures.ts';

/** Signal quality before thresholds: boundaries in event time (fake clock = reading times). */
const MDC = 'urn:iso:std:iso:11073:10101';
const ecg = (v: number, s: number, flags: string[] = []) =>
  reading(Loinc.heartRate, v, s, { flags, codings: [{ system: MDC, code: Mdc.ecgHeartRate }] });
const pleth = (v: number, s: number, flags: string[] = []) =>
  reading(Loinc.heartRate, v, s, { flags, codings: [{ system: MDC, code: Mdc.oximeterPulseRate }] });
const spo2 = (v: number, s: number, flags: string[] = []) => reading(Loinc.spo2, v, s, { unit: '%', flags });

function feed(e: ReturnType<typeof engineWith>, rs: Reading[]): Detection[] {
  return rs.flatMap((r) => e.onReading(r).detections);
}
const opened = (ds: Detection[], key: string) =>
  ds.filter((d) => d.conditionKey === key && d.state === 'firing');

const hrHigh = {
  id: 'hr-high',
  kind: 'threshold',
  code: '8867-4',
  direction: 'above',
  levels: [{ value: 130, severity: 'medium' }],
  clearAt: 120,
  persistSeconds: 10,
  confirmAcrossSources: true,
  confirmWindowSeconds: 10,
  ignoreFlags: ['motion-artifact', 'poor-signal'],
};

describe('a flagged source still counts against the other', () => {
  it('ECG muscle noise at 160 beside a motion-flagged normal pleth pulse does not alarm', () => {
    const e = engineWith([hrHigh]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 120; s++) rs.push(pleth(78, s, ['motion-artifact']), ecg(160, s));
    assert.deepEqual(feed(e, rs), []);
  });

  it('the same ECG alone (no pleth at all) alarms after 10 s, as before', () => {
    const e = engineWith([hrHigh]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 20; s++) rs.push(ecg(160, s));
    const ds = opened(feed(e, rs), 'threshold:8867-4:high');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]?.at, '2026-03-01T08:00:10.000Z');
  });

  it('a flagged pleth older than the confirmation window (10 s) no longer argues', () => {
    const e = engineWith([hrHigh]);
    const rs: Reading[] = [pleth(78, 0, ['motion-artifact'])];
    for (let s = 11; s <= 30; s++) rs.push(ecg(160, s));
    assert.equal(opened(feed(e, rs), 'threshold:8867-4:high')[0]?.at, '2026-03-01T08:00:21.000Z');
  });
});

describe('SpO2 plausibility of the change', () => {
  const hyp = { id: 'hypoxaemia', kind: 'hypoxaemia', persistSeconds: 15 };

  it('a true desaturation (gradual) alarms 15 s after it first reads < 92, as before', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 120; s++) rs.push(spo2(Math.max(80, 98 - Math.floor(s / 5)), s));
    const first = rs.find((r) => (r.value as number) < 92) as Reading;
    const ds = opened(feed(e, rs), 'hypoxaemia');
    assert.equal(Date.parse(ds[0]?.at as string) - Date.parse(first.effective), 15_000);
  });

  it('a 10-point fall within 10 s with a disagreeing pulse is held back for artefactMaxSeconds (60 s)', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(spo2(97, s), ecg(80, s), pleth(80, s));
    for (let s = 10; s <= 100; s++) rs.push(spo2(85, s), ecg(80, s), pleth(130, s));
    const ds = opened(feed(e, rs), 'hypoxaemia');
    // Held back 10–69 s; counts from 70 s; 15 s persistence → 85 s. Delayed, not silenced.
    assert.equal(ds[0]?.at, '2026-03-01T08:01:25.000Z');
  });

  it('a 9-point fall is not judged implausible (boundary)', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(spo2(97, s));
    for (let s = 10; s <= 40; s++) rs.push(spo2(88, s));
    assert.equal(opened(feed(e, rs), 'hypoxaemia')[0]?.at, '2026-03-01T08:00:25.000Z');
  });

  it('a fast fall while the oximeter pulse agrees with the ECG counts at once (same delay)', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(ecg(95, s), pleth(95, s), spo2(97, s));
    for (let s = 10; s <= 40; s++) rs.push(ecg(110, s), pleth(108, s), spo2(84, s));
    assert.equal(opened(feed(e, rs), 'hypoxaemia')[0]?.at, '2026-03-01T08:00:25.000Z');
  });

  it('a probe-off drop that recovers within the minute raises nothing', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(spo2(97, s));
    for (let s = 10; s < 50; s++) rs.push(spo2(70, s));
    for (let s = 50; s < 120; s++) rs.push(spo2(97, s));
    assert.deepEqual(feed(e, rs), []);
  });
});

describe('corroboration: impedance respiration alone (talking)', () => {
  const rr = {
    id: 'rr-high',
    kind: 'threshold',
    code: '9279-1',
    direction: 'above',
    levels: [{ value: 24, severity: 'medium' }],
    clearAt: 22,
    persistSeconds: 30,
    corroboratedBy: [
      { code: '8867-4', direction: 'above', value: 90 },
      { code: '2708-6', direction: 'below', value: 96 },
    ],
    corroborationWindowSeconds: 300,
    uncorroboratedPersistSeconds: 600,
  };
  const rrAt = (v: number, s: number) => reading(Loinc.respRate, v, s);

  it('RR 28 for 2 min with HR 75 and SpO2 98 (talking) does not alarm', () => {
    const e = engineWith([rr]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 120; s++) rs.push(ecg(75, s), spo2(98, s), rrAt(28, s));
    assert.deepEqual(feed(e, rs), []);
  });

  it('alone it alarms once it has held 600 s (not at 599 s)', () => {
    const e = engineWith([rr]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 600; s += 1) rs.push(ecg(75, s), rrAt(28, s));
    const ds = opened(feed(e, rs), 'threshold:9279-1:high');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]?.at, '2026-03-01T08:10:00.000Z');
  });

  it('with a heart rate over 90 it alarms after the rule’s 30 s', () => {
    const e = engineWith([rr]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 60; s++) rs.push(ecg(105, s), rrAt(28, s));
    assert.equal(opened(feed(e, rs), 'threshold:9279-1:high')[0]?.at, '2026-03-01T08:00:30.000Z');
  });
});

describe('technical alarms (signal-quality)', () => {
  const sq = { id: 'signal-quality', kind: 'signal-quality' };

  it('probe off for 30 s raises a low technical alert; the next good reading clears it', () => {
    const e = engineWith([sq]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 29; s++) rs.push(spo2(0, s, ['sensor-contact-lost']));
    assert.deepEqual(opened(feed(e, rs), 'technical:dev-1:probe-off'), [], '29 s is not yet 30 s');
    const d = opened(feed(e, [spo2(0, 30, ['sensor-contact-lost'])]), 'technical:dev-1:probe-off');
    assert.equal(d.length, 1);
    assert.equal(d[0]?.severity, 'low');
    assert.equal(d[0]?.data?.class, 'technical');
    const c = feed(e, [spo2(97, 31)]).filter((x) => x.conditionKey === 'technical:dev-1:probe-off');
    assert.deepEqual(
      c.map((x) => x.state),
      ['cleared'],
    );
  });

  it('signal poor: ≥ 50 % flagged over 10 min alarms; 40 % does not', () => {
    const run = (every: number) => {
      const e = engineWith([sq]);
      const rs: Reading[] = [];
      for (let s = 0; s <= 660; s++) rs.push(spo2(97, s, s % 10 < every ? ['motion-artifact'] : []));
      return opened(feed(e, rs), `technical:dev-1:${Loinc.spo2}:signal-poor`);
    };
    assert.equal(run(5).length, 1);
    assert.equal(run(5)[0]?.severity, 'low');
    assert.deepEqual(run(4), []);
  });
});

describe('issue 12 tuning: probe-off flags, pulse disagreement, a respiration rate counted over a minute', () => {
  const hyp = { id: 'hypoxaemia', kind: 'hypoxaemia', persistSeconds: 15 };

  it('SpO2 flagged sensor-contact-lost (probe off) is not alarmed on by default; without the flag in ignoreFlags it is', () => {
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(spo2(97, s));
    for (let s = 10; s <= 200; s++) rs.push(spo2(75, s, ['sensor-contact-lost']));
    assert.deepEqual(opened(feed(engineWith([hyp]), rs), 'hypoxaemia'), []);
    const open = engineWith([{ ...hyp, ignoreFlags: ['motion-artifact'] }]);
    assert.equal(opened(feed(open, rs), 'hypoxaemia').length, 1);
  });

  it('a small unflagged fall (6 points) below the floor while the pleth pulse disagrees with the ECG is held for 60 s', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(ecg(80, s), pleth(80, s), spo2(97, s));
    for (let s = 10; s <= 100; s++) rs.push(ecg(80, s), pleth(40, s), spo2(89, s));
    // Held 10–69 s; counted from 70 s; 15 s persistence → 85 s: delayed, never silenced.
    assert.equal(opened(feed(e, rs), 'hypoxaemia')[0]?.at, '2026-03-01T08:01:25.000Z');
  });

  it('a disagreement of exactly pulseAgreementPerMin (15) is agreement: counted at once (boundary)', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(ecg(80, s), pleth(80, s), spo2(97, s));
    for (let s = 10; s <= 40; s++) rs.push(ecg(80, s), pleth(65, s), spo2(89, s));
    assert.equal(opened(feed(e, rs), 'hypoxaemia')[0]?.at, '2026-03-01T08:00:25.000Z');
  });

  it('disagreementOpensWindow: false restores the fall-only check', () => {
    const e = engineWith([{ ...hyp, disagreementOpensWindow: false }]);
    const rs: Reading[] = [];
    for (let s = 0; s < 10; s++) rs.push(ecg(80, s), pleth(80, s), spo2(97, s));
    for (let s = 10; s <= 40; s++) rs.push(ecg(80, s), pleth(40, s), spo2(89, s));
    assert.equal(opened(feed(e, rs), 'hypoxaemia')[0]?.at, '2026-03-01T08:00:25.000Z');
  });

  it('a gradual true desaturation with agreeing pulses alarms at the same delay (15 s after < 92)', () => {
    const e = engineWith([hyp]);
    const rs: Reading[] = [];
    for (let s = 0; s <= 120; s++)
      rs.push(
        ecg(90 + Math.floor(s / 10), s),
        pleth(90 + Math.floor(s / 10), s),
        spo2(Math.max(80, 98 - Math.floor(s / 5)), s),
      );
    const first = rs.find((r) => r.code === Loinc.spo2 && (r.value as number) < 92) as Reading;
    const ds = opened(feed(e, rs), 'hypoxaemia');
    assert.equal(Date.parse(ds[0]?.at as string) - Date.parse(first.effective), 15_000);
  });

  it('inpatient-continuous: a corroborated RR over 24 alarms after 60 s, not after 45 s of talking', async () => {
    const { builtInPrograms } = await import('./programs/index.ts');
    const rule = builtInPrograms
      .find((p) => p.name === 'inpatient-continuous')
      ?.rules.find((r) => r.id === 'rr-high');
    assert.ok(rule);
    const talk = engineWith([rule]);
    const rs: Reading[] = [];
    for (let s = 0; s < 45; s++) rs.push(ecg(105, s), reading(Loinc.respRate, 30, s));
    for (let s = 45; s <= 400; s++) rs.push(ecg(105, s), reading(Loinc.respRate, 16, s));
    assert.deepEqual(opened(feed(talk, rs), 'threshold:9279-1:high'), []);
    const tachy = engineWith([rule]);
    const rs2: Reading[] = [];
    for (let s = 0; s <= 70; s++) rs2.push(ecg(105, s), reading(Loinc.respRate, 30, s));
    assert.equal(opened(feed(tachy, rs2), 'threshold:9279-1:high')[0]?.at, '2026-03-01T08:01:00.000Z');
  });
});
