/** Device timestamps in text formats: ISO 8601 WITH an offset, a real calendar date, to UTC. */
import { IngestError, ingestError } from './errors.ts';

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses `2025-01-15T08:30:00+01:00` (or `…Z`) to `2025-01-15T07:30:00.000Z`. A time without an
 * offset is refused: device clocks and servers disagree on zones, and a guessed zone shifts a
 * reading by hours. Calendar-impossible dates (30 February) are refused; JavaScript would roll
 * them over silently.
 */
export function parseDeviceTime(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw ingestError(IngestError.invalidTime, `${field} must be an ISO 8601 string with an offset`, {
      field,
    });
  }
  const m = ISO_WITH_OFFSET.exec(value.trim());
  if (!m) {
    throw ingestError(
      IngestError.invalidTime,
      `${field} ${JSON.stringify(value)} is not ISO 8601 with an offset (e.g. 2025-01-15T08:30:00+01:00)`,
      { field },
    );
  }
  const [, y, mo, d, h, mi, s] = m.map((x) => (x === undefined ? undefined : x));
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const probe = new Date(Date.UTC(year, month - 1, day));
  const ok =
    probe.getUTCFullYear() === year &&
    probe.getUTCMonth() === month - 1 &&
    probe.getUTCDate() === day &&
    Number(h) < 24 &&
    Number(mi) < 60 &&
    Number(s ?? 0) < 60;
  const ms = Date.parse(value.trim());
  if (!ok || Number.isNaN(ms)) {
    throw ingestError(
      IngestError.invalidTime,
      `${field} ${JSON.stringify(value)} is not a real date and time`,
      { field },
    );
  }
  return new Date(ms).toISOString();
}

/** Five minutes: clock drift tolerated between a device and Vigil before a time counts as future. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

export function checkNotInFuture(effective: string, receivedAt: number, field = 'time'): void {
  const ms = Date.parse(effective);
  if (ms - receivedAt > MAX_FUTURE_SKEW_MS) {
    throw ingestError(
      IngestError.timeInFuture,
      `${field} ${effective} is ${Math.round((ms - receivedAt) / 1000)} s after the receive time (max ${MAX_FUTURE_SKEW_MS / 1000} s)`,
      { field, effective, receivedAt: new Date(receivedAt).toISOString() },
    );
  }
}
