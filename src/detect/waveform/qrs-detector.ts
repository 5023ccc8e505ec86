/**
 * QRS (R-peak) detection on one ECG lead, after Pan & Tompkins (A real-time QRS detection algorithm,
 * IEEE Trans Biomed Eng 1985;32(3):230-236): band-pass 5-15 Hz, five-point derivative, squaring,
 * 150 ms moving-window integration, then adaptive signal/noise thresholds with a 200 ms refractory
 * period, T-wave discrimination (a candidate within 360 ms of the last QRS whose steepest slope is
 * under half of that QRS's is a T wave) and search-back (no QRS for 1.66 × the mean RR: take the
 * largest candidate above half the threshold). Filters are causal biquads designed for the record's
 * own sampling rate, so any rate from 125 Hz up works; the R peak is placed at the lead's largest excursion
 * just before the band-passed peak that precedes the integrator's peak (both lag the QRS).
 *
 * Pure: samples in physical units (mV) in, sample indices of R peaks out. Measured on MIT-BIH record
 * 100 against its reference beat annotations (test/detect/qrs-detector.test.ts).
 */

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** RBJ audio-EQ cookbook second-order sections (Q = 1/√2: Butterworth). */
function biquad(kind: 'low' | 'high', f0: number, fs: number): Biquad {
  const w0 = (2 * Math.PI * f0) / fs;
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const cos = Math.cos(w0);
  const a0 = 1 + alpha;
  const b1 = kind === 'low' ? 1 - cos : -(1 + cos);
  const b0 = kind === 'low' ? (1 - cos) / 2 : (1 + cos) / 2;
  return { b0: b0 / a0, b1: b1 / a0, b2: b0 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

function filter(x: Float64Array, f: Biquad): Float64Array {
  const y = new Float64Array(x.length);
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const yi = f.b0 * xi + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    y[i] = yi;
    x2 = x1;
    x1 = xi;
    y2 = y1;
    y1 = yi;
  }
  return y;
}

export interface QrsOptions {
  /** Band-pass edges (Hz); Pan-Tompkins' 5-15 Hz by default. */
  lowHz?: number;
  highHz?: number;
  /** Integration window (s), refractory period (s). */
  windowSeconds?: number;
  refractorySeconds?: number;
}

export function detectQrs(samples: ArrayLike<number>, fs: number, opts: QrsOptions = {}): number[] {
  const n = samples.length;
  if (n < fs) return [];
  const x = Float64Array.from(samples as ArrayLike<number>);
  // Band-pass: two cascaded sections each side for a steeper edge.
  const hp = biquad('high', opts.lowHz ?? 5, fs);
  const lp = biquad('low', opts.highHz ?? 15, fs);
  const band = filter(filter(filter(filter(x, hp), hp), lp), lp);
  // Five-point derivative, scaled to the sampling interval, squared.
  const sq = new Float64Array(n);
  for (let i = 4; i < n; i++) {
    const d =
      ((2 * (band[i] as number) +
        (band[i - 1] as number) -
        (band[i - 3] as number) -
        2 * (band[i - 4] as number)) *
        fs) /
      8;
    sq[i] = d * d;
  }
  // Moving-window integration.
  const w = Math.max(1, Math.round((opts.windowSeconds ?? 0.15) * fs));
  const mwi = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += sq[i] as number;
    if (i >= w) acc -= sq[i - w] as number;
    mwi[i] = acc / w;
  }
  const slope = (i: number) => {
    let m = 0;
    for (let k = Math.max(4, i - w); k <= i; k++) m = Math.max(m, sq[k] as number);
    return m;
  };
  const refractory = Math.round((opts.refractorySeconds ?? 0.2) * fs);
  const tWave = Math.round(0.36 * fs);
  const lookBack = Math.round(0.25 * fs);

  // Candidate peaks of the integrator: local maxima at least the refractory period apart.
  const candidates: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    const v = mwi[i] as number;
    if (v > 0 && v >= (mwi[i - 1] as number) && v > (mwi[i + 1] as number)) {
      const last = candidates[candidates.length - 1];
      if (last !== undefined && i - last < refractory) {
        if (v > (mwi[last] as number)) candidates[candidates.length - 1] = i;
      } else candidates.push(i);
    }
  }

  // Thresholds learnt over the first 2 s.
  const learn = Math.min(n, Math.round(2 * fs));
  let max = 0;
  let sum = 0;
  for (let i = 0; i < learn; i++) {
    max = Math.max(max, mwi[i] as number);
    sum += mwi[i] as number;
  }
  let spki = 0.25 * max;
  let npki = 0.5 * (sum / learn);
  const threshold = () => npki + 0.25 * (spki - npki);

  const qrs: number[] = [];
  const slopes: number[] = [];
  const rr: number[] = [];
  let sinceLast: number[] = []; // candidates rejected since the last QRS (for search-back)
  const accept = (c: number, searchBack: boolean) => {
    const v = mwi[c] as number;
    spki = searchBack ? 0.25 * v + 0.75 * spki : 0.125 * v + 0.875 * spki;
    const last = qrs[qrs.length - 1];
    if (last !== undefined) {
      rr.push(c - last);
      if (rr.length > 8) rr.shift();
    }
    qrs.push(c);
    slopes.push(slope(c));
    sinceLast = [];
  };
  for (const c of candidates) {
    const v = mwi[c] as number;
    const last = qrs[qrs.length - 1];
    // Search-back: a long gap since the last QRS means one was missed.
    if (last !== undefined && rr.length >= 2) {
      const meanRr = rr.reduce((a, b) => a + b, 0) / rr.length;
      if (c - last > 1.66 * meanRr) {
        const missed = sinceLast
          .filter((m) => m - last >= refractory && (mwi[m] as number) > 0.5 * threshold())
          .sort((a, b) => (mwi[b] as number) - (mwi[a] as number))[0];
        if (missed !== undefined) accept(missed, true);
      }
    }
    const prev = qrs[qrs.length - 1];
    if (v > threshold()) {
      if (prev !== undefined && c - prev < tWave && slope(c) < 0.5 * (slopes[slopes.length - 1] as number)) {
        npki = 0.125 * v + 0.875 * npki; // a T wave
        continue;
      }
      accept(c, false);
    } else {
      npki = 0.125 * v + 0.875 * npki;
      sinceLast.push(c);
    }
  }
  qrs.sort((a, b) => a - b);
  // Place each R peak at the largest band-passed excursion before the integrator's peak, then, as
  // the causal filters delay the band-passed signal, at the largest excursion of the lead itself
  // (from its local mean) in the 120 ms up to that point.
  const early = Math.round(0.12 * fs);
  const local = Math.round(0.1 * fs);
  return qrs.map((c) => {
    let best = c;
    let bestV = -1;
    for (let k = Math.max(0, c - lookBack); k <= c; k++) {
      const v = Math.abs(band[k] as number);
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    const from = Math.max(0, best - early);
    let mean = 0;
    const a = Math.max(0, from - local);
    const b = Math.min(n, best + local);
    for (let k = a; k < b; k++) mean += x[k] as number;
    mean /= b - a;
    let peak = best;
    let peakV = -1;
    for (let k = from; k <= best; k++) {
      const v = Math.abs((x[k] as number) - mean);
      if (v > peakV) {
        peakV = v;
        peak = k;
      }
    }
    return peak;
  });
}

/** Heart rate (/min) over the beats in (end − windowSeconds, end], or undefined with fewer than 2. */
export function rateFromBeats(
  beatTimes: readonly number[],
  end: number,
  windowSeconds = 4,
): number | undefined {
  const w = beatTimes.filter((t) => t > end - windowSeconds && t <= end);
  if (w.length < 2) return undefined;
  return (60 * (w.length - 1)) / ((w[w.length - 1] as number) - (w[0] as number));
}
