import { DEFAULT_FHIR_NAMESPACE, VigilFhir } from '../core/fhir-namespace.ts';
import type { Severity } from '../core/severity.ts';
import type { AlertRepository, DeliveryRow, NotificationRow } from '../store/alert-repository.ts';
import type { Alert } from './alert.ts';
import type { Notification } from './notifier.ts';

/**
 * Alerts as FHIR R4 `Flag` and notifications as `Communication` (read-only views for the FHIR API).
 * Standard extensions: flag-priority (priority code system flag-priority-code) and flag-detail (the
 * Observations that raised the alert). Vigil's own severity and lifecycle state ride in extensions
 * under VIGIL_FHIR_BASE.
 */
/** Vigil's one FHIR namespace (core/fhir-namespace.ts); earlier versions used https://vigil.health/fhir. */
export const VIGIL_FHIR_BASE = DEFAULT_FHIR_NAMESPACE;

const priorityCode: Record<Severity, { code: string; display: string }> = {
  info: { code: 'PN', display: 'No alarm' },
  low: { code: 'PL', display: 'Low priority' },
  medium: { code: 'PM', display: 'Medium priority' },
  high: { code: 'PH', display: 'High priority' },
  critical: { code: 'PH', display: 'High priority' },
};

const communicationPriority: Record<Severity, 'routine' | 'urgent' | 'asap' | 'stat'> = {
  info: 'routine',
  low: 'routine',
  medium: 'urgent',
  high: 'asap',
  critical: 'stat',
};

export interface FhirFlag {
  resourceType: 'Flag';
  id: string;
  meta: { versionId: string; lastUpdated: string };
  extension: Array<Record<string, unknown>>;
  status: 'active' | 'inactive';
  category: Array<{ coding: Array<{ system: string; code: string; display: string }> }>;
  code: { coding: Array<{ system: string; code: string }>; text: string };
  subject: { reference: string };
  period: { start: string; end?: string };
}

export function alertAsFlag(alert: Alert): FhirFlag {
  const p = priorityCode[alert.severity];
  return {
    resourceType: 'Flag',
    id: alert.id,
    meta: { versionId: String(alert.version), lastUpdated: alert.updatedAt },
    extension: [
      {
        url: 'http://hl7.org/fhir/StructureDefinition/flag-priority',
        valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/flag-priority-code', ...p }] },
      },
      ...alert.evidence.slice(-20).map((id) => ({
        url: 'http://hl7.org/fhir/StructureDefinition/flag-detail',
        valueReference: { reference: `Observation/${id}` },
      })),
      { url: VigilFhir.alertSeverity, valueCode: alert.severity },
      { url: VigilFhir.alertState, valueCode: alert.state },
    ],
    status: alert.state === 'resolved' ? 'inactive' : 'active',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/flag-category',
            code: 'clinical',
            display: 'Clinical',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: VigilFhir.alertRule, code: alert.rule }],
      text: alert.summary,
    },
    subject: { reference: `Patient/${alert.patientId}` },
    period: { start: alert.createdAt, ...(alert.resolvedAt ? { end: alert.resolvedAt } : {}) },
  };
}

export interface FhirCommunication {
  resourceType: 'Communication';
  id: string;
  status: 'in-progress' | 'completed' | 'not-done';
  category: Array<{ coding: Array<{ system: string; code: string; display: string }> }>;
  priority: 'routine' | 'urgent' | 'asap' | 'stat';
  subject: { reference: string };
  about: Array<{ reference: string }>;
  sent: string;
  recipient?: Array<{ reference: string }>;
  reasonCode: Array<{ coding: Array<{ system: string; code: string }> }>;
  payload: Array<{ contentString: string }>;
}

/**
 * A notification as a Communication. Status from its deliveries when given: completed once any
 * channel delivered it, not-done when all expired, in-progress otherwise.
 */
export function notificationAsCommunication(
  n: Notification | NotificationRow,
  deliveries: DeliveryRow[] = [],
): FhirCommunication {
  const payload = ('alert' in n ? n : (n.payload as unknown as Notification)) as Notification;
  const status = deliveries.some((d) => d.status === 'delivered')
    ? 'completed'
    : deliveries.length > 0 && deliveries.every((d) => d.status === 'expired')
      ? 'not-done'
      : 'in-progress';
  const recipients = payload.recipients.map((r) => ({ reference: r.practitioner }));
  return {
    resourceType: 'Communication',
    id: payload.id,
    status,
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/communication-category',
            code: 'alert',
            display: 'Alert',
          },
        ],
      },
    ],
    priority: communicationPriority[payload.alert.severity],
    subject: { reference: `Patient/${payload.alert.patientId}` },
    about: [{ reference: `Flag/${payload.alert.id}` }],
    sent: payload.createdAt,
    ...(recipients.length ? { recipient: recipients } : {}),
    reasonCode: [{ coding: [{ system: VigilFhir.notificationReason, code: payload.reason }] }],
    payload: [{ contentString: `${payload.reason} (tier ${payload.tierName}): ${payload.alert.summary}` }],
  };
}

/**
 * Read-only FHIR views over the alert tables, for the FHIR API to serve `Flag` and `Communication`
 * (wrap them in a TypeStore as the device registry view is wrapped; writes stay refused).
 */
export class AlertFhirView {
  readonly #repo: AlertRepository;
  constructor(repo: AlertRepository) {
    this.#repo = repo;
  }

  async flag(id: string): Promise<FhirFlag | undefined> {
    const a = await this.#repo.get(id);
    return a ? alertAsFlag(a) : undefined;
  }

  /** Flags of a patient (or all), newest first; `active` = not resolved. */
  async flags(
    q: { patientId?: string; active?: boolean; count?: number; offset?: number } = {},
  ): Promise<FhirFlag[]> {
    const alerts = await this.#repo.list({
      patientId: q.patientId,
      state:
        q.active === undefined
          ? undefined
          : q.active
            ? ['open', 'acknowledged', 'snoozed', 'escalated']
            : ['resolved'],
      limit: q.count ?? 100,
      offset: q.offset ?? 0,
    });
    return alerts.map(alertAsFlag);
  }

  async communication(id: string): Promise<FhirCommunication | undefined> {
    const n = await this.#repo.notification(id);
    return n
      ? notificationAsCommunication(n, await this.#repo.deliveries({ notificationId: n.id }))
      : undefined;
  }

  /** Communications about one alert (Flag), oldest first. */
  async communicationsAbout(alertId: string): Promise<FhirCommunication[]> {
    const out: FhirCommunication[] = [];
    for (const n of await this.#repo.notifications(alertId)) {
      out.push(notificationAsCommunication(n, await this.#repo.deliveries({ notificationId: n.id })));
    }
    return out;
  }
}
