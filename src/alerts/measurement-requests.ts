import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { VigilFhir } from '../core/fhir-namespace.ts';
import { newId } from '../core/ids.ts';
import {
  type MeasurementRequest,
  type MeasurementRequestChange,
  type MeasurementRequestRepository,
  type MeasurementRequestStatus,
  measurementRequestStatuses,
} from '../store/measurement-request-repository.ts';

/** `data.class` of the detections that are measurement requests (src/detect/measurement-request.ts). */
export const MEASUREMENT_REQUEST_CLASS = 'measurement-request';

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The record change a measurement-request detection makes, or null for any other detection (or one
 * missing the fields detection always sets — nothing is guessed). A `firing` opens the request; a
 * `cleared` closes it with the status its `data.status` names.
 */
export function requestChange(d: Detection): MeasurementRequestChange | null {
  const x = d.data ?? {};
  if (x['class'] !== MEASUREMENT_REQUEST_CLASS) return null;
  const kind = str(x['request']);
  const code = str(x['code']);
  const trigger = str(x['trigger']);
  const requestedAt = str(x['requestedAt']);
  const notBefore = str(x['after']);
  const dueBy = str(x['dueBy']);
  const status = str(x['status']) as MeasurementRequestStatus | null;
  if (!kind || !code || !trigger || !requestedAt || !notBefore || !dueBy || !status) return null;
  if (!measurementRequestStatuses.includes(status)) return null;
  const change: MeasurementRequestChange = {
    request: {
      id: newId(),
      patientId: d.patientId,
      kind,
      code,
      ruleId: str(x['ruleId']),
      triggerReadingId: trigger,
      requestedAt,
      notBefore,
      dueBy,
      instruction: str(x['instruction']),
      summary: d.summary,
    },
  };
  if (d.state === 'cleared' && status !== 'open')
    change.close = {
      status,
      outcome: str(x['outcome']) ?? status,
      fulfilledBy: status === 'fulfilled' ? str(x['fulfilledBy']) : null,
      closedAt: d.at,
    };
  return change;
}

/**
 * Records measurement requests from the detections handed to alerting (after the alerts of the
 * same batch are applied). Idempotent: a redelivered batch opens nothing twice and closes only
 * what is still open, so the detection stage may retry a batch whole.
 */
export class MeasurementRequests {
  readonly repo: MeasurementRequestRepository;
  readonly #clock: Clock;

  constructor(repo: MeasurementRequestRepository, clock: Clock) {
    this.repo = repo;
    this.#clock = clock;
  }

  async onDetections(detections: readonly Detection[]): Promise<number> {
    const changes: MeasurementRequestChange[] = [];
    for (const d of detections) {
      const c = requestChange(d);
      if (c) changes.push(c);
    }
    if (changes.length > 0) await this.repo.apply(changes, new Date(this.#clock.now()).toISOString());
    return changes.length;
  }
}

const requestDisplay: Record<string, string> = {
  'repeat-bp': 'Repeat blood pressure measurement',
  reweigh: 'Repeat body weight measurement',
  'spo2-at-rest': 'Repeat SpO2 measurement at rest',
};

/** FHIR request-status of a measurement request: expired and cancelled requests were not done. */
const fhirStatus: Record<MeasurementRequestStatus, 'active' | 'completed' | 'revoked'> = {
  open: 'active',
  fulfilled: 'completed',
  expired: 'revoked',
  cancelled: 'revoked',
};

/** The FHIR request statuses that select these record statuses (ServiceRequest search). */
export function statusesOfFhir(codes: readonly string[]): MeasurementRequestStatus[] {
  return measurementRequestStatuses.filter((s) => codes.includes(fhirStatus[s]));
}

/**
 * A measurement request as a FHIR R4 ServiceRequest (read-only view): the measurement asked for
 * (LOINC `code`), when (`occurrencePeriod` from not-before to due-by), why (`reasonReference`: the
 * reading that opened it), what the patient is told (`patientInstruction`), and the reading that
 * answered it (`supportingInfo`). Vigil's own status and outcome ride in extensions.
 */
export function requestAsServiceRequest(m: MeasurementRequest): Record<string, unknown> {
  return {
    resourceType: 'ServiceRequest',
    id: m.id,
    meta: { versionId: '1', lastUpdated: m.updatedAt },
    extension: [
      { url: VigilFhir.measurementRequestStatus, valueCode: m.status },
      { url: VigilFhir.measurementRequestOutcome, valueCode: m.outcome },
    ],
    status: fhirStatus[m.status],
    intent: 'order',
    code: {
      coding: [{ system: 'http://loinc.org', code: m.code }],
      text: requestDisplay[m.kind] ?? m.kind,
    },
    subject: { reference: `Patient/${m.patientId}` },
    occurrencePeriod: { start: m.notBefore, end: m.dueBy },
    authoredOn: m.requestedAt,
    reasonReference: [{ reference: `Observation/${m.triggerReadingId}` }],
    ...(m.fulfilledBy ? { supportingInfo: [{ reference: `Observation/${m.fulfilledBy}` }] } : {}),
    ...(m.instruction ? { patientInstruction: m.instruction } : {}),
    note: [{ text: m.summary }],
  };
}
