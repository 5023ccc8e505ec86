import { describeValue } from '../../core/json-depth.ts';
/**
 * One Nightscout `entries` record (API v1, as xDrip+, Spike, OpenAPS and other uploaders post it;
 * schema in corpora/cgm/nightscout/api-v1-swagger.yaml). Format `nightscout`.
 *
 * - `type: "sgv"`: a CGM sensor glucose value, `sgv` in mg/dL (Nightscout's storage unit; a number
 *   or a numeric string as old Dexcom uploaders send) → LOINC 99504-3 (mg/dL) or 105272-9 (mmol/L),
 *   in the program's unit (clinical-reference §2.3/§2.4).
 * - `type: "mbg"`: a meter (fingerstick) glucose, `mbg` in mg/dL → 41653-7 / 14743-9.
 * - `type: "cal"`: a calibration record (slope/intercept): not a reading; the device is marked seen.
 * - Time: `date` (ms since the epoch, UTC by definition), else `dateString` (ISO 8601 with offset).
 * - sgv below 39 is not a glucose value but a Dexcom error code (Nightscout's `errorcodes` plugin,
 *   `nightscout/cgm-remote-monitor:lib/plugins/errorcodes.js`; status S — the clinical reference
 *   does not list these): 1 SENSOR_NOT_ACTIVE, 2 MINIMAL_DEVIATION, 3 NO_ANTENNA,
 *   5 SENSOR_NOT_CALIBRATED ("?NC", shown with direction NOT COMPUTABLE in the corpus),
 *   6 COUNTS_DEVIATION, 9 ABSOLUTE_DEVIATION, 10 POWER_DEVIATION, 12 BAD_RF. Such an entry becomes a
 *   reading without a value, `dataAbsentReason: error`, the code in a note — kept, never a number.
 * - `direction` (trend arrow: DoubleUp … DoubleDown, NOT COMPUTABLE, RATE OUT OF RANGE) → a note
 *   `trend: <direction>`; `noise` (1 clean, 2 light, 3 medium, 4 heavy — swagger's devicestatus
 *   description) → a note, and flag `noisy` from 3 up.
 * - Idempotency: `messageId` = `ns|<type>|<date ms>`: uploaders resend the same entries.
 */
import { glucoseCodeForUnit } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import { type ProfileContext, type ProfileResult, quantityDraft } from '../reading-draft.ts';
import { parseDeviceTime } from '../time.ts';
import { parseJsonPayload } from './native-json.ts';

type Json = Record<string, unknown>;

/** Dexcom error codes as Nightscout names them (S, see above). */
export const DEXCOM_SPECIAL: Readonly<Record<number, string>> = {
  0: 'NONE',
  1: 'SENSOR_NOT_ACTIVE',
  2: 'MINIMAL_DEVIATION',
  3: 'NO_ANTENNA',
  5: 'SENSOR_NOT_CALIBRATED',
  6: 'COUNTS_DEVIATION',
  9: 'ABSOLUTE_DEVIATION',
  10: 'POWER_DEVIATION',
  12: 'BAD_RF',
};
/** Below this an sgv is an error code, not a concentration (Nightscout errorcodes plugin). */
export const SGV_SPECIAL_BELOW = 39;

const NOISE: Readonly<Record<number, string>> = { 1: 'clean', 2: 'light', 3: 'medium', 4: 'heavy' };

function invalid(field: string, message: string): never {
  throw ingestError(IngestError.invalidField, `${field}: ${message}`, { field });
}

function numberOf(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  throw ingestError(IngestError.notANumber, `${field}: must be a number (or a numeric string)`, { field });
}

/** Entry time: `date` (epoch ms) first, else `dateString` with an offset. */
function entryTime(e: Json): { iso: string; ms: number } {
  if (e.date !== undefined && e.date !== null) {
    const ms = numberOf(e.date, 'date');
    // Before 2000 or not a whole millisecond count: seconds sent as ms, or garbage.
    if (!Number.isInteger(ms) || ms < 946_684_800_000 || ms > 8.64e15) {
      throw ingestError(IngestError.invalidTime, 'date: must be milliseconds since 1970 (UTC)', {
        field: 'date',
      });
    }
    return { iso: new Date(ms).toISOString(), ms };
  }
  if (e.dateString !== undefined) {
    const iso = parseDeviceTime(e.dateString, 'dateString');
    return { iso, ms: Date.parse(iso) };
  }
  throw ingestError(IngestError.invalidTime, 'entry has neither date nor dateString', { field: 'date' });
}

export function nightscoutProfile(payload: unknown, ctx: ProfileContext): ProfileResult {
  const e = parseJsonPayload(payload);
  if (typeof e !== 'object' || e === null || Array.isArray(e)) {
    throw ingestError(IngestError.malformedJson, 'a Nightscout entry must be a JSON object');
  }
  const entry = e as Json;
  const type = entry.type;
  if (typeof type !== 'string') invalid('type', 'must be sgv, mbg or cal');
  const time = entryTime(entry);
  const messageId = `ns|${type}|${time.ms}`;
  const unit = ctx.programGlucoseUnit ?? 'mg/dL';

  if (type === 'cal') {
    return {
      readings: [],
      status: { deviceId: ctx.deviceId, patientId: null, effective: time.iso, received: time.iso },
    };
  }
  if (type !== 'sgv' && type !== 'mbg') invalid('type', `${describeValue(type)} is not sgv, mbg or cal`);

  const field = type;
  const value = numberOf(entry[field], field);
  const notes: string[] = [];
  const flags: string[] = [];
  if (typeof entry.direction === 'string' && entry.direction.trim() !== '') {
    notes.push(`trend: ${entry.direction.trim().slice(0, 40)}`);
  }
  if (entry.noise !== undefined && entry.noise !== null) {
    const noise = numberOf(entry.noise, 'noise');
    notes.push(`noise: ${NOISE[noise] ?? noise}`);
    if (noise >= 3) flags.push('noisy');
  }
  const baseCode = type === 'sgv' ? '99504-3' : '41653-7';
  const common = {
    code: glucoseCodeForUnit(baseCode, unit),
    effective: time.iso,
    profile: 'nightscout',
    flags,
    messageId,
    field,
  };
  if (type === 'sgv' && value < SGV_SPECIAL_BELOW) {
    const name = DEXCOM_SPECIAL[value] ?? 'UNKNOWN';
    return {
      readings: [
        quantityDraft(
          {
            ...common,
            value: null,
            unit: null,
            dataAbsentReason: 'error',
            notes: [`CGM error code ${value} (${name})`, ...notes],
          },
          ctx,
        ),
      ],
    };
  }
  return { readings: [quantityDraft({ ...common, value, unit: 'mg/dL', notes }, ctx)] };
}
