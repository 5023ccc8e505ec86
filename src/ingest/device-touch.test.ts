import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceTouchThrottle } from './device-touch.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('DeviceTouchThrottle', () => {
  it('writes a device the first time, then last_seen only after the interval', () => {
    const t = new DeviceTouchThrottle(5_000);
    assert.deepEqual(
      t.select([{ id: 'a', lastSeen: at(0) }]).map((x) => x.id),
      ['a'],
    );
    assert.deepEqual(t.select([{ id: 'a', lastSeen: at(3) }]), []);
    assert.deepEqual(
      t.select([{ id: 'a', lastSeen: at(5) }]).map((x) => x.lastSeen),
      [at(5)],
    );
  });

  it('always writes a changed battery, clock offset or firmware', () => {
    const t = new DeviceTouchThrottle(5_000);
    t.select([{ id: 'a', lastSeen: at(0), battery: 80 }]);
    assert.equal(t.select([{ id: 'a', lastSeen: at(1), battery: 80 }]).length, 0);
    assert.equal(t.select([{ id: 'a', lastSeen: at(1), battery: 79 }]).length, 1);
    assert.equal(t.select([{ id: 'a', lastSeen: at(2), firmware: '1.2' }]).length, 1);
    assert.equal(t.select([{ id: 'a', lastSeen: at(2), clockOffsetSeconds: 3 }]).length, 1);
  });

  it('returns updates sorted by device id (one lock order for concurrent commits)', () => {
    const t = new DeviceTouchThrottle();
    const ids = t.select(['c', 'a', 'b'].map((id) => ({ id, lastSeen: at(0) }))).map((x) => x.id);
    assert.deepEqual(ids, ['a', 'b', 'c']);
  });
});
