/**
 * Short-horizon glucose forecast: a two-state Kalman filter (level, rate) with a white-noise
 * acceleration model, which handles irregular sampling (5–15 min CGMs) and smooths sensor noise
 * better than a straight line through two points. Units: mg/dL and minutes. Plain JSON state.
 */
export interface KalmanState {
  /** Filtered level, mg/dL. */
  g: number;
  /** Filtered rate, mg/dL/min. */
  s: number;
  p00: number;
  p01: number;
  p11: number;
  /** Event time of the last update, ms. */
  t: number;
  /** Readings since the last reset. */
  n: number;
}

export interface KalmanParams {
  /** Process noise (acceleration variance), (mg/dL)²/min³. */
  q: number;
  /** Measurement noise variance, (mg/dL)². */
  r: number;
  /** A silence longer than this restarts the filter: a trend across a gap is not a trend. */
  maxGapMinutes: number;
}

export function kalmanStart(g: number, t: number, p: KalmanParams): KalmanState {
  return { g, s: 0, p00: p.r, p01: 0, p11: 1, t, n: 1 };
}

/** Update with a reading; returns a new state (restarted after a gap or for out-of-order input). */
export function kalmanUpdate(k: KalmanState | null, g: number, t: number, p: KalmanParams): KalmanState {
  if (k === null || t <= k.t || t - k.t > p.maxGapMinutes * 60_000) return kalmanStart(g, t, p);
  const dt = (t - k.t) / 60_000;
  const x0 = k.g + k.s * dt;
  const x1 = k.s;
  const q = p.q;
  const p00 = k.p00 + dt * 2 * k.p01 + dt * dt * k.p11 + (q * dt ** 3) / 3;
  const p01 = k.p01 + dt * k.p11 + (q * dt * dt) / 2;
  const p11 = k.p11 + q * dt;
  const sInnov = p00 + p.r;
  const k0 = p00 / sInnov;
  const k1 = p01 / sInnov;
  const y = g - x0;
  return {
    g: x0 + k0 * y,
    s: x1 + k1 * y,
    p00: (1 - k0) * p00,
    p01: (1 - k0) * p01,
    p11: p11 - k1 * p01,
    t,
    n: k.n + 1,
  };
}

export function kalmanPredict(k: KalmanState, horizonMinutes: number): number {
  return k.g + k.s * horizonMinutes;
}

/**
 * The naive baseline the benchmark compares against: straight line through the reading ~15 min
 * ago (±2.5 min) and the current one, extrapolated `aheadMin`. Null when no such reading exists.
 */
export function naiveForecast(
  history: ReadonlyArray<readonly [number, number]>,
  aheadMin = 20,
  backMin = 15,
): number | null {
  const last = history[history.length - 1];
  if (last === undefined) return null;
  const [t, g] = last;
  for (let i = history.length - 2; i >= 0; i--) {
    const h = history[i] as readonly [number, number];
    const ago = (t - h[0]) / 60_000;
    if (ago > backMin + 2.5) return null;
    if (ago >= backMin - 2.5) return g + ((g - h[1]) / ago) * aheadMin;
  }
  return null;
}
