/**
 * Derived numerics from stored waveform strips, for detection's cross-signal confirmation: heart
 * rate from an ECG lead's R peaks (Pan-Tompkins, detect/waveform/qrs-detector.ts) and pulse rate
 * from a plethysmogram (slope sum function, detect/waveform/pulse-detector.ts). One rate per whole
 * second of the strip from its 4th second on, over the beats of the preceding 4 s (the PhysioNet/
 * CinC 2015 challenge's window), as LOINC 8867-4 coded MDC_ECG_HEART_RATE (147842) or
 * MDC_PULS_OXIM_PULS_RATE (149530) — the codings the threshold rule tells the sources apart by.
 *
 * A second whose window holds fewer than two beats, or whose rate is outside heart rate's
 * plausibility range (15–350 /min, codes.ts), yields no reading: "no beat found" is not a rate of
 * 0 and is not stored as one (a device's own asystole alarm is the source for that).
 */
import type { Reading } from '../core/reading.ts';
import { physicalSamples, type SampledChannel, samplingHz } from '../core/waveform.ts';
import { detectPulses } from '../detect/waveform/pulse-detector.ts';
import { detectQrs, rateFromBeats } from '../detect/waveform/qrs-detector.ts';
import { MDC } from '../normalize/codes.ts';
import { isEcgLead, PLETH_CODE } from '../normalize/waveform-codes.ts';

const WINDOW_SECONDS = 4;
const MIN_RATE = 15;
const MAX_RATE = 350;

const SOURCES = {
  ecg: { code: '147842', display: 'MDC_ECG_HEART_RATE' },
  pleth: { code: '149530', display: 'MDC_PULS_OXIM_PULS_RATE' },
} as const;

function beatSeconds(ch: SampledChannel, kind: 'ecg' | 'pleth'): number[] {
  const fs = samplingHz(ch);
  const x = physicalSamples(ch);
  const idx =
    kind === 'ecg'
      ? detectQrs(
          Float64Array.from(x, (v) => (Number.isFinite(v) ? v : 0)),
          fs,
        )
      : detectPulses(x, fs);
  return idx.map((i) => i / fs);
}

/** The channel each source is derived from: the first ECG lead (lead II first) and the pleth. */
function sourcesOf(strip: NonNullable<Reading['waveform']>): { kind: 'ecg' | 'pleth'; ch: SampledChannel }[] {
  const one = strip.channels.filter((c) => c.dimensions === 1);
  const ecg = one.find((c) => c.code === '131330') ?? one.find((c) => isEcgLead(c.code));
  const pleth = one.find((c) => c.code === PLETH_CODE);
  return [
    ...(ecg ? [{ kind: 'ecg' as const, ch: ecg }] : []),
    ...(pleth ? [{ kind: 'pleth' as const, ch: pleth }] : []),
  ];
}

/** Rate readings derived from one stored strip (empty for strips without an ECG lead or pleth). */
export function ratesFromStrip(strip: Reading, receivedIso: string): Reading[] {
  if (!strip.waveform) return [];
  const start = Date.parse(strip.effective);
  const out: Reading[] = [];
  for (const { kind, ch } of sourcesOf(strip.waveform)) {
    const beats = beatSeconds(ch, kind);
    const seconds = Math.floor((ch.count * ch.periodMs) / 1000);
    for (let s = WINDOW_SECONDS; s <= seconds; s++) {
      const rate = rateFromBeats(beats, s, WINDOW_SECONDS);
      if (rate === undefined || rate < MIN_RATE || rate > MAX_RATE) continue;
      const src = SOURCES[kind];
      out.push({
        id: '',
        deviceId: strip.deviceId,
        patientId: strip.patientId,
        code: '8867-4',
        codings: [{ system: MDC, code: src.code, display: src.display }],
        category: 'vital-signs',
        value: Math.round(rate),
        unit: '/min',
        components: [],
        effective: new Date(start + s * 1000).toISOString(),
        received: receivedIso,
        flags: [],
        idempotencyKey: `${strip.idempotencyKey}|${kind}-rate:${s}`,
        transport: 'derived',
        profile: kind === 'ecg' ? 'waveform-qrs' : 'waveform-pulse',
      });
    }
  }
  return out;
}
