import { useEffect, useState } from 'react';
import { get, qs } from '../api.ts';
import { fullTime } from '../format.ts';

/**
 * The patient's latest stored waveform strips (FHIR Observations with SampledData, docs/waveforms.md)
 * drawn on ECG paper: 25 mm/s, 10 mm/mV, small squares 1 mm, big squares 5 mm, with a 1 mV
 * calibration pulse. The SVG is laid out in millimetres (viewBox units = mm, width in CSS mm), so
 * at the browser's nominal 96 px/in the paper speed and gain are true; zoomed, both scale together.
 * A pleth has no electrical unit: it is drawn to fit the same paper, labelled as relative.
 */
const MDC = 'urn:iso:std:iso:11073:10101';
const STRIP_CODES = ['131330', '131328', '131329', '131389', '150452'];
const MM_PER_S = 25;
const MM_PER_MV = 10;
const HEIGHT_MM = 30;
const CAL_MM = 5; // calibration pulse: 0.2 s wide

interface SampledData {
  origin: { value?: number; code?: string };
  period: number;
  factor?: number;
  dimensions: number;
  data?: string;
}
interface StripObservation {
  id: string;
  effectiveDateTime?: string;
  code: { coding?: { system?: string; code?: string; display?: string }[]; text?: string };
  valueSampledData?: SampledData;
  component?: { code: StripObservation['code']; valueSampledData?: SampledData }[];
}
interface Bundle {
  entry?: { resource: StripObservation }[];
}

/** Physical values of a SampledData (origin + factor × count); E/L/U markers become gaps (NaN). */
export function physical(sd: SampledData): number[] {
  const o = sd.origin.value ?? 0;
  const f = sd.factor ?? 1;
  return (sd.data ?? '')
    .trim()
    .split(/\s+/)
    .map((t) => (/^[+-]?\d/.test(t) ? o + f * Number(t) : Number.NaN));
}

function toMv(values: number[], unit: string | undefined): number[] | null {
  if (unit === 'mV') return values;
  if (unit === 'uV') return values.map((v) => v / 1000);
  if (unit === 'V') return values.map((v) => v * 1000);
  return null;
}

function Paper({ title, seconds, children }: { title: string; seconds: number; children: React.ReactNode }) {
  const width = CAL_MM + seconds * MM_PER_S;
  return (
    <svg
      className="ecg-paper"
      viewBox={`0 0 ${width} ${HEIGHT_MM}`}
      width={`${width}mm`}
      height={`${HEIGHT_MM}mm`}
      role="img"
    >
      <title>{title}</title>
      <defs>
        <pattern id="ecg-small" width="1" height="1" patternUnits="userSpaceOnUse">
          <path d="M 1 0 L 0 0 0 1" fill="none" stroke="#f4b8b8" strokeWidth="0.05" />
        </pattern>
        <pattern id="ecg-big" width="5" height="5" patternUnits="userSpaceOnUse">
          <rect width="5" height="5" fill="url(#ecg-small)" />
          <path d="M 5 0 L 0 0 0 5" fill="none" stroke="#e07a7a" strokeWidth="0.15" />
        </pattern>
      </defs>
      <rect width={width} height={HEIGHT_MM} fill="#fff7f7" />
      <rect width={width} height={HEIGHT_MM} fill="url(#ecg-big)" />
      {children}
    </svg>
  );
}

function trace(values: number[], periodMs: number, y: (v: number) => number): string {
  const parts: string[] = [];
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = CAL_MM + (i * periodMs * MM_PER_S) / 1000;
    parts.push(`${pen ? 'L' : 'M'}${x.toFixed(2)} ${y(v).toFixed(2)}`);
    pen = true;
  });
  return parts.join(' ');
}

function Strip({ label, sd }: { label: string; sd: SampledData }) {
  if (sd.dimensions !== 1) return null;
  const values = physical(sd);
  const seconds = (values.length * sd.period) / 1000;
  const mv = toMv(values, sd.origin.code);
  const mid = HEIGHT_MM / 2;
  let y: (v: number) => number;
  let scale: string;
  if (mv) {
    // Centre the strip's median on the paper (baseline wander and offsets), 10 mm per mV.
    const sorted = mv.filter(Number.isFinite).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    y = (v) => mid - (v - median) * MM_PER_MV;
    scale = '25 mm/s · 10 mm/mV';
  } else {
    const finite = values.filter(Number.isFinite);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const span = hi - lo || 1;
    y = (v) => HEIGHT_MM - 3 - ((v - lo) / span) * (HEIGHT_MM - 6);
    scale = '25 mm/s · amplitude relative';
  }
  const series = mv ?? values;
  return (
    <figure className="waveform" data-chart="waveform" aria-label={`${label} strip`}>
      <figcaption>
        <span className="chart-title">{label}</span>
        <span className="subtle small">
          {scale} · {seconds.toFixed(1)} s
        </span>
      </figcaption>
      <div className="ecg-scroll">
        <Paper title={`${label}, ${scale}`} seconds={seconds}>
          {mv && (
            <path
              d={`M0 ${mid} L1 ${mid} L1 ${mid - MM_PER_MV} L${CAL_MM - 1} ${mid - MM_PER_MV} L${CAL_MM - 1} ${mid} L${CAL_MM} ${mid}`}
              fill="none"
              stroke="#111"
              strokeWidth="0.25"
            />
          )}
          <path d={trace(series, sd.period, y)} fill="none" stroke="#111" strokeWidth="0.25" />
        </Paper>
      </div>
    </figure>
  );
}

export function WaveformPanel({ patientId, tick }: { patientId: string; tick: number }) {
  const [strips, setStrips] = useState<StripObservation[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick refreshes
  useEffect(() => {
    let cancelled = false;
    const codes = STRIP_CODES.map((c) => `${MDC}|${c}`).join(',');
    get<Bundle>(`/fhir/Observation${qs({ patient: patientId, code: codes, _sort: '-date', _count: 6 })}`)
      .then((b) => {
        if (cancelled) return;
        // the newest strip of each code
        const seen = new Set<string>();
        const out: StripObservation[] = [];
        for (const e of b.entry ?? []) {
          const c = e.resource.code.coding?.find((x) => x.system === MDC)?.code ?? '';
          if (seen.has(c)) continue;
          seen.add(c);
          out.push(e.resource);
        }
        setStrips(out);
      })
      .catch(() => setStrips([]));
    return () => {
      cancelled = true;
    };
  }, [patientId, tick]);
  if (!strips || strips.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="waveform-title" data-panel="waveforms">
      <h2 id="waveform-title">Waveforms</h2>
      {strips.map((o) => {
        const name = (c: StripObservation['code']) =>
          (c.coding?.find((x) => x.system === MDC)?.display ?? c.text ?? 'Waveform')
            .replace(/^MDC_ECG_ELEC_POTL_/, 'ECG lead ')
            .replace(/^MDC_PULS_OXIM_PLETH$/, 'Pleth');
        const when = o.effectiveDateTime ? ` · ${fullTime(o.effectiveDateTime)}` : '';
        return (
          <div key={o.id}>
            {o.valueSampledData && <Strip label={`${name(o.code)}${when}`} sd={o.valueSampledData} />}
            {(o.component ?? []).map(
              (c, i) =>
                c.valueSampledData && (
                  // biome-ignore lint/suspicious/noArrayIndexKey: components have no id; order is fixed
                  <Strip key={i} label={`${name(c.code)}${when}`} sd={c.valueSampledData} />
                ),
            )}
          </div>
        );
      })}
    </section>
  );
}
