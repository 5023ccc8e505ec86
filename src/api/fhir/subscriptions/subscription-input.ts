import type { Subscription } from '@medplum/fhirtypes';
import { FhirError, invalidResource, outcome } from '../outcomes.ts';
import { checkResource } from '../validate.ts';
import { backport, type Topic, topicByUrl, topics } from './topics.ts';

/** What the notifications of a subscription carry (the backport's payload content codes). */
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** A Subscription as Vigil acts on it: the backport profile's elements, checked. */
export interface SubscriptionSpec {
  topic: Topic;
  /** `_criteria` filter: the patient whose events are wanted (null: every patient the owner may read). */
  patientId: string | null;
  /** rest-hook: POSTed to `endpoint`; websocket: sent to the sockets bound with a `$get-ws-binding-token` token. */
  channel: 'rest-hook' | 'websocket';
  /** The rest-hook URL ('' for websocket). */
  endpoint: string;
  /** `Name: value` lines sent with every notification (channel.header). */
  headers: Array<[string, string]>;
  content: PayloadContent;
  contentType: 'application/fhir+json' | 'application/json';
  /** Seconds; null: no heartbeats. */
  heartbeatSeconds: number | null;
  /** Seconds a receiver has to answer one notification. */
  timeoutSeconds: number;
  /** Events per notification the client accepts (Vigil sends one event per notification). */
  maxCount: number | null;
  /** After this instant no further events are recorded. */
  end: string | null;
}

export const ext = {
  filter: `${backport}/StructureDefinition/backport-filter-criteria`,
  content: `${backport}/StructureDefinition/backport-payload-content`,
  heartbeat: `${backport}/StructureDefinition/backport-heartbeat-period`,
  timeout: `${backport}/StructureDefinition/backport-timeout`,
  maxCount: `${backport}/StructureDefinition/backport-max-count`,
} as const;
export const subscriptionProfile = `${backport}/StructureDefinition/backport-subscription`;

/** Limits Vigil sets (docs/fhir.md, Subscriptions). */
export const limits = {
  timeoutSeconds: { default: 10, max: 60 },
  heartbeatSeconds: { min: 10, max: 86_400 },
  headers: 10,
  headerChars: 1_000,
} as const;

const invalid = (details: string, expression: string) =>
  new FhirError(400, outcome('error', 'invalid', details, expression, 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID'));

const unsupportedTopic = (url: string) =>
  new FhirError(
    422,
    outcome(
      'error',
      'not-supported',
      `'${url.slice(0, 200)}' is not a SubscriptionTopic of this server (GET /fhir/SubscriptionTopic lists them: ${topics.map((t) => t.url).join(', ')})`,
      'Subscription.criteria',
      'VIGIL_ERR_FHIR_SUBSCRIPTION_TOPIC',
    ),
  );

const unsupportedChannel = (details: string) =>
  new FhirError(
    400,
    outcome(
      'error',
      'not-supported',
      details,
      'Subscription.channel.type',
      'VIGIL_ERR_FHIR_SUBSCRIPTION_CHANNEL',
    ),
  );

type Extended = { extension?: Array<Record<string, unknown> & { url?: string }> };

function extensionValues(el: Extended | undefined, url: string): Array<Record<string, unknown>> {
  return (el?.extension ?? []).filter((e) => e.url === url);
}

function oneInteger(el: Extended | undefined, url: string, key: string, where: string): number | null {
  const found = extensionValues(el, url);
  if (found.length === 0) return null;
  if (found.length > 1) throw invalid(`at most one ${url} extension`, where);
  const v = (found[0] as Record<string, unknown>)[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw invalid(`${url} needs ${key} (a non-negative integer)`, where);
  return v;
}

/** `<Type>?patient=Patient/<id>` (or a bare id): the one filter the topics offer. */
function parseFilter(raw: unknown, topic: Topic): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 500)
    throw invalid(
      'the filter criteria must be a string like Observation?patient=Patient/<id>',
      'Subscription.criteria',
    );
  const q = raw.indexOf('?');
  const type = q === -1 ? raw : raw.slice(0, q);
  if (type !== topic.resourceType)
    throw invalid(
      `the filter of topic ${topic.url} is on ${topic.resourceType} (got '${type.slice(0, 64)}')`,
      'Subscription.criteria',
    );
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  let patient: string | null = null;
  for (const [k, v] of params) {
    if (k !== 'patient')
      throw invalid(
        `filter parameter '${k.slice(0, 64)}' is not offered (only patient)`,
        'Subscription.criteria',
      );
    if (patient !== null) throw invalid('one patient per Subscription', 'Subscription.criteria');
    const id = v.startsWith('Patient/') ? v.slice('Patient/'.length) : v;
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id))
      throw invalid('patient must be Patient/<id>', 'Subscription.criteria');
    patient = id;
  }
  return patient;
}

function endpointUrl(raw: unknown): string {
  if (typeof raw !== 'string')
    throw invalid('a rest-hook needs channel.endpoint', 'Subscription.channel.endpoint');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid('channel.endpoint must be an absolute http(s) URL', 'Subscription.channel.endpoint');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw invalid('channel.endpoint must use http or https', 'Subscription.channel.endpoint');
  if (u.username || u.password)
    throw invalid(
      'channel.endpoint must not carry credentials (use channel.header)',
      'Subscription.channel.endpoint',
    );
  return u.toString();
}

function headerLines(raw: unknown): Array<[string, string]> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > limits.headers)
    throw invalid(`channel.header: at most ${limits.headers} lines`, 'Subscription.channel.header');
  return raw.map((h) => {
    const m =
      typeof h === 'string' && h.length <= limits.headerChars
        ? /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e]*)$/.exec(h)
        : null;
    if (!m)
      throw invalid(
        "each channel.header line is 'Name: value' (printable ASCII)",
        'Subscription.channel.header',
      );
    const name = (m[1] as string).toLowerCase();
    if (name === 'content-type' || name === 'content-length' || name === 'host')
      throw invalid(`channel.header may not set ${name}`, 'Subscription.channel.header');
    return [m[1] as string, m[2] as string];
  });
}

/**
 * Checks a Subscription against R4 and the backport profile (topic canonical in `criteria`,
 * `_criteria` filter extension, channel type, payload content, heartbeat, timeout, max count).
 * Throws FhirErrors (400/422 OperationOutcomes), never anything else.
 */
export function parseSubscription(body: unknown, nowMs: number): SubscriptionSpec {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw invalid('the body must be a Subscription resource', 'Subscription');
  const s = body as Subscription & Record<string, unknown>;
  if (s.resourceType !== 'Subscription')
    throw invalid(
      `expected a Subscription, got ${String(s.resourceType).slice(0, 64)}`,
      'Subscription.resourceType',
    );
  const r4 = checkResource(s);
  if (r4.errors.length) throw invalidResource(400, r4.errors);
  if (s.status !== 'requested' && s.status !== 'active')
    throw invalid(
      "a new Subscription's status is 'requested' (the server activates it after the handshake)",
      'Subscription.status',
    );
  const topic = topicByUrl(s.criteria ?? '');
  if (!topic) throw unsupportedTopic(s.criteria ?? '');
  const criteriaEl = (s as { _criteria?: Extended })._criteria;
  const filters = extensionValues(criteriaEl, ext.filter);
  if (filters.length > 1) throw invalid('one filter criteria per Subscription', 'Subscription.criteria');
  const patientId = filters.length ? parseFilter(filters[0]?.['valueString'], topic) : null;
  const ch = s.channel as Subscription['channel'] & Extended & { _payload?: Extended };
  if (ch.type !== 'rest-hook' && ch.type !== 'websocket')
    throw unsupportedChannel(`channel type '${String(ch.type)}' is not offered (rest-hook, websocket)`);
  const websocket = ch.type === 'websocket';
  if (websocket && (ch.endpoint !== undefined || ch.header !== undefined))
    throw invalid(
      'a websocket channel has no endpoint nor header (bind with $get-ws-binding-token)',
      'Subscription.channel',
    );
  const payload = ch.payload ?? 'application/fhir+json';
  if (payload !== 'application/fhir+json' && payload !== 'application/json')
    throw invalid('channel.payload must be application/fhir+json', 'Subscription.channel.payload');
  const contents = extensionValues(ch._payload, ext.content);
  if (contents.length > 1) throw invalid('one payload content', 'Subscription.channel.payload');
  const contentRaw = contents[0]?.['valueCode'] ?? 'id-only';
  if (contentRaw !== 'empty' && contentRaw !== 'id-only' && contentRaw !== 'full-resource')
    throw invalid('payload content is empty, id-only or full-resource', 'Subscription.channel.payload');
  const heartbeat = oneInteger(ch, ext.heartbeat, 'valueUnsignedInt', 'Subscription.channel');
  if (
    heartbeat !== null &&
    (heartbeat < limits.heartbeatSeconds.min || heartbeat > limits.heartbeatSeconds.max)
  )
    throw invalid(
      `heartbeat period is ${limits.heartbeatSeconds.min} to ${limits.heartbeatSeconds.max} seconds`,
      'Subscription.channel',
    );
  const timeout = oneInteger(ch, ext.timeout, 'valueUnsignedInt', 'Subscription.channel');
  if (timeout !== null && (timeout < 1 || timeout > limits.timeoutSeconds.max))
    throw invalid(`timeout is 1 to ${limits.timeoutSeconds.max} seconds`, 'Subscription.channel');
  const maxCount = oneInteger(ch, ext.maxCount, 'valuePositiveInt', 'Subscription.channel');
  if (maxCount === 0) throw invalid('max count is a positive integer', 'Subscription.channel');
  if (s.end !== undefined && !(Date.parse(s.end) > nowMs))
    throw invalid('end must be in the future', 'Subscription.end');
  return {
    topic,
    patientId,
    channel: websocket ? 'websocket' : 'rest-hook',
    endpoint: websocket ? '' : endpointUrl(ch.endpoint),
    headers: websocket ? [] : headerLines(ch.header),
    content: contentRaw,
    contentType: payload,
    heartbeatSeconds: heartbeat,
    timeoutSeconds: timeout ?? limits.timeoutSeconds.default,
    maxCount,
    end: s.end ?? null,
  };
}
