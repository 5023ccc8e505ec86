/**
 * One virtual device: runs its model's schedule over simulated time and turns each measurement
 * into what it would send — native JSON or a GATT characteristic value — with battery drain,
 * dropouts and reconnects (store-and-forward or loss), a skewed and drifting clock, occasional
 * duplicates and a small rate of malformed messages. Deterministic for a given Rng.
 *
 * advance(toMs) runs the device up to `toMs` and returns what it sends before `toMs`, in send order.
 */
import type { Vitals } from '../physiology.ts';
import type { Rng } from '../rng.ts';
import {
  encodeBloodPressure,
  encodeHeartRate,
  encodePlxContinuous,
  encodePlxSpot,
  encodeTemperature,
  encodeWeight,
} from '../wire/gatt.ts';
import { type MalformKind, malformGatt, malformJson, type SimReading } from '../wire/native-json.ts';
import { ARTEFACT_PROFILES, ArtefactTrack } from './artefacts.ts';
import type { Channel, DeviceModel } from './catalog.ts';
import { type Measured, measure } from './measure.ts';

export interface DeviceBehaviour {
  /** Probability that a message is sent twice (the second copy seconds later). */
  duplicateRate: number;
  /** Probability that a message is corrupted (truncated JSON, wrong type, truncated GATT, …). */
  malformedRate: number;
  dropouts: boolean;
  clockSkew: boolean;
  battery: boolean;
  /** Lower bound on every schedule period (s): 1 keeps real cadences; the demo raises it. */
  minPeriodS: number;
  /** 'json' never sends GATT bytes (for --out files and HTTP). */
  wire: 'auto' | 'json';
  /** Override the model's transport. */
  transport?: 'mqtt' | 'http';
  /** Sensor artefacts (artefacts.ts: motion, probe off, talking, white-coat, …); default on. */
  artefacts?: boolean;
}

export const DEFAULT_BEHAVIOUR: DeviceBehaviour = {
  duplicateRate: 0.005,
  malformedRate: 0.002,
  dropouts: true,
  clockSkew: true,
  battery: true,
  minPeriodS: 1,
  wire: 'auto',
};

export interface Emission {
  deviceId: string;
  transport: 'mqtt' | 'http';
  /** True instant of the measurement (ms). */
  measuredAt: number;
  /** When it leaves the device (ms): later after a dropout (store-and-forward) or for a duplicate. */
  sendAt: number;
  /** The readings in native JSON (device time) — also what a GATT value decodes to. Empty for a malformed one. */
  readings: SimReading[];
  gatt?: { characteristic: string; bytes: Uint8Array };
  /** A deliberately broken payload sent instead of the readings. */
  malformed?: { kind: MalformKind; payload: string | Uint8Array };
  duplicate: boolean;
  /** A battery-only status message (GATT devices report battery this way). */
  statusOnly?: boolean;
}

export interface DeviceStats {
  events: number;
  sent: number;
  duplicates: number;
  malformed: number;
  lostOffline: number;
  lostBattery: number;
  storedAndForwarded: number;
}

export interface DeviceOptions {
  id: string;
  model: DeviceModel;
  rng: Rng;
  truthAt(ms: number): Vitals;
  startMs: number;
  behaviour: DeviceBehaviour;
  /** Extra measurement instants (ms) on the first channel (a patient measuring when unwell). */
  extraAtMs?: readonly number[];
}

/** The heart-rate sources of a bedside monitor, as MDC codes (clinical-reference §3.2). */
const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';
export const MDC_ECG_HEART_RATE = '147842';
export const MDC_PULS_OXIM_PULS_RATE = '149530';

const DAY_MS = 86_400_000;

class ChannelClock {
  readonly #rng: Rng;
  readonly #channel: Channel;
  readonly #periodMs: number;
  #day: number;
  #pending: number[] = [];
  next: number;
  constructor(channel: Channel, rng: Rng, startMs: number, minPeriodS: number) {
    this.#channel = channel;
    this.#rng = rng;
    const s = channel.schedule;
    this.#periodMs = 'everyS' in s ? Math.max(s.everyS, minPeriodS) * 1000 : 0;
    this.#day = Math.floor(startMs / DAY_MS) - 1;
    if ('everyS' in s) this.next = startMs + rng.uniform(0, this.#periodMs);
    else {
      this.next = Number.NEGATIVE_INFINITY;
      while (this.next < startMs) this.advance();
    }
  }
  advance(): void {
    const s = this.#channel.schedule;
    if ('everyS' in s) {
      this.next += this.#periodMs;
      return;
    }
    while (this.#pending.length === 0) {
      this.#day++;
      this.#pending = s.hours
        .map((h) => this.#day * DAY_MS + h * 3_600_000 + this.#rng.uniform(-s.jitterS, s.jitterS) * 1000)
        .sort((a, b) => a - b);
    }
    this.next = this.#pending.shift() as number;
  }
}

export class DeviceSim {
  readonly id: string;
  readonly model: DeviceModel;
  readonly transport: 'mqtt' | 'http';
  readonly stats: DeviceStats = {
    events: 0,
    sent: 0,
    duplicates: 0,
    malformed: 0,
    lostOffline: 0,
    lostBattery: 0,
    storedAndForwarded: 0,
  };
  /** Offline spells (ms), for the ground-truth file (missing-data detection). */
  readonly outages: { fromMs: number; toMs: number; cause: 'dropout' | 'battery' }[] = [];
  /** Labelled artefacts (artefacts.ts), for the ground-truth file. */
  readonly artefacts: ArtefactTrack;
  readonly #o: DeviceOptions;
  readonly #rng: Rng;
  readonly #faults: Rng;
  readonly #clocks: ChannelClock[];
  readonly #extra: number[];
  readonly #skewMs: number;
  readonly #driftPpm: number;
  readonly #bias: number;
  #online = true;
  #toggleAt: number;
  #battery: number;
  #deadUntil: number | null = null;
  #seq = 0;
  #lastEventAt: number;
  #batteryBucket = -1;
  #buffer: Emission[] = [];
  #outbox: Emission[] = [];

  constructor(o: DeviceOptions) {
    this.#o = o;
    this.id = o.id;
    this.model = o.model;
    this.transport = o.behaviour.transport ?? o.model.transport;
    this.#rng = o.rng.fork('measure');
    this.#faults = o.rng.fork('faults');
    const setup = o.rng.fork('setup');
    this.#clocks = o.model.channels.map(
      (c, i) => new ChannelClock(c, o.rng.fork(`channel-${i}`), o.startMs, o.behaviour.minPeriodS),
    );
    this.#extra = [...(o.extraAtMs ?? [])].filter((t) => t >= o.startMs).sort((a, b) => a - b);
    this.artefacts = new ArtefactTrack(
      ARTEFACT_PROFILES[o.model.name],
      o.rng.fork('artefacts'),
      o.startMs,
      o.behaviour.artefacts !== false,
    );
    // Most clocks are within seconds; a few are minutes behind (never ahead past Vigil's 5-minute limit).
    this.#skewMs = !o.behaviour.clockSkew
      ? 0
      : setup.chance(0.05)
        ? -setup.uniform(120, 3600) * 1000
        : Math.min(90_000, setup.normal(0, 15_000));
    this.#driftPpm = o.behaviour.clockSkew ? setup.normal(0, 20) : 0;
    this.#bias = setup.normal(0, 0.04);
    this.#battery = setup.uniform(60, 100);
    this.#lastEventAt = o.startMs;
    this.#toggleAt = o.behaviour.dropouts
      ? o.startMs + setup.exponential(o.model.dropout.meanUpS) * 1000
      : Number.POSITIVE_INFINITY;
  }

  /** The fixed part of the clock error (ms; device − true), for the ground-truth file. */
  get clockSkewMs(): number {
    return this.#skewMs;
  }

  /** Clock drift (parts per million), for the ground-truth file. */
  get clockDriftPpm(): number {
    return this.#driftPpm;
  }

  get battery(): number {
    return this.#battery;
  }

  /** Device clock at a true instant. */
  deviceTime(ms: number): number {
    return Math.round(ms + this.#skewMs + ((ms - this.#o.startMs) * this.#driftPpm) / 1e6);
  }

  advance(toMs: number): Emission[] {
    for (;;) {
      let t = this.#toggleAt;
      let which = -2;
      const extra = this.#extra[0];
      if (extra !== undefined && extra < t) {
        t = extra;
        which = -1;
      }
      this.#clocks.forEach((c, i) => {
        if (c.next < t) {
          t = c.next;
          which = i;
        }
      });
      if (t >= toMs) break;
      if (which === -2) this.#toggle(t);
      else if (which === -1) {
        this.#extra.shift();
        this.#event(t, this.model.channels[0] as Channel);
      } else {
        (this.#clocks[which] as ChannelClock).advance();
        this.#event(t, this.model.channels[which] as Channel);
      }
    }
    this.#outbox.sort((a, b) => a.sendAt - b.sendAt);
    const i = this.#outbox.findIndex((e) => e.sendAt >= toMs);
    const out = i === -1 ? this.#outbox : this.#outbox.slice(0, i);
    this.#outbox = i === -1 ? [] : this.#outbox.slice(i);
    this.stats.sent += out.length;
    return out;
  }

  #toggle(t: number): void {
    const { meanUpS, meanDownS } = this.model.dropout;
    if (this.#online) {
      this.#online = false;
      const down = this.#faults.exponential(meanDownS) * 1000;
      this.outages.push({ fromMs: t, toMs: t + down, cause: 'dropout' });
      this.#toggleAt = t + down;
    } else {
      this.#online = true;
      this.#toggleAt = t + this.#faults.exponential(meanUpS) * 1000;
      for (const e of this.#buffer) {
        e.sendAt = t + this.#faults.uniform(100, 3000);
        this.#outbox.push(e);
      }
      this.#buffer = [];
    }
  }

  #event(t: number, channel: Channel): void {
    this.stats.events++;
    const b = this.model.battery;
    if (b && this.#o.behaviour.battery) {
      if (this.#deadUntil !== null) {
        if (t < this.#deadUntil) {
          this.stats.lostBattery++;
          return;
        }
        this.#deadUntil = null;
        this.#battery = 100;
      }
      this.#battery -= b.drainPerEvent + (b.drainPerHour * Math.max(0, t - this.#lastEventAt)) / 3_600_000;
      this.#lastEventAt = t;
      if (this.#battery <= 0) {
        this.#battery = 0;
        const rechargeMs = this.#faults.uniform(b.rechargeS[0], b.rechargeS[1]) * 1000;
        this.#deadUntil = t + rechargeMs;
        this.outages.push({ fromMs: t, toMs: t + rechargeMs, cause: 'battery' });
        this.stats.lostBattery++;
        return;
      }
    }
    const continuous = 'everyS' in channel.schedule && channel.schedule.everyS < 60;
    const episodes = this.artefacts.at(t);
    const m = measure(channel.measures, t, {
      rng: this.#rng,
      truthAt: this.#o.truthAt,
      bias: this.#bias,
      continuous,
      episodes,
      spot: continuous || 'everyS' in channel.schedule ? null : this.artefacts.spot(t),
    });
    const rep = this.model.repeat;
    if (
      rep &&
      m.bp &&
      (m.bp.systolic >= rep.systolicAtLeast || m.bp.diastolic >= rep.diastolicAtLeast) &&
      this.#faults.chance(rep.probability)
    ) {
      const at = t + this.#faults.uniform(rep.afterS[0], rep.afterS[1]) * 1000;
      this.#extra.push(at);
      this.#extra.sort((a, b) => a - b);
    }
    const emissions = this.#encode(t, channel, m);
    if (!this.#online) {
      if (!this.model.storeAndForward) {
        this.stats.lostOffline += emissions.length;
        return;
      }
      for (const e of emissions) {
        for (const r of e.readings) r.flags = [...(r.flags ?? []), 'from-storage'];
        this.stats.storedAndForwarded++;
        this.#buffer.push(e);
      }
      return;
    }
    this.#outbox.push(...emissions);
  }

  #encode(t: number, channel: Channel, m: Measured): Emission[] {
    const deviceMs = this.deviceTime(t);
    const time = new Date(deviceMs).toISOString();
    const readings = toJsonReadings(m, time, () => `${this.id}-${++this.#seq}`);
    const battery = this.model.battery && this.#o.behaviour.battery ? Math.round(this.#battery) : undefined;
    const useGatt =
      this.#o.behaviour.wire === 'auto' && this.transport === 'mqtt' && channel.gatt !== undefined;
    const sendAt = t + this.#faults.uniform(100, 1500);
    const base = { deviceId: this.id, transport: this.transport, measuredAt: t, sendAt, duplicate: false };
    const out: Emission[] = [];
    let e: Emission;
    if (useGatt) {
      const bytes = encodeGatt(channel.gatt as string, m, deviceMs);
      e = { ...base, readings, gatt: { characteristic: channel.gatt as string, bytes } };
      // GATT health characteristics carry no battery: report it as a JSON status when it moves 10 %.
      if (battery !== undefined && Math.floor(battery / 10) !== this.#batteryBucket) {
        this.#batteryBucket = Math.floor(battery / 10);
        out.push({ ...base, readings: [{ time, battery }], statusOnly: true });
      }
    } else {
      if (battery !== undefined && readings[0]) readings[0].battery = battery;
      e = { ...base, readings };
    }
    if (this.#faults.chance(this.#o.behaviour.malformedRate)) {
      this.stats.malformed++;
      const payload = e.gatt ? malformGatt(this.#faults, e.gatt.bytes) : malformJson(this.#faults, readings);
      e = {
        ...e,
        readings: [],
        malformed:
          payload instanceof Uint8Array
            ? { kind: 'truncated-gatt', payload }
            : { kind: payload.kind, payload: payload.text },
      };
    }
    out.unshift(e);
    if (this.#faults.chance(this.#o.behaviour.duplicateRate)) {
      this.stats.duplicates++;
      out.push({ ...e, sendAt: e.sendAt + this.#faults.uniform(1000, 30_000), duplicate: true });
    }
    return out;
  }
}

function toJsonReadings(m: Measured, time: string, nextId: () => string): SimReading[] {
  const flags = m.flags.length ? { flags: [...m.flags] } : {};
  const pleth = [...m.flags, ...m.plethFlags];
  const plethFlags = pleth.length ? { flags: pleth } : {};
  const out: SimReading[] = [];
  const q = (type: string, value: number | undefined, unit: string, f = flags) => {
    if (value !== undefined) out.push({ messageId: nextId(), time, type, value, unit, ...f });
  };
  const mdc = (code: string, value: number | undefined, f: typeof flags) => {
    if (value !== undefined)
      out.push({ messageId: nextId(), time, code: { system: MDC_SYSTEM, code }, value, unit: '/min', ...f });
  };
  if (m.bp)
    out.push({
      messageId: nextId(),
      time,
      type: 'blood-pressure',
      unit: 'mm[Hg]',
      components: { ...m.bp },
      ...flags,
    });
  q('spo2', m.spo2, '%', m.plethFlags.length ? plethFlags : flags);
  q('heart-rate', m.heartRate, '/min');
  mdc(MDC_ECG_HEART_RATE, m.ecgHeartRate, flags);
  mdc(MDC_PULS_OXIM_PULS_RATE, m.plethPulse, plethFlags);
  q('respiratory-rate', m.respiratoryRate, '/min');
  q('temperature', m.temperature, 'Cel');
  q('weight', m.weight, 'kg');
  q('cgm-glucose', m.glucose, 'mg/dL');
  return out;
}

function encodeGatt(characteristic: string, m: Measured, timeMs: number): Uint8Array {
  switch (characteristic) {
    case '2A35': {
      const bp = m.bp ?? { systolic: 0, diastolic: 0, mean: 0 };
      return encodeBloodPressure({
        ...bp,
        timeMs,
        ...(m.heartRate !== undefined ? { pulseRate: m.heartRate } : {}),
        ...(m.bpStatus !== undefined ? { status: m.bpStatus } : {}),
      });
    }
    case '2A37':
      return encodeHeartRate({ heartRate: m.heartRate ?? 0 });
    case '2A1C':
      return encodeTemperature({ celsius: m.temperature ?? 0, timeMs });
    case '2A9D':
      return encodeWeight({ kg: m.weight ?? 0, timeMs });
    case '2A5E':
      return encodePlxSpot({ spo2: m.spo2 ?? 0, pulseRate: m.heartRate ?? 0, timeMs });
    case '2A5F':
      return encodePlxContinuous({ spo2: m.spo2 ?? 0, pulseRate: m.heartRate ?? 0 });
    default:
      throw new Error(`no encoder for GATT ${characteristic}`);
  }
}
