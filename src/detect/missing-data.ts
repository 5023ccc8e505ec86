import type { Severity } from '../core/severity.ts';
import { configError } from './config-error.ts';
import { noUnknownKeys, num, type Raw, severity, str, strList } from './config-fields.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Missing data: each device sending any of `codes` is expected every `expectedEveryMinutes`;
 * silence longer than `gapMinutes` raises 'gap:<rule id>:<device id>'. Fires from `tick(nowMs)`
 * with no new data at all; the next reading from that device clears it. A device silent for
 * `forgetAfterHours` is forgotten (its gap cleared): it was most likely unassigned or replaced.
 * A device never heard from cannot be missed — enrolment-level "never started" is the alert
 * manager's job.
 *
 * Silence is judged on ARRIVAL time (`received`), not on the device's clock: a device whose clock
 * runs 30 min behind would otherwise look 30 min silent on every tick and open/clear a gap alert
 * with every reading (seen in the simulator's skewed devices: hundreds of gap alerts a day).
 */
export interface MissingDataConfig extends RuleBase {
  kind: 'missing-data';
  name: string;
  codes: string[];
  expectedEveryMinutes: number;
  gapMinutes: number;
  forgetAfterHours: number;
  severity: Severity;
}

export interface MissingDataState {
  /** Last arrival time per device (received; event time when received is unknown). */
  last: Record<string, number>;
}

const KEYS = [
  ...BASE_KEYS,
  'name',
  'codes',
  'expectedEveryMinutes',
  'gapMinutes',
  'forgetAfterHours',
  'severity',
] as const;

export const missingData: RuleKind<MissingDataConfig, MissingDataState> = {
  kind: 'missing-data',
  validate(raw: Raw, path: string): MissingDataConfig {
    noUnknownKeys(raw, path, KEYS);
    const expected = num(raw, 'expectedEveryMinutes', path, undefined, { min: 0.1 });
    const cfg: MissingDataConfig = {
      ...readBase(raw, path, { realertMinutes: 0 }),
      kind: 'missing-data',
      name: str(raw, 'name', path, str(raw, 'id', path)),
      codes: strList(raw, 'codes', path, []),
      expectedEveryMinutes: expected,
      // Default: three missed readings (a single late one is normal jitter).
      gapMinutes: num(raw, 'gapMinutes', path, expected * 3, { min: 0.1 }),
      forgetAfterHours: num(raw, 'forgetAfterHours', path, 7 * 24, { min: 1 }),
      severity: severity(raw, 'severity', path, 'low'),
    };
    if (cfg.codes.length === 0) throw configError(`${path}.codes`, 'needs at least one code');
    if (cfg.gapMinutes < expected)
      throw configError(`${path}.gapMinutes`, `must be ≥ expectedEveryMinutes (${expected})`);
    return cfg;
  },
  init: () => ({ last: {} }),
  onReading(ctx, cfg, state, r) {
    if (!cfg.codes.includes(r.code)) return;
    const dev = r.reading.deviceId;
    const received = Date.parse(r.reading.received);
    const at = Number.isNaN(received) ? r.t : received;
    const prev = state.last[dev];
    if (prev !== undefined && prev >= at) return;
    state.last[dev] = at;
    const key = `gap:${cfg.id}:${dev}`;
    if (ctx.isOpen(key)) {
      ctx.assess(cfg, {
        key,
        active: false,
        severity: cfg.severity,
        atMs: at,
        summary: `${cfg.name}: data resumed`,
        evidence: [r.reading.id],
        deviceId: dev,
      });
    }
  },
  onTick(ctx, cfg, state, nowMs) {
    for (const dev of Object.keys(state.last).sort()) {
      const last = state.last[dev] as number;
      const key = `gap:${cfg.id}:${dev}`;
      const silentMin = (nowMs - last) / 60_000;
      if (silentMin > cfg.forgetAfterHours * 60) {
        delete state.last[dev];
        ctx.assess(cfg, {
          key,
          active: false,
          severity: cfg.severity,
          atMs: nowMs,
          summary: `${cfg.name}: device silent ${Math.round(silentMin / 60)} h, no longer expected`,
          deviceId: dev,
        });
        continue;
      }
      if (silentMin <= cfg.gapMinutes) continue;
      ctx.assess(cfg, {
        key,
        active: true,
        severity: cfg.severity,
        atMs: nowMs,
        summary: `${cfg.name}: no data for ${Math.round(silentMin)} min (expected every ${cfg.expectedEveryMinutes} min)`,
        deviceId: dev,
        data: {
          lastReadingAt: new Date(last).toISOString(),
          silentMinutes: Math.round(silentMin),
          expectedEveryMinutes: cfg.expectedEveryMinutes,
        },
        persistSeconds: 0,
        persistReadings: 1,
      });
    }
  },
};
