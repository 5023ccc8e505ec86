import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Detection } from '../../src/core/detection.ts';
import type { Reading } from '../../src/core/reading.ts';
import { createEngine } from '../../src/detect/engine.ts';
import { validateProgramConfig } from '../../src/detect/program-config.ts';

/**
 * Two false ICU alarms from the PhysioNet/CinC 2015 challenge ("Reducing false arrhythmia alarms",
 * records read in place from test/corpora/physio/wfdb; header comments say "#False alarm"):
 * a103l (asystole) and v102s (ventricular tachycardia). The alarm sounds at 300 s; the ECG of the
 * preceding seconds has pauses (a103l) or noise counted as fast beats (v102s), while the
 * plethysmogram shows a regular pulse throughout.
 *
 * Heart rate from each waveform, per second (simple and documented, not a clinical QRS detector):
 * - beats: the signal minus its 0.4 s moving mean (baseline wander); for PLETH also smoothed over
 *   0.1 s; a beat is a local maximum (of |x| for the ECG, whose QRS may point down; of x for the
 *   pleth) at or above half the 99th percentile of the whole excerpt, at least 250 ms (ECG) or
 *   300 ms (pleth) after the previous beat;
 * - rate at second s: beats in (s − 4, s]; 60 × (n − 1) / (last − first) for n ≥ 2, else 0 (no
 *   beat for 4 s is the challenge's asystole definition).
 * Rates go in as readings of LOINC 8867-4 coded MDC 147842 (ECG heart rate) or 149530 (pulse
 * rate from the oximeter).
 *
 * Rules: ICU-style alarms on heart rate with cross-signal confirmation — "asystole" = rate < 20
 * for 2 s, "VT" = rate > 150 for 4 s (a rate proxy for a run of fast ventricular beats), both
 * `confirmAcrossSources` within 10 s. (The ward program `inpatient-continuous` holds HR alarms for
 * 10 s, which already absorbs these short excerpts; the shorter persistence here makes the ECG
 * alone alarm, so the test shows what the confirmation itself does.)
 */
const CORPUS = fileURLToPath(new URL('../../test/corpora/physio/', import.meta.url));
const FROM = 285; // 5 s of lead-in for the 4 s rate window
const TO = 300; // the alarm time
const FS = 250;

function readRecord(name: string): { t: number[]; cols: Record<string, number[]> } {
  const csv = execFileSync(
    process.execPath,
    [`${CORPUS}wfdb2csv.mjs`, `${CORPUS}wfdb/${name}.hea`, '--from', String(FROM), '--to', String(TO)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
  );
  const [head, ...rows] = csv.trim().split('\n');
  const names = (head ?? '').split(',').map((h) => h.split(' ')[0] as string);
  const cols: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (const row of rows)
    row.split(',').forEach((v, i) => {
      cols[names[i] as string]?.push(Number(v));
    });
  return { t: cols.t_s ?? [], cols };
}

function movingMean(x: number[], half: number): number[] {
  const cs = [0];
  for (const v of x) cs.push((cs[cs.length - 1] as number) + v);
  return x.map((_, i) => {
    const a = Math.max(0, i - half);
    const b = Math.min(x.length, i + half);
    return ((cs[b] as number) - (cs[a] as number)) / (b - a);
  });
}

export function beats(t: number[], x: number[], kind: 'ecg' | 'pleth'): number[] {
  const base = movingMean(x, Math.round(0.2 * FS));
  let y = x.map((v, i) => v - (base[i] as number));
  if (kind === 'pleth') y = movingMean(y, Math.round(0.05 * FS));
  const a = kind === 'ecg' ? y.map(Math.abs) : y;
  const sorted = [...a].sort((p, q) => p - q);
  const thr = 0.5 * (sorted[Math.floor(0.99 * sorted.length)] as number);
  const refractory = kind === 'ecg' ? 0.25 : 0.3;
  const out: number[] = [];
  for (let i = 1; i < a.length - 1; i++) {
    const v = a[i] as number;
    if (v >= thr && v >= (a[i - 1] as number) && v > (a[i + 1] as number)) {
      const ti = t[i] as number;
      if (out.length === 0 || ti - (out[out.length - 1] as number) >= refractory) out.push(ti);
    }
  }
  return out;
}

export function rateAt(b: number[], s: number): number {
  const w = b.filter((x) => x > s - 4 && x <= s);
  if (w.length < 2) return 0;
  return (60 * (w.length - 1)) / ((w[w.length - 1] as number) - (w[0] as number));
}

const T0 = Date.parse('2026-03-01T08:00:00Z');
let seq = 0;
function hr(source: 'ecg' | 'pleth', bpm: number, sec: number): Reading {
  const at = new Date(T0 + sec * 1000).toISOString();
  seq++;
  return {
    id: `r${seq}`,
    deviceId: 'icu-monitor',
    patientId: 'p1',
    code: '8867-4',
    codings: [{ system: 'urn:iso:std:iso:11073:10101', code: source === 'ecg' ? '147842' : '149530' }],
    category: 'vital-signs',
    value: Math.round(bpm),
    unit: '/min',
    components: [],
    effective: at,
    received: at,
    flags: [],
    idempotencyKey: `k${seq}`,
    transport: 'replay',
    profile: 'test',
  };
}

const icuProgram = (confirm: boolean) =>
  validateProgramConfig({
    name: 'icu-alarms',
    rules: [
      {
        id: 'asystole',
        kind: 'threshold',
        code: '8867-4',
        direction: 'below',
        levels: [{ value: 20, severity: 'critical' }],
        persistSeconds: 2,
        confirmAcrossSources: confirm,
        confirmWindowSeconds: 10,
      },
      {
        id: 'vt',
        kind: 'threshold',
        code: '8867-4',
        direction: 'above',
        levels: [{ value: 150, severity: 'critical' }],
        persistSeconds: 4,
        confirmAcrossSources: confirm,
        confirmWindowSeconds: 10,
      },
    ],
  });

/**
 * Feed per-second rates (pleth first within a second, as a monitor's parameter block would);
 * `plethEvery` sends the pleth rate only every N seconds.
 */
function alarms(
  ecg: number[],
  pleth: number[] | null,
  o: { plethEvery?: number; confirm?: boolean } = {},
): Detection[] {
  const e = createEngine({
    programs: [icuProgram(o.confirm ?? true)],
    patients: { p1: { programs: ['icu-alarms'] } },
  });
  const out: Detection[] = [];
  ecg.forEach((bpm, i) => {
    const pl = i % (o.plethEvery ?? 1) === 0 ? pleth?.[i] : undefined;
    if (pl !== undefined) out.push(...e.onReading(hr('pleth', pl, i)).detections);
    out.push(...e.onReading(hr('ecg', bpm, i)).detections);
  });
  return out.filter((d) => d.state === 'firing');
}

function perSecond(name: string): { ecg: number[]; pleth: number[] } {
  const { t, cols } = readRecord(name);
  const eb = beats(t, cols.II ?? [], 'ecg');
  const pb = beats(t, cols.PLETH ?? [], 'pleth');
  const ecg: number[] = [];
  const pleth: number[] = [];
  for (let s = FROM + 5; s <= TO; s++) {
    ecg.push(rateAt(eb, s));
    pleth.push(rateAt(pb, s));
  }
  return { ecg, pleth };
}

describe('PhysioNet false ICU alarms: pleth-confirmed heart rate does not alarm', () => {
  it('a103l (false asystole): the ECG alone alarms; with the pleth pulse it does not', () => {
    const { ecg, pleth } = perSecond('a103l');
    assert.ok(
      ecg.some((v) => v < 20),
      `ECG rate falls to asystole levels: ${ecg.map(Math.round).join(' ')}`,
    );
    assert.ok(
      pleth.every((v) => v > 100 && v < 150),
      `pleth pulse regular: ${pleth.map(Math.round).join(' ')}`,
    );
    assert.deepEqual(
      alarms(ecg, null).map((d) => d.conditionKey),
      ['threshold:8867-4:low'],
    );
    assert.deepEqual(alarms(ecg, pleth), []);
    // Every pleth reading is also evaluated by the same rule, so a pleth rate each second already
    // resets the ECG's pending condition. With a pleth rate only every 5 s, only the cross-source
    // confirmation (10 s window) keeps the alarm quiet:
    assert.notDeepEqual(alarms(ecg, pleth, { plethEvery: 5, confirm: false }), []);
    assert.deepEqual(alarms(ecg, pleth, { plethEvery: 5 }), []);
  });

  it('v102s (false VT): the ECG alone alarms; with the pleth pulse it does not', () => {
    const { ecg, pleth } = perSecond('v102s');
    assert.ok(
      ecg.some((v) => v > 150),
      `ECG noise counted as fast beats: ${ecg.map(Math.round).join(' ')}`,
    );
    assert.ok(
      pleth.every((v) => v >= 40 && v <= 150),
      `pleth pulse below the VT limit: ${pleth.map(Math.round).join(' ')}`,
    );
    assert.deepEqual(
      alarms(ecg, null).map((d) => d.conditionKey),
      ['threshold:8867-4:high'],
    );
    assert.deepEqual(alarms(ecg, pleth), []);
    assert.notDeepEqual(alarms(ecg, pleth, { plethEvery: 5, confirm: false }), []);
    assert.deepEqual(alarms(ecg, pleth, { plethEvery: 5 }), []);
  });
});

describe('synthetic controls: a true condition still alarms with pleth present', () => {
  it('true asystole: ECG and pleth both lose the beat', () => {
    const ecg = [80, 80, 80, 0, 0, 0, 0, 0, 0, 0];
    const pleth = [80, 80, 80, 80, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(
      alarms(ecg, pleth).map((d) => [d.conditionKey, d.severity]),
      [['threshold:8867-4:low', 'critical']],
    );
  });

  it('true VT with a pulse: ECG and pleth both fast', () => {
    const ecg = [90, 90, 180, 182, 185, 183, 184, 186, 185, 184];
    const pleth = [90, 90, 175, 178, 180, 179, 181, 180, 182, 181];
    assert.deepEqual(
      alarms(ecg, pleth).map((d) => d.conditionKey),
      ['threshold:8867-4:high'],
    );
  });

  it('pulseless VT: a pleth rate under 40 is no reassurance, the ECG alarm stands', () => {
    const ecg = [90, 90, 180, 182, 185, 183, 184, 186, 185, 184];
    const pleth = [90, 90, 30, 20, 10, 0, 0, 0, 0, 0];
    assert.deepEqual(
      alarms(ecg, pleth).map((d) => d.conditionKey),
      ['threshold:8867-4:high'],
    );
  });

  it('no pleth reading within 10 s: nothing to confirm against, the ECG alarm stands', () => {
    const ecg = [80, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(
      alarms(ecg, null).map((d) => d.conditionKey),
      ['threshold:8867-4:low'],
    );
  });
});
