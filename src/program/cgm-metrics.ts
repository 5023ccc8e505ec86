/**
 * CGM metrics for the dashboard: the Ambulatory Glucose Profile (AGP) and the consensus metrics of
 * clinical-reference §6 (International Consensus on Time in Range, Battelino et al. 2019; GMI per
 * Bergenstal et al. 2018). Pure functions over glucose values in mg/dL; no I/O.
 *
 * Conventions (stated because tools differ):
 * - ranges: in range 70–180 mg/dL inclusive; below 70 (level 1 + 2), below 54 (level 2); above 180
 *   (level 1 + 2), above 250 (level 2) — percentages of readings, as the consensus reports them;
 * - SD is the sample standard deviation (n − 1); CV = SD / mean × 100;
 * - percentiles use linear interpolation between closest ranks (R type 7, numpy default);
 * - GMI (%) = 3.31 + 0.02392 × mean glucose (mg/dL);
 * - data sufficiency = readings received / readings expected at the sensor's cadence over the
 *   period, capped at 100 %; the consensus asks for 14 days with ≥ 70 % of possible readings.
 */

export interface GlucosePoint {
  /** Epoch milliseconds. */
  t: number;
  /** mg/dL. */
  mgdl: number;
}

export const AGP_SLOT_MINUTES = 15;
export const AGP_PERCENTILES = [5, 25, 50, 75, 95] as const;

/** Linear-interpolation percentile of an ascending-sorted array (R type 7). NaN when empty. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0] as number;
  const h = (n - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (h - lo) * (b - a);
}

export interface AgpSlot {
  /** Minutes after local midnight at the slot's start (0, 15, …, 1425). */
  minute: number;
  n: number;
  p5: number | null;
  p25: number | null;
  p50: number | null;
  p75: number | null;
  p95: number | null;
}

/**
 * Minutes after local midnight of `t` in the IANA zone `timeZone` (UTC when omitted). Offsets are
 * cached per hour, so a 14-day CGM trace costs a few hundred Intl calls, not thousands.
 */
export function minuteOfDayFn(timeZone = 'UTC'): (t: number) => number {
  if (timeZone === 'UTC') return (t) => Math.floor((((t / 60000) % 1440) + 1440) % 1440);
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const offsetByHour = new Map<number, number>();
  return (t) => {
    const hour = Math.floor(t / 3_600_000);
    let offset = offsetByHour.get(hour);
    if (offset === undefined) {
      const parts = fmt.formatToParts(new Date(hour * 3_600_000));
      const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
      const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
      const utcMinute = (((hour * 60) % 1440) + 1440) % 1440;
      offset = (((h * 60 + m - utcMinute) % 1440) + 1440) % 1440;
      offsetByHour.set(hour, offset);
    }
    const utc = (((t / 60000) % 1440) + 1440) % 1440;
    return Math.floor((utc + offset) % 1440);
  };
}

/** AGP: percentiles of every reading falling in each 15-minute slot of the modal day. */
export function agpProfile(points: readonly GlucosePoint[], timeZone = 'UTC'): AgpSlot[] {
  const slots = 1440 / AGP_SLOT_MINUTES;
  const bins: number[][] = Array.from({ length: slots }, () => []);
  const mod = minuteOfDayFn(timeZone);
  for (const p of points) {
    if (!Number.isFinite(p.mgdl)) continue;
    bins[Math.floor(mod(p.t) / AGP_SLOT_MINUTES)]?.push(p.mgdl);
  }
  return bins.map((values, i) => {
    values.sort((a, b) => a - b);
    const q = (p: number) => (values.length ? round1(percentileSorted(values, p)) : null);
    return {
      minute: i * AGP_SLOT_MINUTES,
      n: values.length,
      p5: q(5),
      p25: q(25),
      p50: q(50),
      p75: q(75),
      p95: q(95),
    };
  });
}

export interface CgmMetrics {
  readings: number;
  /** mg/dL. */
  mean: number | null;
  /** mg/dL, sample SD. */
  sd: number | null;
  /** %CV (target ≤ 36 %). */
  cv: number | null;
  /** Glucose management indicator, %. */
  gmi: number | null;
  /** Percent of readings; null when there are none. */
  inRange: number | null;
  below70: number | null;
  below54: number | null;
  above180: number | null;
  above250: number | null;
  /** Readings expected over the period at the cadence. */
  expected: number;
  /** Received / expected, %, capped at 100. */
  sufficiency: number;
  /** Calendar days (in the zone) with at least one reading. */
  daysWithData: number;
  /** Length of the period asked for, days. */
  periodDays: number;
  /** The consensus minimum: 14 days of wear and ≥ 70 % of possible readings. */
  sufficient: boolean;
  /**
   * Readings left out of the glucose figures (mean … above250) because they fell inside an excluded
   * interval (a suspected compression low that recovered or that a fingerstick did not confirm).
   * They still count as worn: `readings`, `sufficiency` and `daysWithData` include them.
   */
  excludedReadings: number;
}

/** An interval of event time, epoch ms, [from, to). */
export interface ExcludedInterval {
  from: number;
  to: number;
}

export interface MetricsOptions {
  /** Period start and end, epoch ms (the period asked for, not the first/last reading). */
  from: number;
  to: number;
  /** Minutes between readings the sensor is meant to deliver (Dexcom/Libre: 5 or 15). Default 5. */
  cadenceMinutes?: number;
  timeZone?: string;
  /** Intervals whose readings are worn but left out of the glucose figures (see `excludedReadings`). */
  exclude?: readonly ExcludedInterval[];
}

/** True when `t` is inside one of the intervals. */
export function inIntervals(t: number, intervals: readonly ExcludedInterval[]): boolean {
  for (const i of intervals) if (t >= i.from && t < i.to) return true;
  return false;
}

export function cgmMetrics(points: readonly GlucosePoint[], opts: MetricsOptions): CgmMetrics {
  const worn = points.filter((p) => Number.isFinite(p.mgdl) && p.t >= opts.from && p.t <= opts.to);
  const exclude = opts.exclude ?? [];
  const values = exclude.length === 0 ? worn : worn.filter((p) => !inIntervals(p.t, exclude));
  const n = values.length;
  const cadence = opts.cadenceMinutes ?? 5;
  const periodMinutes = Math.max(0, (opts.to - opts.from) / 60000);
  const expected = Math.floor(periodMinutes / cadence);
  const periodDays = round1(periodMinutes / 1440);
  const dayKey = dayKeyFn(opts.timeZone ?? 'UTC');
  const days = new Set(worn.map((p) => dayKey(p.t)));
  const sufficiency = expected > 0 ? Math.min(100, round1((worn.length / expected) * 100)) : 0;
  const base = {
    readings: worn.length,
    expected,
    sufficiency,
    daysWithData: days.size,
    periodDays,
    excludedReadings: worn.length - n,
  };
  if (n === 0) {
    return {
      ...base,
      mean: null,
      sd: null,
      cv: null,
      gmi: null,
      inRange: null,
      below70: null,
      below54: null,
      above180: null,
      above250: null,
      sufficient: false,
    };
  }
  let sum = 0;
  let inRange = 0;
  let below70 = 0;
  let below54 = 0;
  let above180 = 0;
  let above250 = 0;
  for (const { mgdl: v } of values) {
    sum += v;
    if (v < 54) below54++;
    if (v < 70) below70++;
    else if (v <= 180) inRange++;
    else above180++;
    if (v > 250) above250++;
  }
  const mean = sum / n;
  let ss = 0;
  for (const { mgdl: v } of values) ss += (v - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const pct = (k: number) => round1((k / n) * 100);
  return {
    ...base,
    mean: round1(mean),
    sd: round1(sd),
    cv: round1((sd / mean) * 100),
    gmi: round1(gmi(mean)),
    inRange: pct(inRange),
    below70: pct(below70),
    below54: pct(below54),
    above180: pct(above180),
    above250: pct(above250),
    sufficient: periodDays >= 14 && sufficiency >= 70,
  };
}

/** Glucose management indicator (%) from mean glucose in mg/dL (clinical-reference §6). */
export function gmi(meanMgdl: number): number {
  return 3.31 + 0.02392 * meanMgdl;
}

function dayKeyFn(timeZone: string): (t: number) => string {
  if (timeZone === 'UTC') return (t) => new Date(t).toISOString().slice(0, 10);
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return (t) => fmt.format(new Date(t));
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
