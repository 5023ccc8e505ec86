/**
 * The device models a virtual patient can carry: registry kind, cadence, what each measurement
 * event reports, how it reaches Vigil, and its fault behaviour. Cadences are the usual ones for the
 * device class (CGM every 5 minutes, home cuff twice a day, bedside monitor every second with
 * cycled blood pressure and temperature); fault rates are simulator assumptions, tunable per run.
 */
import type { DeviceModelName } from '../scenario.ts';

export type Measure =
  | 'bp'
  | 'heart-rate'
  /** ECG heart rate and pleth pulse: the two heart-rate sources of a bedside monitor. */
  | 'ecg-heart-rate'
  | 'pleth-pulse'
  | 'spo2'
  | 'respiratory-rate'
  | 'temperature'
  | 'weight'
  | 'cgm-glucose';

export type Schedule =
  /** A fixed period (s). */
  | { everyS: number }
  /** Times of day (hours, device-local = UTC here) with a random jitter (s) around each. */
  | { hours: readonly number[]; jitterS: number };

export interface Channel {
  schedule: Schedule;
  measures: readonly Measure[];
  /** The GATT characteristic this channel's event is sent as when the device speaks GATT. */
  gatt?: '2A35' | '2A37' | '2A1C' | '2A9D' | '2A5E' | '2A5F';
}

export interface DeviceModel {
  name: DeviceModelName;
  /** Registry kind (devices/device-service.ts deviceKinds). */
  kind: string;
  manufacturer: string;
  model: string;
  channels: readonly Channel[];
  /** Preferred way to reach Vigil: a phone/hub over MQTT, or the device's own HTTP uploads. */
  transport: 'mqtt' | 'http';
  /** null = mains powered. */
  battery: { drainPerEvent: number; drainPerHour: number; rechargeS: [min: number, max: number] } | null;
  /** Keeps readings while offline and sends them on reconnect (flagged from-storage). */
  storeAndForward: boolean;
  /** Mean connected and disconnected spell lengths (s). */
  dropout: { meanUpS: number; meanDownS: number };
  /**
   * The patient measures again after a reading this high (home BP guidance, clinical-reference §9:
   * at ≥ 180/120 wait five minutes and measure again). `probability` is a simulator assumption.
   */
  repeat?: {
    systolicAtLeast: number;
    diastolicAtLeast: number;
    afterS: [number, number];
    probability: number;
  };
}

export const DEVICE_MODELS: Readonly<Record<DeviceModelName, DeviceModel>> = {
  'bp-cuff': {
    name: 'bp-cuff',
    kind: 'blood-pressure-cuff',
    manufacturer: 'Vigil Sim',
    model: 'Cuff BP-2',
    channels: [{ schedule: { hours: [8, 20], jitterS: 1800 }, measures: ['bp', 'heart-rate'], gatt: '2A35' }],
    transport: 'mqtt',
    battery: { drainPerEvent: 0.4, drainPerHour: 0.01, rechargeS: [6 * 3600, 36 * 3600] },
    storeAndForward: true,
    dropout: { meanUpS: 3 * 86_400, meanDownS: 6 * 3600 },
    repeat: { systolicAtLeast: 180, diastolicAtLeast: 120, afterS: [300, 600], probability: 0.7 },
  },
  scale: {
    name: 'scale',
    kind: 'scale',
    manufacturer: 'Vigil Sim',
    model: 'Scale W-1',
    channels: [{ schedule: { hours: [7], jitterS: 1800 }, measures: ['weight'], gatt: '2A9D' }],
    transport: 'mqtt',
    battery: { drainPerEvent: 0.2, drainPerHour: 0.005, rechargeS: [12 * 3600, 48 * 3600] },
    storeAndForward: true,
    dropout: { meanUpS: 4 * 86_400, meanDownS: 8 * 3600 },
  },
  'pulse-oximeter': {
    name: 'pulse-oximeter',
    kind: 'pulse-oximeter',
    manufacturer: 'Vigil Sim',
    model: 'Oximeter O-3',
    channels: [
      { schedule: { hours: [8, 14, 20], jitterS: 1800 }, measures: ['spo2', 'heart-rate'], gatt: '2A5E' },
    ],
    transport: 'mqtt',
    battery: { drainPerEvent: 0.3, drainPerHour: 0.01, rechargeS: [6 * 3600, 24 * 3600] },
    storeAndForward: true,
    dropout: { meanUpS: 3 * 86_400, meanDownS: 4 * 3600 },
  },
  thermometer: {
    name: 'thermometer',
    kind: 'thermometer',
    manufacturer: 'Vigil Sim',
    model: 'Thermo T-1',
    channels: [{ schedule: { hours: [8, 20], jitterS: 1800 }, measures: ['temperature'], gatt: '2A1C' }],
    transport: 'mqtt',
    battery: { drainPerEvent: 0.1, drainPerHour: 0.002, rechargeS: [12 * 3600, 48 * 3600] },
    storeAndForward: true,
    dropout: { meanUpS: 4 * 86_400, meanDownS: 6 * 3600 },
  },
  cgm: {
    name: 'cgm',
    kind: 'cgm',
    manufacturer: 'Vigil Sim',
    model: 'CGM G-10',
    channels: [{ schedule: { everyS: 300 }, measures: ['cgm-glucose'] }],
    transport: 'http',
    // Transmitter battery outlasts the sensor session; the phone uploads in batches.
    battery: { drainPerEvent: 0.003, drainPerHour: 0.01, rechargeS: [3600, 3 * 3600] },
    storeAndForward: true,
    dropout: { meanUpS: 18 * 3600, meanDownS: 40 * 60 },
  },
  'bedside-monitor': {
    name: 'bedside-monitor',
    kind: 'bedside-monitor',
    manufacturer: 'Vigil Sim',
    model: 'Bedside M-8',
    channels: [
      { schedule: { everyS: 1 }, measures: ['ecg-heart-rate', 'pleth-pulse', 'spo2', 'respiratory-rate'] },
      { schedule: { everyS: 15 * 60 }, measures: ['bp'] },
      // Nurse temperatures 4-hourly, entered at the bedside (ward rounds; within Chart 4's 4–6-hourly band, §1.2).
      { schedule: { hours: [2, 6, 10, 14, 18, 22], jitterS: 1200 }, measures: ['temperature'] },
    ],
    transport: 'mqtt',
    battery: null,
    storeAndForward: false,
    dropout: { meanUpS: 2 * 86_400, meanDownS: 3 * 60 },
  },
  'hr-wearable': {
    name: 'hr-wearable',
    kind: 'wearable',
    manufacturer: 'Vigil Sim',
    model: 'Band H-2',
    channels: [{ schedule: { everyS: 60 }, measures: ['heart-rate'], gatt: '2A37' }],
    transport: 'mqtt',
    battery: { drainPerEvent: 0.002, drainPerHour: 0.4, rechargeS: [1800, 4 * 3600] },
    storeAndForward: false,
    dropout: { meanUpS: 12 * 3600, meanDownS: 20 * 60 },
  },
};
