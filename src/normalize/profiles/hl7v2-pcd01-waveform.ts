/**
 * Waveform rows of a PCD-01 ORU^R01 (IHE PCD Waveform Content Module style): an OBX with value type
 * `NA` (HL7 numeric array: the samples of one channel separated by the component delimiter `^`),
 * OBX-3 an MDC waveform code (waveform-codes.ts), OBX-6 the unit of the values (MDC dimension code
 * or UCUM), and the sample period in a row of the same channel coded `MDC_ATTR_TIME_PD_SAMP`
 * (recognised by its reference id in OBX-3.2; OBX-5 the period, OBX-6 `MDC_DIM_MILLI_SEC` /
 * `MDC_DIM_SEC` or UCUM `ms` / `s`), or else `MDC_ATTR_TIME_PD_MSMT_ACTIVE`, the duration the
 * array covers (period = duration / samples; what the Continua WAN oximeter message in the corpus
 * sends: 10 pleth samples over 12 s). A timing row that is a child of the waveform row (OBX-4 =
 * the waveform's sub-id plus one level) wins over one elsewhere in the same channel.
 *
 * UNVERIFIED: the clinical reference quotes no complete WCM message (its PCD-01 sample's waveform
 * rows were truncated by their author) and gives no numeric code for MDC_ATTR_TIME_PD_SAMP,  so the
 * timing rows are found by reference id,  and a waveform row with no timing row is skipped
 * and counted (reason `no-period`) rather than given a guessed period. Check against the WCM supplement.
 *
 * NA values are HL7 NM numbers, decimals allowed; they are stored exactly as integer counts with
 * factor 10^-d (d = the most decimal places of any value), so `0.125^-0.05` reads back as sent.
 */
import type { QualityFlag, ReadingDraft } from '../../core/reading.ts';
import { MDC_UNIT_TO_UCUM } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import { waveformDraft } from '../waveform-draft.ts';

/** An NA row as the PCD-01 profile collected it. */
export interface WaveRow {
  field: string;
  code: string;
  subId: string;
  /** OBX-5 components (the samples, still text). */
  values: string[];
  /** OBX-6 components. */
  unit: string[];
  effective: string;
  flags: QualityFlag[];
}

/** An `MDC_ATTR_TIME_PD_SAMP` row. */
export interface PeriodRow {
  refId: string;
  subId: string;
  value: string;
  unit: string[];
  field: string;
}

export const PERIOD_REF_ID = 'MDC_ATTR_TIME_PD_SAMP';
/** The duration the array covers (Continua WAN corpus message): period = duration / samples. */
export const ACTIVE_REF_ID = 'MDC_ATTR_TIME_PD_MSMT_ACTIVE';
export const TIMING_REF_IDS = new Set([PERIOD_REF_ID, ACTIVE_REF_ID]);

/** MDC dimension reference ids of time (partition 4), by name: no numeric code in the reference. */
const TIME_UNITS: Record<string, number> = {
  MDC_DIM_MILLI_SEC: 1,
  MDC_DIM_SEC: 1000,
  '264320': 1000, // MDC_DIM_SEC's code, as in the Continua WAN corpus message
  ms: 1,
  s: 1000,
};

/** UCUM for a waveform row's OBX-6: MDC dimension codes the reference maps, else OBX-6 as UCUM. */
const WAVE_MDC_UNITS: Record<string, string> = {
  MDC_DIM_MILLI_VOLT: 'mV',
  MDC_DIM_MICRO_VOLT: 'uV',
  MDC_DIM_DIMLESS: '1',
  '262656': '1', // MDC_DIM_DIMLESS's code, as in the Continua WAN corpus message
  MDC_DIM_PERCENT: '%',
};

function unitOf(unit: string[], field: string): string {
  const [code = '', refId = '', system = ''] = unit;
  if (system.toUpperCase() === 'UCUM') return code;
  const byName = WAVE_MDC_UNITS[refId];
  if (byName) return byName;
  const mapped = MDC_UNIT_TO_UCUM.get(code);
  if (mapped) return mapped;
  if (code && !/^\d+$/.test(code)) return code;
  throw ingestError(IngestError.unitMismatch, `${field}: waveform unit ${code || '(none)'} not recognised`, {
    field,
  });
}

function periodMs(row: PeriodRow, samples: number): number {
  const [code = '', refId = ''] = row.unit;
  const scale = TIME_UNITS[refId] ?? TIME_UNITS[code];
  const v = Number(row.value);
  if (scale === undefined || !/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(row.value.trim()) || !(v > 0))
    throw ingestError(
      IngestError.invalidWaveform,
      `${row.field}: sample period must be a positive number in MDC_DIM_MILLI_SEC or MDC_DIM_SEC`,
      { field: row.field },
    );
  return row.refId === ACTIVE_REF_ID ? (v * scale) / samples : v * scale;
}

const parentOf = (subId: string) => subId.slice(0, Math.max(0, subId.lastIndexOf('.')));

/** Decimal NM texts → integer counts and the factor that scales them back exactly. */
export function countsOf(values: string[], field: string): { counts: number[]; factor: number } {
  let decimals = 0;
  for (const [i, v] of values.entries()) {
    const t = v.trim();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t))
      throw ingestError(
        IngestError.invalidWaveform,
        `${field}: sample ${i} "${t.slice(0, 20)}" is not a number`,
        {
          field,
        },
      );
    const dot = t.indexOf('.');
    if (dot >= 0) decimals = Math.max(decimals, t.length - dot - 1);
  }
  if (decimals > 6)
    throw ingestError(IngestError.invalidWaveform, `${field}: more than 6 decimal places`, { field });
  const scale = 10 ** decimals;
  // Integer arithmetic on the digits (not Number(t) × scale) so 0.1 + 0.2 style errors cannot creep in.
  const counts = values.map((v) => {
    const t = v.trim();
    const neg = t.startsWith('-');
    const [int = '', frac = ''] = t.replace(/^[+-]/, '').split('.');
    const n = Number(int || '0') * scale + Number((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
    return neg ? -n : n;
  });
  return { counts, factor: decimals === 0 ? 1 : 1 / scale };
}

/**
 * Strips of the NA rows that have a timing row; those without one are returned in `untimed` (the
 * profile skips and counts them, as it did every NA row before: a strip without a sample period
 * cannot be drawn or measured, and the rest of the message is still good).
 */
export function waveformDrafts(
  rows: readonly WaveRow[],
  periods: readonly PeriodRow[],
  controlId: string,
): { drafts: ReadingDraft[]; untimed: WaveRow[] } {
  const untimed: WaveRow[] = [];
  const drafts = rows.flatMap((row) => {
    // A sample period beats a duration; a child row of the waveform beats one of its channel.
    const ranked = [...periods].sort(
      (a, b) => Number(b.refId === PERIOD_REF_ID) - Number(a.refId === PERIOD_REF_ID),
    );
    const period =
      ranked.find((p) => parentOf(p.subId) === row.subId) ??
      ranked.find((p) => parentOf(p.subId) === parentOf(row.subId));
    if (!period) {
      untimed.push(row);
      return [];
    }
    const { counts, factor } = countsOf(row.values, row.field);
    return waveformDraft({
      effective: row.effective,
      profile: 'hl7v2-pcd01',
      flags: row.flags,
      messageId: `${controlId}|${row.subId}|${row.code}|${row.effective}`,
      field: row.field,
      channels: [
        {
          code: row.code,
          unit: unitOf(row.unit, row.field.replace(/-5$/, '-6')),
          periodMs: periodMs(period, counts.length),
          factor,
          data: counts,
          field: row.field,
        },
      ],
    });
  });
  return { drafts, untimed };
}
