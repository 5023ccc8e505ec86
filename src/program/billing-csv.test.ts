import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { metricsCsv } from '../alerts/alert-metrics.ts';
import { billingCsv } from './billing-csv.ts';
import type { PatientBilling } from './rpm-billing.ts';

it('the billing CSV neutralises a formula in any text cell and keeps the figures', () => {
  const b = {
    patientId: '-1+HYPERLINK("http://evil")',
    timeZone: 'Europe/Paris',
    month: '2026-01',
    devicePeriods: [],
    treatment: {
      month: '2026-01',
      minutes: 21,
      interactiveCommunications: 1,
      complete: true,
      codes: [{ code: '99457', units: 1 }],
      reasons: ['=1+1'],
    },
    codes: [],
    notes: [],
  } as unknown as PatientBilling;
  const rows = parse(billingCsv([b]), { columns: true }) as Array<Record<string, string>>;
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.['patientId'], `'-1+HYPERLINK("http://evil")`);
  assert.equal(rows[0]?.['reasons'], "'=1+1");
  assert.equal(rows[0]?.['minutes'], '21');
  assert.equal(rows[0]?.['codes'], '99457');
});

it('the alert metrics CSV neutralises a team id that starts a formula', () => {
  const csv = metricsCsv({
    since: '2026-01-01T00:00:00Z',
    until: '2026-02-01T00:00:00Z',
    rows: [
      {
        severity: 'high',
        team: '@team',
        alerts: 3,
        acknowledged: 2,
        resolved: 1,
        autoResolved: 0,
        ackP50Seconds: 60,
        ackP90Seconds: null,
        resolveP50Seconds: null,
        resolveP90Seconds: null,
        escalations: 0,
        escalatedAlerts: 0,
      },
    ],
    burden: {
      alerts: 3,
      patientDays: 10,
      alertsPerPatientDay: 0.3,
      notifications: 4,
      notificationsPerPatientDay: 0.4,
      notificationsPerAlert: 4 / 3,
      byClass: { clinical: 3, technical: 0, compressionSuspected: 0, measurementRequest: 0, task: 0 },
      clinicalAlertsPerPatientDay: 0.3,
    },
  });
  const [table] = csv.split('\r\n\r\n');
  const rows = parse(`${table}\r\n`, { columns: true }) as Array<Record<string, string>>;
  assert.equal(rows[0]?.['team'], "'@team");
  assert.equal(rows[0]?.['alerts'], '3');
  assert.equal(rows[0]?.['ackP90Seconds'], '');
});
