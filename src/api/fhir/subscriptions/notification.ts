import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { backport } from './topics.ts';

export type NotificationType =
  | 'handshake'
  | 'heartbeat'
  | 'event-notification'
  | 'query-status'
  | 'query-event';

/** One event as carried in a notification: its number, time, focus ('Type/id') and the focus itself. */
export interface NotifiedEvent {
  eventNumber: number;
  at: string;
  focus: string;
  /** The focus resource (payload full-resource); undefined otherwise. */
  resource?: Resource | undefined;
}

export interface StatusInput {
  subscriptionId: string;
  /** Absolute FHIR base ('https://vigil.example/fhir'); references are relative without it. */
  baseUrl: string | undefined;
  topic: string;
  status: string;
  type: NotificationType;
  eventsSinceStart: number;
  events: readonly NotifiedEvent[];
  /** Payload content: `empty` carries no focus. */
  content: 'empty' | 'id-only' | 'full-resource';
  error?: string | null | undefined;
}

const ref = (base: string | undefined, local: string) => (base ? `${base}/${local}` : local);

/**
 * The SubscriptionStatus of R4 (backport profile backport-subscription-status-r4): a Parameters
 * whose event numbers are strings (R4 has no integer64).
 */
export function subscriptionStatus(s: StatusInput): Parameters {
  const parameter: ParametersParameter[] = [
    {
      name: 'subscription',
      valueReference: { reference: ref(s.baseUrl, `Subscription/${s.subscriptionId}`) },
    },
    { name: 'topic', valueCanonical: s.topic },
    { name: 'status', valueCode: s.status },
    { name: 'type', valueCode: s.type },
    { name: 'events-since-subscription-start', valueString: String(s.eventsSinceStart) },
  ];
  for (const e of s.events) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(e.eventNumber) },
      { name: 'timestamp', valueInstant: e.at },
    ];
    if (s.content !== 'empty')
      part.push({ name: 'focus', valueReference: { reference: ref(s.baseUrl, e.focus) } });
    parameter.push({ name: 'notification-event', part });
  }
  if (s.error) parameter.push({ name: 'error', valueCodeableConcept: { text: s.error } });
  return {
    resourceType: 'Parameters',
    meta: { profile: [`${backport}/StructureDefinition/backport-subscription-status-r4`] },
    parameter,
  };
}

/**
 * A notification Bundle (backport-subscription-notification-r4): type history, the status first,
 * then one entry per event focus (with the resource for full-resource, its URL only for id-only).
 */
export function notificationBundle(s: StatusInput, nowIso: string): Bundle {
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: subscriptionStatus(s),
      request: { method: 'GET', url: `Subscription/${s.subscriptionId}/$status` },
      response: { status: '200' },
    },
  ];
  if (s.content !== 'empty') {
    for (const e of s.events) {
      const [type] = e.focus.split('/');
      entry.push({
        fullUrl: ref(s.baseUrl, e.focus),
        ...(s.content === 'full-resource' && e.resource ? { resource: e.resource } : {}),
        request: { method: 'POST', url: type as string },
        response: { status: '201' },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [`${backport}/StructureDefinition/backport-subscription-notification-r4`] },
    type: 'history',
    timestamp: nowIso,
    entry,
  };
}
