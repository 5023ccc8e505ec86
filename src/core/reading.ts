/**
 * The canonical reading: what every transport and payload profile is normalized into, what the store
 * keeps (one narrow row per reading) and what detection rules consume. Rendered as a FHIR R4
 * Observation on the way out (normalize/fhir-observation.ts).
 */

import type { WaveformStrip } from './waveform.ts';

export const Transport = {
  mqtt: 'mqtt',
  http: 'http',
  hl7v2: 'hl7v2',
  nightscout: 'nightscout',
  fhir: 'fhir',
  lorawan: 'lorawan',
  replay: 'replay',
  /** Computed by Vigil from other readings (the NEWS2 score), stored through the same ingest path. */
  derived: 'derived',
  /** Forwarded by an edge gateway (`vigil edge`) that evaluated it already: stored, not evaluated again. */
  edge: 'edge',
  /**
   * Typed in by the patient in the patient app (docs/patient-app.md): attributed to the signed-in
   * patient, never through a device assignment; rendered with `meta.tag` VIGIL_TAG#patient-entered.
   */
  patient: 'patient',
} as const;
export type Transport = (typeof Transport)[keyof typeof Transport];

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

/** One component of a panel (for example systolic pressure in a blood-pressure panel). */
export interface ReadingComponent {
  /** LOINC code of the component. */
  code: string;
  value: number;
  /** UCUM unit. */
  unit: string;
  /** Extra codings (for example the MDC code the device sent). */
  codings?: Coding[];
  /**
   * The value and unit as the device sent them, when a conversion happened (a kPa cuff). Added by
   * normalize so a panel's original values stay recoverable like `Reading.original`; optional.
   */
  original?: { value: number; unit: string };
}

/**
 * Quality and status flags reported by the device or derived during normalization. They travel to
 * the Observation (the quality-flag extension, normalize/fhir-observation.ts) and gate detection (a
 * low-perfusion SpO2 is not trusted).
 */
export type QualityFlag =
  | 'irregular-pulse'
  | 'body-movement'
  | 'cuff-too-loose'
  | 'improper-position'
  | 'pulse-rate-above-range'
  | 'pulse-rate-below-range'
  | 'low-perfusion'
  | 'motion-artifact'
  | 'poor-signal'
  | 'questionable'
  | 'sensor-malfunction'
  | 'device-malfunction'
  | 'battery-low'
  | 'clock-not-set'
  | 'early-estimate'
  | 'from-storage'
  | 'demo'
  | 'calibrating'
  | 'sensor-contact-lost'
  | 'result-too-high'
  | 'result-too-low'
  | 'noisy'
  | (string & {});

export interface Reading {
  /** Observation id: a UUID v7 assigned at ingest, the same through every API. */
  id: string;
  deviceId: string;
  /** The patient the device was assigned to at `effective`; null = unattributed (kept, attributable later). */
  patientId: string | null;
  /** Primary LOINC code (the panel code for a panel such as blood pressure 85354-9). */
  code: string;
  /** Further codings of the same concept: MDC, a second LOINC (59408-5 for pulse oximetry), vendor codes. */
  codings: Coding[];
  /** FHIR observation-category code: vital-signs, laboratory, activity, survey, … */
  category: string;
  /** Numeric value in `unit`; null for panels (see components) or absent data. */
  value: number | null;
  /** UCUM unit of `value`. */
  unit: string | null;
  components: ReadingComponent[];
  /** A coded or string result (for example ACVPU consciousness 'A', 'C', 'V', 'P', 'U'). */
  valueCode?: string;
  /** FHIR data-absent-reason code when the device reported NaN, NRes, ±INF. */
  dataAbsentReason?: string;
  /** Device time of the measurement, ISO 8601 in UTC. */
  effective: string;
  /** When Vigil received it, ISO 8601 in UTC. */
  received: string;
  flags: QualityFlag[];
  /** The value and unit as the device sent them, when a conversion happened. */
  original?: { value: number; unit: string };
  /** device + message id, or device + code + device time: a repeat is a no-op. */
  idempotencyKey: string;
  transport: Transport;
  /** The payload profile that produced it (native-json, ble-2a35, mdc, template:<name>, …). */
  profile: string;
  /** Free-text notes (device status that has no coded flag). */
  notes?: string[];
  /** A waveform strip (ECG, pleth) with its samples packed: one Reading per strip (core/waveform.ts). */
  waveform?: WaveformStrip;
  /**
   * `corrected`: the device corrected a result it sent before (HL7 OBX-11 `C`). Stored, it amends
   * the device's earlier reading of the same code and effective time in place (same id, a new
   * version, the earlier one kept in history) instead of adding a second reading; rendered as
   * Observation.status `corrected`. Absent: final (or preliminary when flagged an early estimate).
   */
  resultStatus?: 'corrected';
  /**
   * With `resultStatus` corrected: the end of the earlier reading's idempotency key (HL7: OBX-4,
   * MDC code, time and LOINC, everything but MSH-10), preferred when the device has several
   * readings of the same code and time.
   */
  amends?: string;
}

/** Device state reported alongside readings: feeds device-health rules and the fleet view. */
export interface DeviceStatusReport {
  deviceId: string;
  patientId: string | null;
  /** Device time of the report (UTC ISO). */
  effective: string;
  received: string;
  batteryPercent?: number;
  /** Device clock minus receive clock, in seconds (positive = device ahead). */
  clockOffsetSeconds?: number;
  firmware?: string;
  errors?: string[];
}

/**
 * A reading as a payload profile produces it: a Reading before ingest gives it an id, a patient, a
 * transport, a receive time and an idempotency key. `messageId` (device-chosen) feeds the key.
 */
export type ReadingDraft = Omit<Reading, 'id' | 'patientId' | 'transport' | 'received' | 'idempotencyKey'> & {
  messageId?: string | undefined;
};
