import { VigilFhir } from '../core/fhir-namespace.ts';

/**
 * Medication adherence from connected devices (docs/adherence.md): smart-inhaler actuations and
 * pill-bottle openings (stored readings with the local codes of normalize/codes.ts) against the
 * patient's MedicationRequests. Pure: the caller loads the requests and events.
 *
 * - Which request an event belongs to: the request naming the event's device (extension
 *   `adherence-device`, a Device reference); else the patient's only active request of the same
 *   kind (rescue inhaler = dosage `asNeeded`; controller inhaler or pill bottle = scheduled dosage).
 * - A scheduled dose is due at each `timing.repeat.timeOfDay` (patient local time; the offset is the
 *   caller's, default UTC) on every day of the request's period, or — without times of day —
 *   `frequency` doses per day. A dose is taken **on time** when an event falls within
 *   ±`onTimeMinutes` (default 60) of its due time, **late** when the first event after that window
 *   comes before the next dose is due, else **missed**. The ±60 min window is a configurable
 *   engineering default (UNVERIFIED: clinical-reference.md has no adherence window).
 * - Rescue uses per day: actuation events (not presses) of as-needed inhaler requests per UTC day.
 *
 * FHIR: an inhaler actuation is a MedicationAdministration (the device saw the dose given); a
 * pill-bottle opening is a MedicationStatement with status `unknown` — the bottle was opened, the
 * pill was not seen taken.
 */

export const ADHERENCE_DEVICE_EXTENSION = VigilFhir.adherenceDevice;
export const INHALER_RESCUE = 'vigil-inhaler-rescue';
export const INHALER_CONTROLLER = 'vigil-inhaler-controller';
export const PILL_BOTTLE_OPENING = 'vigil-pill-bottle-opening';
export const ADHERENCE_CODES: readonly string[] = [INHALER_RESCUE, INHALER_CONTROLLER, PILL_BOTTLE_OPENING];
export const VIGIL_OBSERVATION_SYSTEM = VigilFhir.observation;

export interface MedicationEvent {
  /** The stored reading's id (also the Observation id). */
  id: string;
  patientId: string;
  deviceId: string | null;
  code: string;
  /** Actuations or openings in this event (1 for most devices). */
  value: number;
  effective: string;
}

export interface AdherenceRequest {
  id: string;
  patientId: string;
  status: string;
  /** As sent (CodeableConcept) or a reference to a Medication. */
  medication: { concept?: Record<string, unknown>; reference?: string };
  rescue: boolean;
  deviceIds: string[];
  timesOfDay: string[];
  /** Doses per day when no time of day is given. */
  perDay: number | undefined;
  start: string | undefined;
  end: string | undefined;
  text: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The parts of a FHIR MedicationRequest adherence needs. */
export function adherenceRequest(r: Json): AdherenceRequest | undefined {
  const id = typeof r.id === 'string' ? r.id : undefined;
  const subject = obj(r.subject)?.reference;
  if (!id || typeof subject !== 'string' || !subject.startsWith('Patient/')) return undefined;
  const dosage = obj(arr(r.dosageInstruction)[0]) ?? {};
  const repeat = obj(obj(dosage.timing)?.repeat) ?? {};
  const bounds = obj(repeat.boundsPeriod) ?? obj(obj(r.dispenseRequest)?.validityPeriod) ?? {};
  const timesOfDay = arr(repeat.timeOfDay)
    .filter((t): t is string => typeof t === 'string' && /^\d{2}:\d{2}(:\d{2})?$/.test(t))
    .map((t) => t.slice(0, 5))
    .sort();
  const frequency = typeof repeat.frequency === 'number' ? repeat.frequency : undefined;
  const period = typeof repeat.period === 'number' ? repeat.period : 1;
  const unit = repeat.periodUnit;
  const perDayFactor = unit === 'd' ? 1 : unit === 'h' ? 24 : unit === 'wk' ? 1 / 7 : undefined;
  const perDay =
    frequency !== undefined && perDayFactor !== undefined && period > 0
      ? (frequency / period) * perDayFactor
      : undefined;
  const deviceIds = arr(r.extension)
    .map(obj)
    .filter((e) => e?.url === ADHERENCE_DEVICE_EXTENSION)
    .map((e) => obj(e?.valueReference)?.reference)
    .filter((ref): ref is string => typeof ref === 'string' && ref.startsWith('Device/'))
    .map((ref) => ref.slice('Device/'.length));
  const concept = obj(r.medicationCodeableConcept);
  const reference = obj(r.medicationReference)?.reference;
  const text =
    (typeof concept?.text === 'string' && concept.text) ||
    (obj(arr(concept?.coding)[0])?.display as string | undefined) ||
    (typeof reference === 'string' ? reference : 'medication');
  return {
    id,
    patientId: subject.slice('Patient/'.length),
    status: typeof r.status === 'string' ? r.status : 'unknown',
    medication: { ...(concept ? { concept } : {}), ...(typeof reference === 'string' ? { reference } : {}) },
    rescue: dosage.asNeededBoolean === true || obj(dosage.asNeededCodeableConcept) !== undefined,
    deviceIds,
    timesOfDay,
    perDay,
    start:
      typeof bounds.start === 'string'
        ? bounds.start
        : typeof r.authoredOn === 'string'
          ? r.authoredOn
          : undefined,
    end: typeof bounds.end === 'string' ? bounds.end : undefined,
    text,
  };
}

const kindOf = (code: string): 'rescue' | 'scheduled' => (code === INHALER_RESCUE ? 'rescue' : 'scheduled');

/** The request an event belongs to (see the file comment), or undefined. */
export function requestFor(
  e: MedicationEvent,
  requests: readonly AdherenceRequest[],
): AdherenceRequest | undefined {
  const mine = requests.filter((r) => r.patientId === e.patientId);
  if (e.deviceId) {
    const named = mine.filter((r) => r.deviceIds.includes(e.deviceId as string));
    if (named.length === 1) return named[0];
    if (named.length > 1) return undefined; // ambiguous: not guessed
  }
  const kind = kindOf(e.code);
  const same = mine.filter(
    (r) => r.status === 'active' && r.deviceIds.length === 0 && (kind === 'rescue') === r.rescue,
  );
  return same.length === 1 ? same[0] : undefined;
}

function medicationOf(req: AdherenceRequest | undefined, e: MedicationEvent): Json {
  if (req?.medication.concept) return { medicationCodeableConcept: req.medication.concept };
  if (req?.medication.reference) return { medicationReference: { reference: req.medication.reference } };
  return {
    medicationCodeableConcept: {
      text: `medication of device ${e.deviceId ?? 'unknown'} (no MedicationRequest names it)`,
    },
  };
}

const eventCoding = (e: MedicationEvent) => ({
  system: VIGIL_OBSERVATION_SYSTEM,
  code: e.code,
});

/** An inhaler actuation as FHIR R4 MedicationAdministration (same id as the stored reading). */
export function asMedicationAdministration(e: MedicationEvent, req: AdherenceRequest | undefined): Json {
  return {
    resourceType: 'MedicationAdministration',
    id: e.id,
    status: 'completed',
    category: {
      coding: [eventCoding(e)],
      text: e.code === INHALER_RESCUE ? 'rescue inhaler use' : 'controller inhaler use',
    },
    ...medicationOf(req, e),
    subject: { reference: `Patient/${e.patientId}` },
    effectiveDateTime: e.effective,
    ...(e.deviceId ? { device: [{ reference: `Device/${e.deviceId}` }] } : {}),
    ...(req ? { request: { reference: `MedicationRequest/${req.id}` } } : {}),
    supportingInformation: [{ reference: `Observation/${e.id}` }],
    dosage: {
      text: `${e.value} actuation${e.value === 1 ? '' : 's'} counted by the inhaler's sensor`,
      dose: { value: e.value, unit: 'actuations', system: 'http://unitsofmeasure.org', code: '{actuation}' },
    },
  };
}

/** A pill-bottle opening as FHIR R4 MedicationStatement: status unknown (opened, not seen taken). */
export function asMedicationStatement(e: MedicationEvent, req: AdherenceRequest | undefined): Json {
  return {
    resourceType: 'MedicationStatement',
    id: e.id,
    status: 'unknown',
    category: { coding: [eventCoding(e)], text: 'pill bottle opened' },
    ...medicationOf(req, e),
    subject: { reference: `Patient/${e.patientId}` },
    effectiveDateTime: e.effective,
    dateAsserted: e.effective,
    ...(req ? { basedOn: [{ reference: `MedicationRequest/${req.id}` }] } : {}),
    derivedFrom: [{ reference: `Observation/${e.id}` }],
    note: [
      {
        text: `The bottle${e.deviceId ? ` (device ${e.deviceId})` : ''} was opened ${e.value} time${e.value === 1 ? '' : 's'}; taking the medication was not observed.`,
      },
    ],
  };
}

export interface DoseOutcome {
  due: string;
  status: 'on-time' | 'late' | 'missed' | 'pending';
  takenAt?: string;
}

export interface RequestAdherence {
  requestId: string;
  medication: string;
  rescue: boolean;
  /** Scheduled requests: doses due in the window (a dose whose window has not closed is `pending`). */
  dosesDue: number;
  takenOnTime: number;
  takenLate: number;
  missed: number;
  pending: number;
  /** takenOnTime / (dosesDue − pending), null when nothing was due yet. */
  onTimeRate: number | null;
  doses: DoseOutcome[];
  /** Rescue requests: uses (events) per UTC day, oldest first. */
  usesPerDay: Array<{ day: string; uses: number; actuations: number }>;
}

export interface AdherenceOptions {
  from: number;
  to: number;
  /** ± minutes around a due time that count as on time (default 60; UNVERIFIED, configurable). */
  onTimeMinutes?: number;
  /** Patient local time offset for times of day (default 0 = UTC). */
  utcOffsetMinutes?: number;
}

const DAY = 86_400_000;

/** Due times (ms) of a scheduled request within [from, to). */
export function dueTimes(r: AdherenceRequest, from: number, to: number, utcOffsetMinutes = 0): number[] {
  const start = Math.max(from, r.start ? Date.parse(r.start) : from);
  const end = Math.min(to, r.end ? Date.parse(r.end) : to);
  const out: number[] = [];
  const off = utcOffsetMinutes * 60_000;
  const firstDay = Math.floor((start + off) / DAY) * DAY - off;
  for (let day = firstDay; day < end; day += DAY) {
    if (r.timesOfDay.length > 0) {
      for (const t of r.timesOfDay) {
        const [h, m] = t.split(':').map(Number);
        const at = day + ((h as number) * 60 + (m as number)) * 60_000;
        if (at >= start && at < end) out.push(at);
      }
    } else if (r.perDay && r.perDay >= 1) {
      // No times of day: doses spread evenly over the local day (judged per day, see computeAdherence).
      const n = Math.round(r.perDay);
      for (let i = 0; i < n; i++) {
        const at = day + Math.round(((i + 0.5) * DAY) / n);
        if (at >= start && at < end) out.push(at);
      }
    }
  }
  return out;
}

export function computeAdherence(
  requests: readonly AdherenceRequest[],
  events: readonly MedicationEvent[],
  o: AdherenceOptions,
): RequestAdherence[] {
  const win = (o.onTimeMinutes ?? 60) * 60_000;
  const byRequest = new Map<string, MedicationEvent[]>();
  for (const e of events) {
    const r = requestFor(e, requests);
    if (r) byRequest.set(r.id, [...(byRequest.get(r.id) ?? []), e]);
  }
  return requests.map((r) => {
    const evs = (byRequest.get(r.id) ?? [])
      .map((e) => ({ e, at: Date.parse(e.effective) }))
      .sort((a, b) => a.at - b.at);
    const out: RequestAdherence = {
      requestId: r.id,
      medication: r.text,
      rescue: r.rescue,
      dosesDue: 0,
      takenOnTime: 0,
      takenLate: 0,
      missed: 0,
      pending: 0,
      onTimeRate: null,
      doses: [],
      usesPerDay: [],
    };
    if (r.rescue) {
      const days = new Map<string, { uses: number; actuations: number }>();
      for (let d = Math.floor(o.from / DAY) * DAY; d < o.to; d += DAY)
        days.set(new Date(d).toISOString().slice(0, 10), { uses: 0, actuations: 0 });
      for (const { e, at } of evs) {
        if (at < o.from || at >= o.to) continue;
        const k = new Date(at).toISOString().slice(0, 10);
        const v = days.get(k) ?? { uses: 0, actuations: 0 };
        v.uses += 1;
        v.actuations += e.value;
        days.set(k, v);
      }
      out.usesPerDay = [...days].map(([day, v]) => ({ day, ...v }));
      return out;
    }
    // Scheduled: look a little before the window so the first dose can be judged.
    const due = dueTimes(r, o.from, o.to, o.utcOffsetMinutes ?? 0);
    const allDue = dueTimes(r, o.from, o.to + DAY, o.utcOffsetMinutes ?? 0);
    const used = new Set<number>();
    for (const t of due) {
      const next = allDue[allDue.indexOf(t) + 1] ?? t + DAY;
      const onTime = evs.findIndex((x, j) => !used.has(j) && Math.abs(x.at - t) <= win);
      let status: DoseOutcome['status'];
      let takenAt: string | undefined;
      if (onTime >= 0) {
        used.add(onTime);
        status = 'on-time';
        takenAt = evs[onTime]?.e.effective;
      } else {
        const late = evs.findIndex((x, j) => !used.has(j) && x.at > t + win && x.at < next - win);
        if (late >= 0) {
          used.add(late);
          status = 'late';
          takenAt = evs[late]?.e.effective;
        } else status = t + win > o.to ? 'pending' : 'missed';
      }
      out.doses.push({ due: new Date(t).toISOString(), status, ...(takenAt ? { takenAt } : {}) });
    }
    out.dosesDue = out.doses.length;
    out.takenOnTime = out.doses.filter((d) => d.status === 'on-time').length;
    out.takenLate = out.doses.filter((d) => d.status === 'late').length;
    out.missed = out.doses.filter((d) => d.status === 'missed').length;
    out.pending = out.doses.filter((d) => d.status === 'pending').length;
    const judged = out.dosesDue - out.pending;
    out.onTimeRate = judged > 0 ? Math.round((out.takenOnTime / judged) * 1000) / 1000 : null;
    return out;
  });
}
