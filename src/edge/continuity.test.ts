import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContinuityClassifier } from './continuity.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();

describe('ContinuityClassifier', () => {
  it('a dense stream is continuous after its first reading; a spot reading after a pause is kept', () => {
    const c = new ContinuityClassifier(60);
    const r = (deviceId: string, code: string, s: number) => c.classify({ deviceId, code, effective: at(s) });
    assert.equal(r('oxi', 'spo2', 0), 'keep');
    assert.equal(r('oxi', 'spo2', 1), 'continuous');
    assert.equal(r('oxi', 'spo2', 2), 'continuous');
    assert.equal(r('oxi', 'hr', 2), 'keep'); // another code of the same device is its own stream
    assert.equal(r('cuff', 'spo2', 2), 'keep'); // another device too
    assert.equal(r('oxi', 'spo2', 62), 'keep'); // 60 s after the previous: not within the window
    assert.equal(r('oxi', 'spo2', 121), 'continuous');
  });

  it('a late reading (older than the last) of a dense stream is continuous and does not move the clock back', () => {
    const c = new ContinuityClassifier(60);
    c.classify({ deviceId: 'd', code: 'x', effective: at(100) });
    assert.equal(c.classify({ deviceId: 'd', code: 'x', effective: at(90) }), 'continuous');
    assert.equal(c.classify({ deviceId: 'd', code: 'x', effective: at(159) }), 'continuous');
  });
});
