import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import type { Alert } from './alert.ts';
import { activeSources, afterCleared } from './alert-sources.ts';
import { raiseAlert, transition } from './alert-state.ts';

const t0 = Date.parse('2026-03-01T10:00:00Z');
const system = { kind: 'system', id: 'vigil' } as const;

const vigil = (over: Partial<Detection> = {}): Detection => ({
  patientId: 'p1',
  conditionKey: 'threshold:8867-4:high',
  rule: 'threshold',
  state: 'firing',
  severity: 'high',
  at: '2026-03-01T09:59:50Z',
  summary: 'Heart rate 160 /min > 150 /min',
  evidence: ['obs-vigil'],
  data: { value: 160 },
  ...over,
});
const device = (over: Partial<Detection> = {}): Detection => ({
  patientId: 'p1',
  conditionKey: 'threshold:8867-4:high',
  rule: 'device-alarm',
  state: 'firing',
  severity: 'medium',
  at: '2026-03-01T09:59:55Z',
  summary: 'Device alarm (physiological, medium priority): HR high',
  evidence: ['obs-device'],
  deviceId: 'monitor-1',
  data: { deviceAlarm: { priority: 'PM', phase: 'start' } },
  ...over,
});
const fire = (a: Alert, d: Detection, dt = 1000) =>
  transition(a, { type: 'detection', detection: d }, system, t0 + dt);

describe('alerts with two sources (Vigil and a device alarm)', () => {
  it('a device alarm joining Vigil’s alert: one alert, both sources and both readings, no second page', () => {
    const a = raiseAlert(vigil(), t0).alert;
    assert.deepEqual(activeSources(a), ['vigil']);
    const joined = fire(a, device());
    assert.equal(joined.alert.id, a.id);
    assert.deepEqual(joined.alert.evidence, ['obs-vigil', 'obs-device']);
    assert.deepEqual(joined.alert.data.sources, ['vigil', 'device-alarm']);
    assert.deepEqual(joined.alert.data.activeSources, ['vigil', 'device-alarm']);
    assert.equal(joined.alert.severity, 'high', 'the higher of the two sources, not the device’s medium');
    assert.equal(joined.alert.data.value, 160, 'Vigil’s figures kept');
    assert.deepEqual(joined.alert.data.deviceAlarm, { priority: 'PM', phase: 'start' });
    assert.equal(joined.notify, null, 'the device joining does not page again');
  });

  it('a device alarm of higher priority than Vigil’s severity worsens the alert (pages)', () => {
    const a = raiseAlert(vigil({ severity: 'medium' }), t0).alert;
    const w = fire(a, device({ severity: 'high' }));
    assert.equal(w.alert.severity, 'high');
    assert.equal(w.notify, 'worsened');
  });

  it('the device’s end leaves the alert to Vigil (severity back to Vigil’s); Vigil’s clear then resolves', () => {
    const a = fire(raiseAlert(vigil({ severity: 'medium' }), t0).alert, device({ severity: 'high' })).alert;
    const end = device({ state: 'cleared', data: { deviceAlarm: { priority: 'PH', phase: 'end' } } });
    const after = afterCleared(a, end);
    assert.equal(after.kind, 'update');
    const tr = transition(a, { type: 'source-cleared', detection: end }, system, t0 + 2000);
    assert.equal(tr.alert.state, 'open');
    assert.deepEqual(tr.alert.data.activeSources, ['vigil']);
    assert.equal(tr.alert.severity, 'medium');
    assert.equal(tr.notify, null);
    assert.deepEqual(tr.alert.data.deviceAlarm, { priority: 'PH', phase: 'end' });
    assert.equal(afterCleared(tr.alert, vigil({ state: 'cleared' })).kind, 'resolve');
  });

  it('Vigil’s clear leaves an alert the device still holds open', () => {
    const a = fire(raiseAlert(vigil(), t0).alert, device()).alert;
    const r = afterCleared(a, vigil({ state: 'cleared' }));
    assert.equal(r.kind, 'update');
    if (r.kind === 'update') assert.deepEqual(r.remaining, ['device-alarm']);
  });

  it('a device’s end for an alert it never held is ignored; a one-source alert resolves as before', () => {
    const a = raiseAlert(vigil(), t0).alert;
    assert.equal(afterCleared(a, device({ state: 'cleared' })).kind, 'ignore');
    assert.equal(afterCleared(a, vigil({ state: 'cleared' })).kind, 'resolve');
    const d = raiseAlert(device(), t0).alert;
    assert.deepEqual(d.data.activeSources, ['device-alarm']);
    assert.equal(afterCleared(d, device({ state: 'cleared' })).kind, 'resolve');
  });

  it('a device’s continue on its own alert records the report without re-paging; Vigil’s repeat still reminds', () => {
    const d = raiseAlert(device(), t0).alert;
    const cont = fire(d, device({ data: { deviceAlarm: { priority: 'PM', phase: 'continue' } } }));
    assert.equal(cont.event?.type, 'updated');
    assert.equal(cont.notify, null);
    const v = raiseAlert(vigil(), t0).alert;
    assert.equal(fire(v, vigil()).notify, 'repeat', 'unchanged behaviour of a one-source alert');
  });
});
