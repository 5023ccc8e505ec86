import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import { Loinc, Mdc } from './codes.ts';
import { builtInPrograms } from './programs/index.ts';
import type { ReadingView, RuleBase, RuleContext } from './rule-kind.ts';
import { ruleKinds } from './rule-kinds.ts';
import { bp, reading, status, T0 } from './test-fixtures.ts';

/**
 * Every rule of every built-in program, driven through every branch of its message templates: a
 * sweep of values across and around its limits, once as a new condition and once as an open one
 * (hysteresis branches), on each SpO2 scale. Every comparison a text states — "A < B", "A > B",
 * "A ≥ B", "A ≤ B", "A below B", "A above B", with a unit between A and the sign — must be true of
 * the numbers it names ("SpO2 92 % below 92 %" is the defect this guards against).
 */
const NUM = String.raw`[+-]?\d+(?:\.\d+)?`;
const UNIT = String.raw`(?:\s*(?:%|mg\/dL|\/min|kg|mmHg|°C|s|min|h))?`;
const CLAIM = new RegExp(String.raw`(${NUM})${UNIT}\s+(<|>|≥|≤|below|above)\s+(${NUM})`, 'g');

export function falseClaims(text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(CLAIM)) {
    const a = Number(m[1]);
    const b = Number(m[3]);
    const op = m[2];
    const ok =
      op === '<' || op === 'below'
        ? a < b
        : op === '>' || op === 'above'
          ? a > b
          : op === '≥'
            ? a >= b
            : a <= b;
    if (!ok) bad.push(m[0]);
  }
  return bad;
}

function hr(v: number, sec: number, src: 'ecg' | 'pleth'): Reading {
  const code = src === 'ecg' ? Mdc.ecgHeartRate : Mdc.oximeterPulseRate;
  return reading(Loinc.heartRate, v, sec, { codings: [{ system: 'urn:iso:std:iso:11073:10101', code }] });
}

const range = (a: number, b: number, step: number) => {
  const out: number[] = [];
  for (let v = a; v <= b; v += step) out.push(Math.round(v * 10) / 10);
  return out;
};

/** Streams of readings that reach every branch (in event order, one second apart). */
function streams(): Reading[][] {
  let t = 0;
  const next = () => (t += 1);
  const out: Reading[][] = [];
  out.push(range(80, 100, 1).map((v) => reading(Loinc.spo2, v, next(), { unit: '%' })));
  out.push(
    range(70, 100, 1).map((v) => reading(Loinc.spo2, v, next(), { unit: '%', flags: ['motion-artifact'] })),
  );
  const hrs = [...range(10, 200, 5), 40, 41, 44, 45, 119, 120, 121, 130, 131, 150, 151];
  out.push(hrs.flatMap((v) => [hr(v, next(), 'ecg'), hr(80, t, 'pleth')]));
  out.push(hrs.flatMap((v) => [hr(v, next(), 'ecg'), hr(v, t, 'pleth')]));
  out.push(hrs.map((v) => hr(v, next(), 'ecg')));
  out.push(range(4, 40, 1).map((v) => reading(Loinc.respRate, v, next())));
  out.push(range(34, 41, 0.1).map((v) => reading(Loinc.bodyTemp, v, next())));
  const bps: Reading[] = [];
  for (const s of range(80, 230, 10)) for (const d of range(50, 130, 10)) bps.push(bp(s, d, next()));
  out.push(bps);
  out.push(range(70, 80, 0.2).map((v, i) => reading(Loinc.bodyWeight, v, i * 6 * 3600)));
  const glucose = (from: number, to: number, stepPerMin: number) => {
    const l: Reading[] = [];
    const n = Math.round(Math.abs(to - from) / Math.abs(stepPerMin) / 5);
    for (let i = 0; i <= n; i++)
      l.push(reading(Loinc.cgmMass, from + (to - from) * (i / n), 300 * i + 10 * DAY_S));
    return l;
  };
  out.push(glucose(180, 40, 2.5), glucose(40, 300, 3.5), glucose(300, 60, 4));
  // A full set of vitals every 5 min for a day, normal then deteriorating (NEWS2, trends), and
  // twice-daily BP rising over three weeks (the home BP trend).
  const vitals: Reading[] = [];
  for (let i = 0; i < 288; i++) {
    const f = Math.max(0, (i - 144) / 144);
    const sec = 20 * DAY_S + i * 300;
    vitals.push(
      hr(70 + 70 * f, sec, 'ecg'),
      reading(Loinc.respRate, 14 + 16 * f, sec),
      reading(Loinc.spo2, Math.round(97 - 12 * f), sec, { unit: '%' }),
      bp(130 - 45 * f, 80, sec),
      reading(Loinc.bodyTemp, 37 + 2.5 * f, sec),
    );
  }
  out.push(vitals);
  out.push(
    range(0, 41, 1).map((i) => reading(Loinc.spo2, i > 28 ? 95 - (i - 28) : 95, 40 * DAY_S + i * 12 * 3600)),
  );
  out.push(range(0, 41, 1).map((i) => bp(125 + (i > 28 ? (i - 28) * 4 : 0), 80, 30 * DAY_S + i * 12 * 3600)));
  return out;
}
const DAY_S = 86_400;

function walk(rule: RuleBase, scale: 1 | 2, open: boolean): string[] {
  const kind = ruleKinds[rule.kind];
  assert.ok(kind, rule.kind);
  const texts: string[] = [];
  const ctx: RuleContext = {
    patientId: 'p1',
    patient: { spo2Scale: scale, onOxygen: scale === 2 },
    isOpen: () => open,
    assess: (_cfg, a) => texts.push(a.summary),
    derive: () => {},
  };
  for (const s of streams()) {
    const state = kind.init(rule);
    for (const r of s) {
      const view: ReadingView = { reading: r, patientId: 'p1', t: Date.parse(r.effective), code: r.code };
      kind.onReading?.(ctx, rule, state, view);
    }
    for (let m = 0; m <= 48 * 60; m += 15)
      kind.onTick?.(ctx, rule, state, T0 + 10 * DAY_S * 1000 + m * 60_000);
  }
  const state = kind.init(rule);
  const reports: Array<Partial<DeviceStatusReport>> = [
    ...range(0, 100, 1).map((b) => ({ batteryPercent: b })),
    ...range(-600, 600, 30).map((o) => ({ clockOffsetSeconds: o })),
    { errors: ['sensor fault'] },
    { errors: [] },
  ];
  reports.forEach((p, i) => {
    const rep = status(i, p);
    kind.onStatus?.(ctx, rule, state, rep, Date.parse(rep.effective));
  });
  return texts;
}

describe('alert texts are true at every branch', () => {
  it('the checker catches a false comparison and passes true ones', () => {
    assert.deepEqual(falseClaims('SpO2 92 % below 92 % (scale 1)'), ['92 % below 92']);
    assert.deepEqual(falseClaims('Glucose 72 mg/dL < 70: level 1 low'), ['72 mg/dL < 70']);
    assert.deepEqual(falseClaims('SpO2 91 % < 92 %; HR 131 /min > 130; 94 % ≥ 94 %'), []);
  });

  for (const program of builtInPrograms) {
    for (const rule of program.rules) {
      it(`${program.name} / ${rule.id}`, () => {
        let n = 0;
        for (const scale of [1, 2] as const)
          for (const open of [false, true]) {
            const texts = walk(rule, scale, open);
            n += texts.length;
            const bad = [...new Set(texts.filter((t) => falseClaims(t).length > 0))];
            assert.deepEqual(bad, [], `scale ${scale}, ${open ? 'open' : 'not open'}`);
          }
        assert.ok(n > 0, 'the walk reached the rule');
      });
    }
  }
});
