import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyDevice, type FleetDeviceRow, fleetOf } from './fleet.ts';

const now = Date.parse('2026-10-15T12:00:00Z');
const row = (over: Partial<FleetDeviceRow>): FleetDeviceRow => ({
  id: 'd1',
  kind: 'cgm',
  manufacturer: null,
  model: null,
  firmware: '1.0',
  battery: null,
  lastSeen: now,
  revoked: false,
  assigned: true,
  ...over,
});

describe('fleet health', () => {
  it('a CGM (5-min cadence) is online for two intervals, offline after', () => {
    assert.equal(classifyDevice(row({ lastSeen: now - 10 * 60_000 }), now).state, 'online');
    assert.equal(classifyDevice(row({ lastSeen: now - 11 * 60_000 }), now).state, 'offline');
  });
  it('a scale (daily) silent 30 h is online, 49 h offline', () => {
    assert.equal(classifyDevice(row({ kind: 'scale', lastSeen: now - 30 * 3_600_000 }), now).state, 'online');
    assert.equal(
      classifyDevice(row({ kind: 'scale', lastSeen: now - 49 * 3_600_000 }), now).state,
      'offline',
    );
  });
  it('never seen, revoked, low battery below 20 %', () => {
    assert.equal(classifyDevice(row({ lastSeen: null }), now).state, 'never-seen');
    assert.equal(classifyDevice(row({ revoked: true }), now).state, 'revoked');
    assert.equal(classifyDevice(row({ battery: 19 }), now).lowBattery, true);
    assert.equal(classifyDevice(row({ battery: 20 }), now).lowBattery, false);
  });
  it('totals and firmware groups', () => {
    const f = fleetOf(
      [
        row({ id: 'a', firmware: '1.0' }),
        row({ id: 'b', firmware: '1.0', assigned: false }),
        row({ id: 'c', firmware: '2.0', revoked: true, assigned: false }),
      ],
      now,
    );
    assert.equal(f.totals.devices, 3);
    assert.equal(f.totals.unassigned, 1, 'a revoked device is not counted as unassigned');
    assert.deepEqual(
      f.firmware.map((x) => `${x.firmware}:${x.devices}`),
      ['1.0:2', '2.0:1'],
    );
  });
});
