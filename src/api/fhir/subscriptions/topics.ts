import type { Basic } from '@medplum/fhirtypes';
import { DEFAULT_FHIR_NAMESPACE } from '../../../core/fhir-namespace.ts';

/**
 * The SubscriptionTopics Vigil offers (R4 Subscriptions Backport IG, topic-based). R4 has no
 * SubscriptionTopic resource: as the IG does for R4, each is published as a `Basic` carrying the
 * R5 cross-version extensions (`GET /fhir/SubscriptionTopic` answers them as a searchset), and the
 * CapabilityStatement names their canonicals on the Subscription resource (metadata.ts).
 */
export const backport = 'http://hl7.org/fhir/uv/subscriptions-backport';
const xver = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';

export type TopicKey = 'observation' | 'alert';

export interface Topic {
  key: TopicKey;
  url: string;
  title: string;
  description: string;
  /** The focus resource type of its notifications. */
  resourceType: 'Observation' | 'Flag';
  /** What triggers it, in words (the IG's resourceTrigger.description). */
  trigger: string;
}

// Topic canonicals live under the internal base (core/fhir-namespace.ts); the FHIR boundary does not
// rewrite them, so a Subscription's criteria are the same whatever VIGIL_FHIR_NAMESPACE says.
const base = `${DEFAULT_FHIR_NAMESPACE}/SubscriptionTopic`;

export const topics: readonly Topic[] = [
  {
    key: 'observation',
    url: `${base}/patient-observation`,
    title: 'New Observation of a patient',
    description:
      'An Observation was stored for a patient: a reading from a connected device (any transport), one derived from readings (NEWS2), or one created or corrected through the FHIR API.',
    resourceType: 'Observation',
    trigger: 'An Observation with a subject Patient is created',
  },
  {
    key: 'alert',
    url: `${base}/patient-alert`,
    title: 'Alert raised, acknowledged or resolved',
    description:
      'A clinical alert of a patient was raised, acknowledged or resolved. The focus is the alert as a Flag (its notifications are Communications).',
    resourceType: 'Flag',
    trigger: 'A Flag (alert) is created, acknowledged or resolved',
  },
];

export function topicByUrl(url: string): Topic | undefined {
  return topics.find((t) => t.url === url);
}

/** One topic as an R4 Basic with the R5 SubscriptionTopic cross-version extensions. */
export function topicAsBasic(t: Topic): Basic {
  return {
    resourceType: 'Basic',
    id: t.url.slice(t.url.lastIndexOf('/') + 1),
    code: {
      coding: [
        {
          system: 'http://hl7.org/fhir/fhir-types',
          code: 'SubscriptionTopic',
          display: 'SubscriptionTopic',
        },
      ],
    },
    extension: [
      { url: `${xver}.url`, valueUri: t.url },
      { url: `${xver}.title`, valueString: t.title },
      { url: `${xver}.status`, valueCode: 'active' },
      { url: `${xver}.description`, valueMarkdown: t.description },
      {
        url: `${xver}.resourceTrigger`,
        extension: [
          { url: 'description', valueMarkdown: t.trigger },
          { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${t.resourceType}` },
          { url: 'supportedInteraction', valueCode: 'create' },
          ...(t.key === 'alert' ? [{ url: 'supportedInteraction', valueCode: 'update' }] : []),
        ],
      },
      {
        url: `${xver}.canFilterBy`,
        extension: [
          { url: 'description', valueMarkdown: 'The patient (Patient/<id>)' },
          { url: 'resource', valueUri: t.resourceType },
          { url: 'filterParameter', valueString: 'patient' },
        ],
      },
      {
        url: `${xver}.notificationShape`,
        extension: [{ url: 'resource', valueUri: t.resourceType }],
      },
    ],
  };
}
