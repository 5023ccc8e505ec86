/**
 * Device fleet health: online/offline from last contact against the cadence a kind of device is
 * expected to report at, low battery, firmware versions, unassigned devices. Pure; the rows come
 * from program-data.ts.
 */

/**
 * Expected minutes between contacts by device kind. Engineering defaults, not clinical rules: a
 * CGM sends every 5 min, continuous wearables and gateways sync often, spot-check home devices
 * (cuff, scale, meter) are used about once a day.
 */
export const expectedIntervalMinutes: Record<string, number> = {
  cgm: 5,
  'bedside-monitor': 5,
  'ecg-patch': 15,
  wearable: 60,
  gateway: 15,
  'blood-pressure-cuff': 1440,
  'pulse-oximeter': 1440,
  scale: 1440,
  thermometer: 1440,
  'glucose-meter': 1440,
  'smart-inhaler': 1440,
  'pill-bottle': 1440,
  other: 1440,
};

/** A device is offline once silent for this many expected intervals (one missed contact is tolerated). */
export const OFFLINE_AFTER_INTERVALS = 2;
/** The same threshold as the device-health rule's default (src/detect/device-health.ts). */
export const LOW_BATTERY_PERCENT = 20;

export type FleetState = 'online' | 'offline' | 'never-seen' | 'revoked';

export interface FleetDeviceRow {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  firmware: string | null;
  battery: number | null;
  lastSeen: number | null;
  revoked: boolean;
  assigned: boolean;
}

export interface FleetDevice {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  firmware: string | null;
  battery: number | null;
  lowBattery: boolean;
  lastSeen: string | null;
  expectedIntervalMinutes: number;
  silentMinutes: number | null;
  state: FleetState;
  assigned: boolean;
}

export interface Fleet {
  totals: Record<FleetState | 'devices' | 'lowBattery' | 'unassigned', number>;
  firmware: Array<{ kind: string; model: string | null; firmware: string | null; devices: number }>;
  devices: FleetDevice[];
}

export function classifyDevice(d: FleetDeviceRow, now: number): FleetDevice {
  const interval = expectedIntervalMinutes[d.kind] ?? 1440;
  const silent = d.lastSeen === null ? null : Math.max(0, Math.floor((now - d.lastSeen) / 60_000));
  const state: FleetState = d.revoked
    ? 'revoked'
    : silent === null
      ? 'never-seen'
      : silent <= interval * OFFLINE_AFTER_INTERVALS
        ? 'online'
        : 'offline';
  return {
    id: d.id,
    kind: d.kind,
    manufacturer: d.manufacturer,
    model: d.model,
    firmware: d.firmware,
    battery: d.battery,
    lowBattery: d.battery !== null && d.battery < LOW_BATTERY_PERCENT && !d.revoked,
    lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen).toISOString(),
    expectedIntervalMinutes: interval,
    silentMinutes: silent,
    state,
    assigned: d.assigned,
  };
}

export function fleetOf(rows: readonly FleetDeviceRow[], now: number): Fleet {
  const devices = rows.map((r) => classifyDevice(r, now));
  const totals: Fleet['totals'] = {
    devices: devices.length,
    online: 0,
    offline: 0,
    'never-seen': 0,
    revoked: 0,
    lowBattery: 0,
    unassigned: 0,
  };
  const fw = new Map<string, Fleet['firmware'][number]>();
  for (const d of devices) {
    totals[d.state]++;
    if (d.lowBattery) totals.lowBattery++;
    if (!d.assigned && d.state !== 'revoked') totals.unassigned++;
    const key = JSON.stringify([d.kind, d.model, d.firmware]);
    const f = fw.get(key) ?? { kind: d.kind, model: d.model, firmware: d.firmware, devices: 0 };
    f.devices++;
    fw.set(key, f);
  }
  const firmware = [...fw.values()].sort(
    (a, b) =>
      a.kind.localeCompare(b.kind) ||
      String(a.model).localeCompare(String(b.model)) ||
      String(a.firmware).localeCompare(String(b.firmware)),
  );
  return { totals, firmware, devices };
}
