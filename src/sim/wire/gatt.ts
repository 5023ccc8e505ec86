/**
 * Bluetooth GATT health characteristic ENCODERS (clinical-reference §5.2): the bytes a hub or phone
 * forwards for a virtual device. The layouts mirror the decoders in normalize/profiles/ble/ (the
 * reference); test/sim/gatt-round-trip.test.ts decodes every encoder's output with them.
 * Times are Bluetooth date_time (local time of the device; the simulator's devices keep UTC).
 */
import { encodeFloat, encodeSfloat } from './mdc-float.ts';

class Bytes {
  readonly out: number[] = [];
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u24(v: number): this {
    return this.u16(v).u8(v >> 16);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16((v >>> 16) & 0xffff);
  }
  sfloat(v: number, decimals = 0): this {
    return this.u16(encodeSfloat(v, decimals));
  }
  float(v: number, decimals = 0): this {
    return this.u32(encodeFloat(v, decimals));
  }
  /** Bluetooth date_time (7 bytes) of an epoch-ms instant, in UTC. */
  dateTime(ms: number): this {
    const d = new Date(ms);
    return this.u16(d.getUTCFullYear())
      .u8(d.getUTCMonth() + 1)
      .u8(d.getUTCDate())
      .u8(d.getUTCHours())
      .u8(d.getUTCMinutes())
      .u8(d.getUTCSeconds());
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** 0x2A35 Blood Pressure Measurement: mmHg, with timestamp, pulse rate and optional status bits. */
export function encodeBloodPressure(m: {
  systolic: number;
  diastolic: number;
  mean: number;
  timeMs: number;
  pulseRate?: number;
  /** Measurement status bits (b0 body movement, b1 cuff too loose, b2 irregular pulse, b5 position). */
  status?: number;
}): Uint8Array {
  const flags = 0x02 | (m.pulseRate !== undefined ? 0x04 : 0) | (m.status !== undefined ? 0x10 : 0);
  const b = new Bytes().u8(flags).sfloat(m.systolic).sfloat(m.diastolic).sfloat(m.mean).dateTime(m.timeMs);
  if (m.pulseRate !== undefined) b.sfloat(m.pulseRate);
  if (m.status !== undefined) b.u16(m.status);
  return b.bytes();
}

/** 0x2A37 Heart Rate Measurement: u8 rate, sensor contact detected; no timestamp in this characteristic. */
export function encodeHeartRate(m: { heartRate: number; contact?: boolean }): Uint8Array {
  const rate = Math.round(m.heartRate);
  const contactBits = m.contact === false ? 0x04 : 0x06;
  if (rate > 255)
    return new Bytes()
      .u8(0x01 | contactBits)
      .u16(rate)
      .bytes();
  return new Bytes().u8(contactBits).u8(rate).bytes();
}

/** 0x2A1C Temperature Measurement: Celsius FLOAT with two decimals, timestamp, type (2 = body). */
export function encodeTemperature(m: { celsius: number; timeMs: number; type?: number }): Uint8Array {
  return new Bytes()
    .u8(0x02 | 0x04)
    .float(m.celsius, 2)
    .dateTime(m.timeMs)
    .u8(m.type ?? 2)
    .bytes();
}

/** 0x2A9D Weight Measurement: SI, 0.005 kg per LSB (the characteristic's fixed resolution), timestamp. */
export function encodeWeight(m: { kg: number; timeMs: number }): Uint8Array {
  return new Bytes()
    .u8(0x02)
    .u16(Math.round(m.kg / 0.005))
    .dateTime(m.timeMs)
    .bytes();
}

/** 0x2A5E PLX Spot-Check Measurement: SpO2 % and pulse rate, timestamp, optional measurement status. */
export function encodePlxSpot(m: {
  spo2: number;
  pulseRate: number;
  timeMs: number;
  status?: number;
}): Uint8Array {
  const b = new Bytes()
    .u8(0x01 | (m.status !== undefined ? 0x02 : 0))
    .sfloat(m.spo2)
    .sfloat(m.pulseRate)
    .dateTime(m.timeMs);
  if (m.status !== undefined) b.u16(m.status);
  return b.bytes();
}

/** 0x2A5F PLX Continuous Measurement: the normal SpO2/PR pair only; no timestamp. */
export function encodePlxContinuous(m: { spo2: number; pulseRate: number; status?: number }): Uint8Array {
  const b = new Bytes()
    .u8(m.status !== undefined ? 0x04 : 0)
    .sfloat(m.spo2)
    .sfloat(m.pulseRate);
  if (m.status !== undefined) b.u16(m.status);
  return b.bytes();
}
