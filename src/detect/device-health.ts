import type { Severity } from '../core/severity.ts';
import { noUnknownKeys, num, type Raw, severity } from './config-fields.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Device health from DeviceStatusReport: low battery, clock drift, device-reported errors.
 * Conditions 'device:<id>:battery', 'device:<id>:clock', 'device:<id>:error'. Limits are
 * operational defaults, not clinical facts. A report that omits a field says nothing about it.
 */
export interface DeviceHealthConfig extends RuleBase {
  kind: 'device-health';
  lowBatteryPercent: number;
  criticalBatteryPercent: number;
  batteryClearPercent: number;
  maxClockOffsetSeconds: number;
  severityBattery: Severity;
  severityBatteryCritical: Severity;
  severityClock: Severity;
  severityError: Severity;
}

const KEYS = [
  ...BASE_KEYS,
  'lowBatteryPercent',
  'criticalBatteryPercent',
  'batteryClearPercent',
  'maxClockOffsetSeconds',
  'severityBattery',
  'severityBatteryCritical',
  'severityClock',
  'severityError',
] as const;

export const deviceHealth: RuleKind<DeviceHealthConfig, Record<string, never>> = {
  kind: 'device-health',
  validate(raw: Raw, path: string): DeviceHealthConfig {
    noUnknownKeys(raw, path, KEYS);
    const low = num(raw, 'lowBatteryPercent', path, 20, { min: 0, max: 100 });
    return {
      ...readBase(raw, path, { realertMinutes: 0 }),
      kind: 'device-health',
      lowBatteryPercent: low,
      criticalBatteryPercent: num(raw, 'criticalBatteryPercent', path, 5, { min: 0, max: 100 }),
      batteryClearPercent: num(raw, 'batteryClearPercent', path, Math.min(100, low + 5), {
        min: 0,
        max: 100,
      }),
      maxClockOffsetSeconds: num(raw, 'maxClockOffsetSeconds', path, 300, { min: 1 }),
      severityBattery: severity(raw, 'severityBattery', path, 'low'),
      severityBatteryCritical: severity(raw, 'severityBatteryCritical', path, 'medium'),
      severityClock: severity(raw, 'severityClock', path, 'low'),
      severityError: severity(raw, 'severityError', path, 'medium'),
    };
  },
  init: () => ({}),
  onStatus(ctx, cfg, _state, rep, t) {
    const dev = rep.deviceId;
    const base = { atMs: t, deviceId: dev, persistSeconds: 0, persistReadings: 1 };
    if (rep.batteryPercent !== undefined) {
      const key = `device:${dev}:battery`;
      const b = rep.batteryPercent;
      const active = b < cfg.lowBatteryPercent || (ctx.isOpen(key) && b < cfg.batteryClearPercent);
      ctx.assess(cfg, {
        ...base,
        key,
        active,
        severity: b < cfg.criticalBatteryPercent ? cfg.severityBatteryCritical : cfg.severityBattery,
        summary: active ? `Device battery ${b} %` : `Device battery ${b} %, recharged`,
        data: { batteryPercent: b },
      });
    }
    if (rep.clockOffsetSeconds !== undefined) {
      const key = `device:${dev}:clock`;
      const off = rep.clockOffsetSeconds;
      const active = Math.abs(off) > cfg.maxClockOffsetSeconds;
      ctx.assess(cfg, {
        ...base,
        key,
        active,
        severity: cfg.severityClock,
        summary: active
          ? `Device clock off by ${Math.round(off)} s (limit ${cfg.maxClockOffsetSeconds} s): event times unreliable`
          : 'Device clock in sync',
        data: { clockOffsetSeconds: off },
      });
    }
    if (rep.errors !== undefined) {
      const key = `device:${dev}:error`;
      const active = rep.errors.length > 0;
      ctx.assess(cfg, {
        ...base,
        key,
        active,
        severity: cfg.severityError,
        summary: active ? `Device reports: ${rep.errors.join(', ')}` : 'Device reports no errors',
        data: { errors: rep.errors },
      });
    }
  },
};
