import type { Reading } from '../core/reading.ts';

export interface MinuteSummary {
  deviceId: string;
  code: string;
  unit: string | null;
  minute: string;
  n: number;
  min: number;
  mean: number;
  max: number;
}

/**
 * Per-minute min/mean/max of numeric readings, by device, code and unit (event time). Readings
 * without a numeric value (panels, absent data) are returned apart: a summary cannot stand for them.
 */
export function summariseByMinute(readings: readonly Reading[]): {
  summaries: MinuteSummary[];
  unsummarised: Reading[];
} {
  const groups = new Map<string, MinuteSummary & { sum: number }>();
  const unsummarised: Reading[] = [];
  for (const r of readings) {
    const t = Date.parse(r.effective);
    if (r.value === null || !Number.isFinite(r.value) || !Number.isFinite(t)) {
      unsummarised.push(r);
      continue;
    }
    const minute = new Date(Math.floor(t / 60_000) * 60_000).toISOString();
    const key = `${r.deviceId}|${r.code}|${r.unit ?? ''}|${minute}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, {
        deviceId: r.deviceId,
        code: r.code,
        unit: r.unit,
        minute,
        n: 1,
        min: r.value,
        mean: r.value,
        max: r.value,
        sum: r.value,
      });
      continue;
    }
    g.n += 1;
    g.sum += r.value;
    g.min = Math.min(g.min, r.value);
    g.max = Math.max(g.max, r.value);
  }
  const summaries = [...groups.values()].map(({ sum, ...s }) => ({ ...s, mean: sum / s.n }));
  summaries.sort((a, b) =>
    a.minute < b.minute
      ? -1
      : a.minute > b.minute
        ? 1
        : a.deviceId < b.deviceId
          ? -1
          : a.deviceId > b.deviceId
            ? 1
            : 0,
  );
  return { summaries, unsummarised };
}
