import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../core/clock.ts';
import {
  emptyState,
  type ObserveResult,
  observe,
  type SmoothingSettings,
  type SmoothingState,
  stateFromJson,
} from './rtls-smoothing.ts';

const settings: SmoothingSettings = { minSightings: 3, dwellMs: 30_000, marginDb: 5, windowMs: 10_000 };

/** Sightings on event time from a fake clock advanced by hand (never the wall clock). */
function feeder(s: SmoothingSettings = settings) {
  const clock = new FakeClock('2026-03-01T08:00:00Z');
  let state: SmoothingState = emptyState();
  const results: ObserveResult[] = [];
  return {
    clock,
    see(zoneId: string, rssi: number | null, advanceMs = 1000) {
      clock.advance(advanceMs);
      const r = observe(state, { zoneId, rssi, at: clock.now() }, s);
      state = r.state;
      results.push(r);
      return r;
    },
    get state() {
      return state;
    },
  };
}

describe('RTLS zone smoothing', () => {
  it('takes the first zone a tag is heard in at once', () => {
    const f = feeder();
    const r = f.see('room-1', -70);
    assert.equal(r.kind, 'moved');
    assert.equal(f.state.zoneId, 'room-1');
    assert.equal(f.state.zoneSince, f.clock.now());
  });

  it('moves on the minSightings-th win in a row, not before', () => {
    const f = feeder({ ...settings, dwellMs: 0, windowMs: 500 });
    f.see('room-1', -70);
    assert.equal(f.see('room-2', -60).kind, 'held');
    assert.equal(f.see('room-2', -60).kind, 'held'); // 2 of 3
    assert.equal(f.state.zoneId, 'room-1');
    assert.equal(f.state.candidateWins, 2);
    const r = f.see('room-2', -60);
    assert.equal(r.kind, 'moved');
    assert.equal(f.state.zoneId, 'room-2');
    if (r.kind === 'moved') assert.equal(r.from, 'room-1');
  });

  it('a round won by the current zone resets the challenger (no flapping)', () => {
    const f = feeder({ ...settings, dwellMs: 0, windowMs: 500 });
    f.see('room-1', -70);
    for (let i = 0; i < 10; i++) {
      f.see('room-2', -60);
      f.see('room-2', -60);
      f.see('room-1', -70); // the current zone wins this round: back to 0
    }
    assert.equal(f.state.zoneId, 'room-1');
    assert.equal(f.state.candidateWins, 0);
  });

  it('moves once a challenger has kept winning for the dwell time, not 1 ms earlier', () => {
    const f = feeder({ ...settings, minSightings: 0, dwellMs: 30_000, windowMs: 100 });
    f.see('room-1', -70);
    f.see('room-2', -60, 1000); // challenger from here
    assert.equal(f.see('room-2', -60, 29_999).kind, 'held'); // 29.999 s
    assert.equal(f.state.zoneId, 'room-1');
    assert.equal(f.see('room-2', -60, 1).kind, 'moved'); // 30 s exactly
    assert.equal(f.state.zoneId, 'room-2');
  });

  it('a challenger must be heard marginDb stronger than the current zone within the window', () => {
    const f = feeder({ ...settings, minSightings: 1, dwellMs: 0, windowMs: 10_000 });
    f.see('room-1', -70);
    // 4.9 dB stronger, the current zone still in the window: the current zone wins the round
    assert.equal(f.see('room-2', -65.1).kind, 'held');
    assert.equal(f.state.zoneId, 'room-1');
    assert.equal(f.state.candidateId, null);
    // exactly 5 dB stronger: the challenger wins (minSightings 1: it moves)
    assert.equal(f.see('room-2', -65).kind, 'moved');
    assert.equal(f.state.zoneId, 'room-2');
  });

  it('a sighting exactly windowMs old no longer counts in the round', () => {
    const f = feeder({ ...settings, minSightings: 1, dwellMs: 0, windowMs: 10_000 });
    f.see('room-1', -50);
    // 9.999 s later the strong room-1 sighting still counts: a weaker room-2 does not win
    assert.equal(f.see('room-2', -80, 9_999).kind, 'held');
    assert.equal(f.state.zoneId, 'room-1');
    const g = feeder({ ...settings, minSightings: 1, dwellMs: 0, windowMs: 10_000 });
    g.see('room-1', -50);
    // 10 s later it has left the window: room-2 is the only zone heard and wins
    assert.equal(g.see('room-2', -80, 10_000).kind, 'moved');
  });

  it('a sighting older than the last one is stale and changes nothing', () => {
    const f = feeder();
    f.see('room-1', -70);
    const before = f.state;
    const r = observe(
      before,
      { zoneId: 'room-2', rssi: -40, at: (before.lastSeenAt as number) - 1 },
      settings,
    );
    assert.equal(r.kind, 'stale');
    assert.deepEqual(r.state, before);
  });

  it('a vendor position (no RSSI) outweighs a BLE sighting', () => {
    const f = feeder({ ...settings, minSightings: 1, dwellMs: 0 });
    f.see('room-1', -40);
    assert.equal(f.see('room-2', null).kind, 'moved');
  });

  it('the stored form reads back; garbage starts afresh', () => {
    const f = feeder();
    f.see('room-1', -70);
    f.see('room-2', -50);
    assert.deepEqual(stateFromJson(JSON.parse(JSON.stringify(f.state))), f.state);
    assert.deepEqual(stateFromJson('nonsense'), emptyState());
    assert.deepEqual(stateFromJson({ recent: [{ zoneId: 3 }], zoneId: 7 }).recent, []);
  });
});
