import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { validateFhir } from '../../test/support/fhir-validator.ts';
import { raiseAlert, transition } from './alert-state.ts';
import { alertAsFlag, notificationAsCommunication } from './fhir.ts';
import { type Notification, notifiedAlert } from './notifier.ts';

const t0 = Date.parse('2026-03-01T10:00:00Z');
const alert = raiseAlert(
  {
    patientId: 'p1',
    conditionKey: 'news2',
    rule: 'news2',
    state: 'firing',
    severity: 'high',
    at: '2026-03-01T09:59:00Z',
    summary: 'NEWS2 7',
    evidence: ['0190a0b0-0000-7000-8000-000000000001'],
  },
  t0,
).alert;

describe('alerts as FHIR', () => {
  it('an alert is a valid Flag, active until resolved', () => {
    const flag = alertAsFlag(alert);
    assert.deepEqual(validateFhir(flag as unknown as Resource), []);
    assert.equal(flag.status, 'active');
    assert.equal(flag.subject.reference, 'Patient/p1');
    const resolved = alertAsFlag(
      transition(alert, { type: 'resolve' }, { kind: 'user', id: 'u' }, t0 + 60_000).alert,
    );
    assert.equal(resolved.status, 'inactive');
    assert.equal(resolved.period.end, '2026-03-01T10:01:00.000Z');
  });

  it('a notification is a valid Communication about the Flag', () => {
    const n: Notification = {
      id: '0190a0b0-0000-7000-8000-000000000002',
      type: 'alert.notification',
      reason: 'escalated',
      createdAt: '2026-03-01T10:15:00.000Z',
      tier: 1,
      tierName: 'clinician',
      recipients: [{ practitioner: 'Practitioner/doc-1', role: 'clinician' }],
      alert: notifiedAlert(alert),
    };
    const c = notificationAsCommunication(n);
    assert.deepEqual(validateFhir(c as unknown as Resource), []);
    assert.equal(c.about[0]?.reference, `Flag/${alert.id}`);
    assert.equal(c.priority, 'asap');
    assert.equal(c.status, 'in-progress');
  });
});
