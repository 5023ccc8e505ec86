import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADHERENCE_DEVICE_EXTENSION,
  adherenceRequest,
  asMedicationAdministration,
  asMedicationStatement,
  computeAdherence,
  type MedicationEvent,
  requestFor,
} from './medication-adherence.ts';

const controller = adherenceRequest({
  resourceType: 'MedicationRequest',
  id: 'mr-controller',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: { text: 'fluticasone 250 mcg inhaler' },
  dosageInstruction: [{ timing: { repeat: { timeOfDay: ['08:00:00', '20:00:00'] } } }],
  dispenseRequest: { validityPeriod: { start: '2026-12-01T00:00:00Z' } },
});
const rescue = adherenceRequest({
  resourceType: 'MedicationRequest',
  id: 'mr-rescue',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: { text: 'salbutamol 100 mcg inhaler' },
  dosageInstruction: [{ asNeededBoolean: true }],
  extension: [{ url: ADHERENCE_DEVICE_EXTENSION, valueReference: { reference: 'Device/inh-blue' } }],
});
const pills = adherenceRequest({
  resourceType: 'MedicationRequest',
  id: 'mr-pills',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p2' },
  medicationCodeableConcept: { text: 'metformin' },
  dosageInstruction: [{ timing: { repeat: { frequency: 2, period: 1, periodUnit: 'd' } } }],
  authoredOn: '2026-12-01T00:00:00Z',
});

const ev = (
  id: string,
  code: string,
  effective: string,
  deviceId = 'inh-brown',
  patientId = 'p1',
  value = 1,
) => ({ id, patientId, deviceId, code, value, effective }) satisfies MedicationEvent;

describe('medication adherence', () => {
  it('reads schedule, rescue and device link from MedicationRequests', () => {
    assert.deepEqual(controller?.timesOfDay, ['08:00', '20:00']);
    assert.equal(controller?.rescue, false);
    assert.equal(rescue?.rescue, true);
    assert.deepEqual(rescue?.deviceIds, ['inh-blue']);
    assert.equal(pills?.perDay, 2);
    assert.equal(adherenceRequest({ id: 'x', subject: { reference: 'Group/g' } }), undefined);
  });

  it('matches an event to the request naming its device, else the one request of its kind', () => {
    const reqs = [controller, rescue].filter((r) => r !== undefined);
    assert.equal(
      requestFor(ev('1', 'vigil-inhaler-rescue', '2026-12-01T10:00:00Z', 'inh-blue'), reqs)?.id,
      'mr-rescue',
    );
    assert.equal(
      requestFor(ev('2', 'vigil-inhaler-controller', '2026-12-01T08:05:00Z'), reqs)?.id,
      'mr-controller',
    );
    // A rescue event from a device no request names, while the only rescue request names another device.
    assert.equal(
      requestFor(ev('3', 'vigil-inhaler-rescue', '2026-12-01T10:00:00Z', 'inh-other'), reqs),
      undefined,
    );
    assert.equal(
      requestFor(ev('4', 'vigil-inhaler-controller', '2026-12-01T08:05:00Z', 'x', 'p9'), reqs),
      undefined,
    );
  });

  it('scores scheduled doses on time, late, missed and pending', () => {
    const reqs = [controller, rescue].filter((r) => r !== undefined);
    const events = [
      ev('a', 'vigil-inhaler-controller', '2026-12-01T08:20:00Z'), // on time (±60 min)
      ev('b', 'vigil-inhaler-controller', '2026-12-01T22:30:00Z'), // late for 20:00
      // 2 Dec 08:00 missed (nothing until 20:00's window)
      ev('c', 'vigil-inhaler-controller', '2026-12-02T19:10:00Z'), // on time for 20:00
    ];
    const [c] = computeAdherence(reqs, events, {
      from: Date.parse('2026-12-01T00:00:00Z'),
      to: Date.parse('2026-12-03T08:30:00Z'),
    });
    assert.ok(c);
    assert.deepEqual(
      c.doses.map((d) => d.status),
      ['on-time', 'late', 'missed', 'on-time', 'pending'],
    );
    assert.equal(c.dosesDue, 5);
    assert.equal(c.takenOnTime, 2);
    assert.equal(c.takenLate, 1);
    assert.equal(c.missed, 1);
    assert.equal(c.onTimeRate, 0.5);
  });

  it('a wider on-time window and a local offset change the verdicts', () => {
    const [c] = computeAdherence(
      [controller].filter((r) => r !== undefined),
      [ev('a', 'vigil-inhaler-controller', '2026-12-01T09:30:00Z')],
      {
        from: Date.parse('2026-12-01T00:00:00Z'),
        to: Date.parse('2026-12-01T12:00:00Z'),
        onTimeMinutes: 120,
      },
    );
    assert.equal(c?.doses[0]?.status, 'on-time');
    // 08:00 at UTC+2 is 06:00Z: 09:30Z is late.
    const [d] = computeAdherence(
      [controller].filter((r) => r !== undefined),
      [ev('a', 'vigil-inhaler-controller', '2026-12-01T09:30:00Z')],
      {
        from: Date.parse('2026-12-01T00:00:00Z'),
        to: Date.parse('2026-12-01T12:00:00Z'),
        utcOffsetMinutes: 120,
      },
    );
    assert.equal(d?.doses[0]?.due, '2026-12-01T06:00:00.000Z');
    assert.equal(d?.doses[0]?.status, 'late');
  });

  it('counts rescue uses (events) and actuations per day', () => {
    const reqs = [rescue].filter((r) => r !== undefined);
    const events = [
      ev('1', 'vigil-inhaler-rescue', '2026-12-01T10:00:00Z', 'inh-blue', 'p1', 2),
      ev('2', 'vigil-inhaler-rescue', '2026-12-02T10:00:00Z', 'inh-blue'),
      ev('3', 'vigil-inhaler-rescue', '2026-12-02T23:00:00Z', 'inh-blue'),
    ];
    const [r] = computeAdherence(reqs, events, {
      from: Date.parse('2026-12-01T00:00:00Z'),
      to: Date.parse('2026-12-03T00:00:00Z'),
    });
    assert.deepEqual(r?.usesPerDay, [
      { day: '2026-12-01', uses: 1, actuations: 2 },
      { day: '2026-12-02', uses: 2, actuations: 2 },
    ]);
  });

  it('per-day schedules without times judge doses per day', () => {
    const opened = [
      ev('1', 'vigil-pill-bottle-opening', '2026-12-01T07:00:00Z', 'cap', 'p2'),
      ev('2', 'vigil-pill-bottle-opening', '2026-12-01T18:30:00Z', 'cap', 'p2'),
    ];
    const [p] = computeAdherence(
      [pills].filter((r) => r !== undefined),
      opened,
      {
        from: Date.parse('2026-12-01T00:00:00Z'),
        to: Date.parse('2026-12-02T00:00:00Z'),
        onTimeMinutes: 360,
      },
    );
    assert.equal(p?.dosesDue, 2);
    assert.equal(p?.takenOnTime, 2);
  });

  it('renders MedicationAdministration (inhaler) and MedicationStatement (bottle, status unknown)', () => {
    const e = ev(
      '0193e1b2-0000-7000-8000-000000000001',
      'vigil-inhaler-rescue',
      '2026-12-01T10:00:00Z',
      'inh-blue',
    );
    const ma = asMedicationAdministration(e, rescue);
    assert.equal(ma.status, 'completed');
    assert.deepEqual(ma.request, { reference: 'MedicationRequest/mr-rescue' });
    assert.deepEqual(ma.medicationCodeableConcept, { text: 'salbutamol 100 mcg inhaler' });
    const ms = asMedicationStatement({ ...e, code: 'vigil-pill-bottle-opening' }, undefined);
    assert.equal(ms.status, 'unknown');
    assert.match(String((ms.medicationCodeableConcept as { text: string }).text), /no MedicationRequest/);
  });
});
