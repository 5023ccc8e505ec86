import { toCsv } from '../core/csv.ts';
import { lastDayOf } from './calendar-days.ts';
import { codesText, type PatientBilling } from './rpm-billing.ts';

const columns = [
  'patientId',
  'timeZone',
  'item',
  'start',
  'end',
  'daysWithData',
  'minutes',
  'interactiveCommunications',
  'complete',
  'codes',
  'reasons',
] as const;

/**
 * RFC 4180 CSV (formula cells neutralised, `toCsv`), one line per billable item: each device-supply period ending in the month
 * (`device-period`) and the calendar month's treatment management (`treatment-month`), so no
 * figure is repeated on two lines.
 */
export function billingCsv(rows: readonly PatientBilling[]): string {
  const lines: unknown[][] = [];
  for (const b of rows) {
    for (const p of b.devicePeriods) {
      lines.push([
        b.patientId,
        b.timeZone,
        'device-period',
        p.start,
        p.end,
        p.daysWithData,
        '',
        '',
        p.complete,
        codesText(p.codes),
        p.reasons.join('; '),
      ]);
    }
    const t = b.treatment;
    lines.push([
      b.patientId,
      b.timeZone,
      'treatment-month',
      `${t.month}-01`,
      lastDayOf(t.month),
      '',
      t.minutes,
      t.interactiveCommunications,
      t.complete,
      codesText(t.codes),
      t.reasons.join('; '),
    ]);
  }
  return toCsv(columns, lines);
}
