import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import type { VigilError } from '../core/errors.ts';
import type { Actor, Alert } from './alert.ts';
import { type AlertAction, raiseAlert, transition } from './alert-state.ts';

const t0 = Date.parse('2026-03-01T10:00:00Z');
const nurse: Actor = { kind: 'user', id: 'u-nurse' };
const doctor: Actor = { kind: 'user', id: 'u-doc' };
const system: Actor = { kind: 'system', id: 'vigil' };

function detection(over: Partial<Detection> = {}): Detection {
  return {
    patientId: 'p1',
    conditionKey: 'threshold:59408-5:low',
    rule: 'threshold',
    state: 'firing',
    severity: 'medium',
    at: '2026-03-01T09:59:50Z',
    summary: 'SpO2 87 % below 88 %',
    evidence: ['obs-1'],
    ...over,
  };
}

function open(): Alert {
  return raiseAlert(detection(), t0).alert;
}

function apply(a: Alert, action: AlertAction, actor: Actor = nurse, dt = 1000) {
  return transition(a, action, actor, t0 + dt);
}

function code(fn: () => unknown): { code: string; status: number; details: unknown } {
  try {
    fn();
  } catch (e) {
    const v = e as VigilError;
    return { code: v.code, status: v.status, details: v.details };
  }
  assert.fail('expected an error');
}

describe('alert state machine', () => {
  it('raises an open alert with evidence and a raised event that notifies', () => {
    const r = raiseAlert(detection(), t0);
    assert.equal(r.alert.state, 'open');
    assert.deepEqual(r.alert.evidence, ['obs-1']);
    assert.equal(r.event?.type, 'raised');
    assert.equal(r.notify, 'raised');
  });

  it('open → acknowledged records who and when; a second acknowledge by the same user is harmless', () => {
    const r = apply(open(), { type: 'acknowledge', note: 'on my way' });
    assert.equal(r.alert.state, 'acknowledged');
    assert.equal(r.alert.acknowledgedBy, 'u-nurse');
    assert.equal(r.event?.note, 'on my way');
    assert.equal(r.event?.fromState, 'open');
    assert.equal(r.alert.version, 2);
    const again = apply(r.alert, { type: 'acknowledge' }, nurse, 2000);
    assert.equal(again.event, null);
    assert.equal(again.alert, r.alert);
  });

  it('acknowledge by another user after one already did is 409 naming the winner', () => {
    const r = apply(open(), { type: 'acknowledge' });
    const e = code(() => apply(r.alert, { type: 'acknowledge' }, doctor));
    assert.equal(e.code, 'VIGIL_ERR_ALERT_ALREADY_ACKNOWLEDGED');
    assert.equal(e.status, 409);
    assert.deepEqual((e.details as { acknowledgedBy: string }).acknowledgedBy, 'u-nurse');
  });

  it('snooze sets the end time; snooze-end returns to the resting state and notifies', () => {
    const s = apply(open(), { type: 'snooze', minutes: 30 });
    assert.equal(s.alert.state, 'snoozed');
    assert.equal(s.alert.snoozedUntil, new Date(t0 + 1000 + 30 * 60_000).toISOString());
    const early = transition(s.alert, { type: 'snooze-end' }, system, t0 + 10 * 60_000);
    assert.equal(early.event, null, 'a snooze holds until its end');
    const end = transition(s.alert, { type: 'snooze-end' }, system, t0 + 31 * 60_000 + 1000);
    assert.equal(end.alert.state, 'open');
    assert.equal(end.notify, 'snooze-ended');
  });

  it('rejects snooze minutes out of range with 400', () => {
    assert.equal(code(() => apply(open(), { type: 'snooze', minutes: 0 })).status, 400);
    assert.equal(
      code(() => apply(open(), { type: 'snooze', minutes: 1.5 })).code,
      'VIGIL_ERR_ALERT_SNOOZE_INVALID',
    );
  });

  it('unsnooze (anyone on the team) returns acknowledged alerts to acknowledged; unsnooze of a non-snoozed is 409', () => {
    const acked = apply(open(), { type: 'acknowledge' }).alert;
    const s = apply(acked, { type: 'snooze', minutes: 10 }, nurse, 2000).alert;
    const u = apply(s, { type: 'unsnooze' }, doctor, 3000);
    assert.equal(u.alert.state, 'acknowledged');
    assert.equal(u.event?.actor.id, 'u-doc');
    const e = code(() => apply(u.alert, { type: 'unsnooze' }, doctor, 4000));
    assert.equal(e.code, 'VIGIL_ERR_ALERT_NOT_SNOOZED');
    assert.equal(e.status, 409);
  });

  it('a same-severity detection while snoozed updates evidence without notifying', () => {
    const s = apply(open(), { type: 'snooze', minutes: 30 }).alert;
    const u = apply(s, { type: 'detection', detection: detection({ evidence: ['obs-2'] }) }, system, 5000);
    assert.equal(u.alert.state, 'snoozed');
    assert.deepEqual(u.alert.evidence, ['obs-1', 'obs-2']);
    assert.equal(u.notify, null);
    assert.equal(u.event?.type, 'updated');
  });

  it('a worse detection while snoozed notifies, ends the snooze and needs a new acknowledgement', () => {
    const acked = apply(open(), { type: 'acknowledge' }).alert;
    const s = apply(acked, { type: 'snooze', minutes: 30 }, nurse, 2000).alert;
    const w = apply(
      s,
      { type: 'detection', detection: detection({ severity: 'critical', evidence: ['obs-3'] }) },
      system,
      5000,
    );
    assert.equal(w.notify, 'worsened');
    assert.equal(w.alert.state, 'open');
    assert.equal(w.alert.severity, 'critical');
    assert.equal(w.alert.acknowledgedAt, null);
    assert.equal(w.alert.snoozedUntil, null);
    assert.equal(w.event?.type, 'worsened');
  });

  it('a lower severity updates without notifying an acknowledged alert', () => {
    const acked = apply(open(), { type: 'acknowledge' }).alert;
    const u = apply(acked, { type: 'detection', detection: detection({ severity: 'low' }) }, system, 5000);
    assert.equal(u.alert.severity, 'low');
    assert.equal(u.notify, null);
    assert.equal(u.alert.state, 'acknowledged');
  });

  it('a lower severity of an unacknowledged alert updates it without a reminder', () => {
    const u = apply(open(), { type: 'detection', detection: detection({ severity: 'low' }) }, system, 5000);
    assert.equal(u.alert.severity, 'low');
    assert.equal(u.event?.type, 'updated');
    assert.equal(u.notify, null);
    const same = apply(
      u.alert,
      { type: 'detection', detection: detection({ severity: 'low' }) },
      system,
      6000,
    );
    assert.equal(same.notify, 'repeat');
  });

  it('timer escalation moves an unacknowledged alert up a tier and repeats the last tier', () => {
    const e1 = apply(open(), { type: 'escalate', maxTier: 1 }, system);
    assert.equal(e1.alert.state, 'escalated');
    assert.equal(e1.alert.escalationTier, 1);
    assert.equal(e1.notify, 'escalated');
    const e2 = apply(e1.alert, { type: 'escalate', maxTier: 1 }, system, 2000);
    assert.equal(e2.alert.escalationTier, 1);
    assert.equal(e2.notify, 'repeat');
    assert.equal(e2.alert.escalationCount, 2);
  });

  it('the timer does not escalate an acknowledged or snoozed alert; a person may', () => {
    const acked = apply(open(), { type: 'acknowledge' }).alert;
    assert.equal(apply(acked, { type: 'escalate' }, system, 2000).event, null);
    const snoozed = apply(open(), { type: 'snooze', minutes: 5 }).alert;
    assert.equal(apply(snoozed, { type: 'escalate' }, system, 2000).event, null);
    const manual = apply(acked, { type: 'escalate', note: 'needs a doctor' }, nurse, 2000);
    assert.equal(manual.alert.state, 'escalated');
    assert.equal(manual.alert.acknowledgedAt, null);
    assert.equal(manual.alert.firstAcknowledgedAt, acked.firstAcknowledgedAt);
  });

  it('assign records the assignee; the same assignment twice is harmless', () => {
    const a = apply(open(), { type: 'assign', userId: 'u-doc' });
    assert.equal(a.alert.assignedTo, 'u-doc');
    assert.equal(a.alert.state, 'open');
    assert.equal(apply(a.alert, { type: 'assign', userId: 'u-doc' }, nurse, 2000).event, null);
  });

  it('resolve manually or automatically, recorded as such; every action on a resolved alert is 409', () => {
    const m = apply(open(), { type: 'resolve', note: 'sensor off' });
    assert.equal(m.alert.state, 'resolved');
    assert.equal(m.alert.resolution, 'manual');
    const auto = apply(open(), { type: 'resolve', automatic: true }, system);
    assert.equal(auto.alert.resolution, 'automatic');
    const actions: AlertAction[] = [
      { type: 'acknowledge' },
      { type: 'snooze', minutes: 5 },
      { type: 'unsnooze' },
      { type: 'escalate' },
      { type: 'assign', userId: 'x' },
    ];
    for (const action of actions) {
      const e = code(() => apply(m.alert, action, doctor, 5000));
      assert.equal(e.status, 409, action.type);
      assert.equal(e.code, 'VIGIL_ERR_ALERT_RESOLVED');
    }
    assert.equal(
      code(() => apply(m.alert, { type: 'resolve' }, doctor, 5000)).code,
      'VIGIL_ERR_ALERT_ALREADY_RESOLVED',
    );
    assert.equal(apply(m.alert, { type: 'escalate' }, system, 5000).event, null, 'a late timer is harmless');
  });
});
