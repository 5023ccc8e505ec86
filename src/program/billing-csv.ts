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

function cell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * RFC 4180 CSV, one line per billable item: each device-supply period ending in the month
 * (`device-period`) and the calendar month's treatment management (`treatment-month`), so no
 * figure is repeated on two lines.
 */
export function billingCsv(rows: readonly PatientBilling[]): string {
  const lines: string[] = [columns.join(',')];
  for (const b of rows) {
    for (const p of b.devicePeriods) {
      lines.push(
        [
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
        ]
          .map(cell)
          .join(','),
      );
    }
    const t = b.treatment;
    lines.push(
      [
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
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
