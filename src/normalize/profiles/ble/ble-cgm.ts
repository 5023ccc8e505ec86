/**
 * CGM Measurement 0x2AA7. clinical-reference.md has NO layout table for it; the layout below is the
 * one the corpus vectors (test/corpora/ble/glucose-2A18-cgm-2AA7.json, from Nordic's
 * CGMMeasurementDataCallbackTest) exercise, and it matches the Bluetooth CGM Service as Nordic's
 * parser reads it — treat it as S (implementation source), not V:
 *
 *   size u8 (record length incl. itself) · flags u8 · glucose SFLOAT mg/dL · time offset u16
 *   (minutes since the CGM session start) · [warning octet if b5] · [cal/temp octet if b6] ·
 *   [sensor status octet if b7] · [trend SFLOAT mg/dL/min if b0] · [quality SFLOAT % if b1] ·
 *   [E2E-CRC u16, CRC-16/MCRF4XX over the record, when `size` leaves 2 bytes for it]
 *
 * One notification may carry several records back to back. The annunciation octets' bit meanings
 * are not in the reference: they are kept raw in notes, not turned into flags.
 *
 * Time: the offset counts from the session start (characteristic 0x2AAA). With `cgmSessionStart`
 * in the context the time is exact; without it the newest record of the notification is placed at
 * the receive time, the others before it by their offsets, and all are flagged device-time-missing.
 * Hand-written: see ble-blood-pressure.ts.
 */
import { IngestError, ingestError } from '../../errors.ts';
import {
  type ProfileContext,
  type ProfileResult,
  quantityDraft,
  TIME_FROM_RECEIPT,
} from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { floatValue, hex } from './ble-common.ts';
import { GattReader } from './gatt-reader.ts';

export interface CgmRecord {
  size: number;
  glucose: MdcFloat;
  timeOffsetMinutes: number;
  warningOctet: number | null;
  calTempOctet: number | null;
  sensorStatusOctet: number | null;
  trendMgDlPerMin: MdcFloat | null;
  quality: MdcFloat | null;
  e2eCrc: number | null;
}

/** CRC-16/MCRF4XX: reflected poly 0x1021 (0x8408), init 0xFFFF, no final xor. */
export function crc16Mcrf4xx(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc;
}

export function decodeCgm(bytes: Uint8Array): CgmRecord[] {
  const records: CgmRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = bytes[at] as number;
    if (size < 6) {
      throw ingestError(
        IngestError.malformedGatt,
        `0x2AA7: record size ${size} at offset ${at} is below the minimum 6`,
        {
          offset: at,
        },
      );
    }
    if (at + size > bytes.length) {
      throw ingestError(
        IngestError.truncatedGatt,
        `0x2AA7: record at offset ${at} announces ${size} bytes, ${bytes.length - at} left`,
        {
          offset: at,
        },
      );
    }
    records.push(decodeRecord(bytes.subarray(at, at + size)));
    at += size;
  }
  if (records.length === 0) throw ingestError(IngestError.truncatedGatt, '0x2AA7: empty value');
  return records;
}

function decodeRecord(rec: Uint8Array): CgmRecord {
  const r = new GattReader(rec, '0x2AA7');
  const size = r.u8('size');
  const flags = r.u8('flags');
  const glucose = r.sfloat('glucose concentration');
  const timeOffsetMinutes = r.u16('time offset');
  const warningOctet = flags & 0x20 ? r.u8('warning octet') : null;
  const calTempOctet = flags & 0x40 ? r.u8('cal/temp octet') : null;
  const sensorStatusOctet = flags & 0x80 ? r.u8('sensor status octet') : null;
  const trendMgDlPerMin = flags & 0x01 ? r.sfloat('trend') : null;
  const quality = flags & 0x02 ? r.sfloat('quality') : null;
  let e2eCrc: number | null = null;
  if (r.remaining === 2) {
    const covered = rec.subarray(0, r.offset);
    e2eCrc = r.u16('E2E-CRC');
    const expected = crc16Mcrf4xx(covered);
    if (expected !== e2eCrc) {
      throw ingestError(
        IngestError.malformedGatt,
        `0x2AA7: E2E-CRC ${hex(e2eCrc)} does not match ${hex(expected)}`,
        {
          field: 'E2E-CRC',
        },
      );
    }
  }
  r.end();
  return {
    size,
    glucose,
    timeOffsetMinutes,
    warningOctet,
    calTempOctet,
    sensorStatusOctet,
    trendMgDlPerMin,
    quality,
    e2eCrc,
  };
}

export function cgmProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const records = decodeCgm(bytes);
  const newest = Math.max(...records.map((r) => r.timeOffsetMinutes));
  const readings = records.map((rec, i) => {
    const exact = ctx.cgmSessionStart !== undefined;
    const ms = exact
      ? (ctx.cgmSessionStart as number) + rec.timeOffsetMinutes * 60_000
      : ctx.receivedAt - (newest - rec.timeOffsetMinutes) * 60_000;
    const notes: string[] = [`time offset ${rec.timeOffsetMinutes} min since session start`];
    if (!exact) notes.push('session start unknown: time estimated from the receive time');
    const octets = [
      ['warning', rec.warningOctet],
      ['cal/temp', rec.calTempOctet],
      ['status', rec.sensorStatusOctet],
    ].filter(([, v]) => v !== null);
    if (octets.length)
      notes.push(`annunciation ${octets.map(([k, v]) => `${k}=${hex(v as number, 2)}`).join(' ')}`);
    if (rec.trendMgDlPerMin?.ok) notes.push(`trend ${rec.trendMgDlPerMin.value} mg/dL/min`);
    if (rec.quality?.ok) notes.push(`quality ${rec.quality.value} %`);
    const v = floatValue(rec.glucose);
    if (v.note) notes.push(v.note);
    return quantityDraft(
      {
        code: '99504-3',
        value: v.value,
        unit: 'mg/dL',
        dataAbsentReason: v.dataAbsentReason,
        effective: new Date(ms).toISOString(),
        profile: 'ble-2aa7',
        flags: exact ? [] : [TIME_FROM_RECEIPT],
        notes,
        // Offsets restart each session, so they only identify a record when the session is known.
        ...(exact ? { messageId: `cgm-${ctx.cgmSessionStart}-${rec.timeOffsetMinutes}` } : {}),
        field: `record ${i} glucose`,
      },
      ctx,
    );
  });
  return { readings };
}
