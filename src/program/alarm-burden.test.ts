import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BurdenAlert,
  burdenOf,
  floodIncidents,
  nonActionable,
  percentile,
  topShare,
} from './alarm-burden.ts';

const T0 = Date.parse('2026-03-01T08:00:00Z');
let n = 0;
const alert = (p: Partial<BurdenAlert> = {}): BurdenAlert => ({
  id: `a-${String(++n).padStart(3, '0')}`,
  patientId: 'p1',
  rule: 'gap',
  severity: 'low',
  deviceId: null,
  deviceKind: null,
  gatewayId: null,
  unitId: 'icu',
  careTeamIds: [],
  createdAt: T0,
  firstAcknowledgedAt: null,
  resolvedAt: null,
  resolution: null,
  ...p,
});

describe('alarm burden', () => {
  it('groups a burst of one rule behind one gateway over 3 patients into one incident', () => {
    const burst = ['p1', 'p2', 'p3'].map((p, i) =>
      alert({ patientId: p, gatewayId: 'gw-1', createdAt: T0 + i * 60_000 }),
    );
    const incidents = floodIncidents(burst, { windowMs: 5 * 60_000, minPatients: 3 });
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]?.patients, 3);
    assert.equal(incidents[0]?.gatewayId, 'gw-1');
    // two patients are not a flood
    assert.deepEqual(floodIncidents(burst.slice(0, 2), { windowMs: 5 * 60_000, minPatients: 3 }), []);
  });

  it('the burst window is inclusive at its end and starts afresh after it', () => {
    const at = (ms: number, p: string) => alert({ patientId: p, createdAt: T0 + ms });
    const inside = [at(0, 'p1'), at(1000, 'p2'), at(300_000, 'p3')];
    assert.equal(floodIncidents(inside, { windowMs: 300_000, minPatients: 3 }).length, 1);
    const outside = [at(0, 'p1'), at(1000, 'p2'), at(300_001, 'p3')];
    assert.equal(floodIncidents(outside, { windowMs: 300_000, minPatients: 3 }).length, 0);
  });

  it('different rules, gateways or units are different causes; no place, no grouping', () => {
    const mixed = [
      alert({ patientId: 'p1', rule: 'gap' }),
      alert({ patientId: 'p2', rule: 'threshold' }),
      alert({ patientId: 'p3', rule: 'gap', unitId: 'ward-2' }),
    ];
    assert.deepEqual(floodIncidents(mixed, { windowMs: 300_000, minPatients: 2 }), []);
    const nowhere = ['p1', 'p2', 'p3'].map((p) => alert({ patientId: p, unitId: null }));
    assert.deepEqual(floodIncidents(nowhere, { windowMs: 300_000, minPatients: 2 }), []);
    // the same patient three times is not three patients
    const one = [0, 1, 2].map((i) => alert({ patientId: 'p1', createdAt: T0 + i }));
    assert.deepEqual(floodIncidents(one, { windowMs: 300_000, minPatients: 2 }), []);
  });

  it('top 10 %: ⌈10 % of members⌉, their share of alarms, ties by id', () => {
    const counts = new Map<string, number>([
      ...Array.from({ length: 19 }, (_, i) => [`p${String(i).padStart(2, '0')}`, 1] as [string, number]),
      ['loud', 21],
    ]);
    const t = topShare(counts);
    assert.equal(t.of, 20);
    assert.equal(t.members, 2);
    assert.deepEqual(
      t.top.map((x) => x.id),
      ['loud', 'p00'],
    );
    assert.equal(t.alerts, 22);
    assert.equal(t.share, 0.55);
    assert.equal(topShare(new Map([['x', 3]])).members, 1);
    assert.equal(topShare(new Map()).share, null);
  });

  it('time to acknowledge, non-actionable rate and flood-grouped counts per group', () => {
    const list = [
      alert({ firstAcknowledgedAt: T0 + 60_000, resolvedAt: T0 + 120_000, resolution: 'manual' }),
      alert({ patientId: 'p2', resolvedAt: T0 + 60_000, resolution: 'automatic' }), // cleared by itself
      alert({
        patientId: 'p3',
        firstAcknowledgedAt: T0 + 300_000,
        resolvedAt: T0 + 400_000,
        resolution: 'automatic',
      }),
      alert({ patientId: 'p4', rule: 'threshold', deviceId: 'mon-1', deviceKind: 'bedside-monitor' }),
    ];
    assert.equal(nonActionable(list[1] as BurdenAlert), true);
    assert.equal(nonActionable(list[2] as BurdenAlert), false); // acknowledged first: someone acted
    const incidents = floodIncidents(list, { windowMs: 60_000, minPatients: 3 });
    assert.equal(incidents.length, 1); // the three gap alerts
    const g = burdenOf('icu', 'ICU', list, 8, incidents);
    assert.equal(g.alerts, 4);
    assert.equal(g.alertsPerBedDay, 0.5);
    assert.equal(g.afterFloodGrouping, 2);
    assert.equal(g.incidents, 1);
    assert.deepEqual(g.byRule[0], { rule: 'gap', alerts: 3, perBedDay: 0.375 });
    assert.deepEqual(g.byDevice, [
      { deviceId: 'mon-1', kind: 'bedside-monitor', alerts: 1, perBedDay: 0.125 },
    ]);
    assert.equal(g.ackP50Seconds, 60);
    assert.equal(g.ackP90Seconds, 300);
    assert.equal(g.resolved, 3);
    assert.equal(g.nonActionable, 1);
    assert.equal(g.nonActionableRate, 0.333);
    assert.equal(burdenOf('x', null, [], 0, []).alertsPerBedDay, null);
  });

  it('percentile is nearest-rank', () => {
    assert.equal(percentile([10, 20, 30, 40], 0.5), 20);
    assert.equal(percentile([10, 20, 30, 40], 0.9), 40);
    assert.equal(percentile([], 0.5), null);
  });
});
