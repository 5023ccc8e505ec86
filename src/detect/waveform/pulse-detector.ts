/**
 * Pulse (beat) detection on a photoplethysmogram, after the slope sum function of Zong, Heldt,
 * Moody & Mark (An open-source algorithm to detect onset of arterial blood pressure pulses,
 * Computers in Cardiology 2003;30:259-262; PhysioNet's `wabp`), which the PhysioNet/CinC 2015
 * false-alarm entries applied to PLETH as well: low-pass, slope sum over a 128 ms window (the sum
 * of the rising slopes only, so the upstroke of each pulse stands out), an adaptive threshold
 * (60 % of the recent pulses' SSF peaks, started from the first seconds), a 300 ms refractory
 * period (200 /min), and the pulse placed at the SSF's peak after the crossing.
 *
 * Written here rather than taken from a library: no maintained npm package implements a published
 * pulse detector (the JavaScript ECG/PPG packages found are demos without tests), and the
 * algorithm is some sixty lines that the PhysioNet tests below measure.
 *
 * Pure: samples (any unit; NaN = marker, treated as the previous value) in, sample indices out.
 */
export function detectPulses(samples: ArrayLike<number>, fs: number): number[] {
  const n = samples.length;
  if (n < fs) return [];
  // Low-pass: a moving average over 50 ms (first zero near 20 Hz, above a pulse's harmonics).
  const half = Math.max(1, Math.round(0.025 * fs));
  const x = new Float64Array(n);
  let last = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i] as number;
    x[i] = Number.isFinite(v) ? v : last;
    last = x[i] as number;
  }
  const cs = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cs[i + 1] = (cs[i] as number) + (x[i] as number);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(n, i + half + 1);
    y[i] = ((cs[b] as number) - (cs[a] as number)) / (b - a);
  }
  // Slope sum function over 128 ms.
  const w = Math.max(2, Math.round(0.128 * fs));
  const ssf = new Float64Array(n);
  let acc = 0;
  const rise = (i: number) => Math.max(0, (y[i] as number) - (y[i - 1] as number));
  for (let i = 1; i < n; i++) {
    acc += rise(i);
    if (i - w >= 1) acc -= rise(i - w);
    ssf[i] = acc;
  }
  // Initial threshold: 60 % of the largest SSF of the first (up to) 3 s, as a pulse peak estimate.
  let init = 0;
  for (let i = 0; i < Math.min(n, 3 * fs); i++) init = Math.max(init, ssf[i] as number);
  const peaks: number[] = [init];
  const refractory = Math.round(0.3 * fs);
  const search = Math.round(0.15 * fs);
  const out: number[] = [];
  let i = 1;
  while (i < n) {
    const recent = peaks.slice(-5);
    const threshold = 0.6 * (recent.reduce((s, v) => s + v, 0) / recent.length);
    if ((ssf[i] as number) > threshold && (ssf[i - 1] as number) <= threshold && threshold > 0) {
      let peak = i;
      for (let k = i; k < Math.min(n, i + search); k++)
        if ((ssf[k] as number) > (ssf[peak] as number)) peak = k;
      out.push(peak);
      peaks.push(ssf[peak] as number);
      i = peak + refractory;
      continue;
    }
    i++;
  }
  return out;
}
