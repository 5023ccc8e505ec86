import type { Resource } from '@medplum/fhirtypes';
import { unprocessable } from './outcomes.ts';

/** Elements with minimum cardinality 1 in R4, for the types written through this API. */
const required: Record<string, readonly string[]> = {
  Observation: ['status', 'code'],
  DeviceMetric: ['type', 'category'],
  Flag: ['status', 'code', 'subject'],
  Communication: ['status'],
  Consent: ['status', 'scope', 'category'],
  PractitionerRole: [],
  Bundle: ['type'],
  Group: ['type', 'actual'],
};

export const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Business-level checks a resource must pass to be stored (422 otherwise): a valid id when given,
 * the required elements of its type, and a few value sets that matter for search.
 */
export function validateResource(resource: Resource): void {
  if (resource.id !== undefined && !idPattern.test(resource.id))
    throw unprocessable(`'${resource.id}' is not a valid FHIR id`, `${resource.resourceType}.id`);
  const rec = resource as unknown as Record<string, unknown>;
  for (const el of required[resource.resourceType] ?? []) {
    const v = rec[el];
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) {
      throw unprocessable(`${resource.resourceType}.${el} is required`, `${resource.resourceType}.${el}`);
    }
  }
  if (resource.resourceType === 'Observation') {
    const statuses = [
      'registered',
      'preliminary',
      'final',
      'amended',
      'corrected',
      'cancelled',
      'entered-in-error',
      'unknown',
    ];
    if (!statuses.includes(resource.status))
      throw unprocessable(
        `Observation.status '${resource.status}' is not a valid code`,
        'Observation.status',
      );
  }
  if (
    resource.resourceType === 'Patient' &&
    resource.birthDate !== undefined &&
    !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(resource.birthDate)
  ) {
    throw unprocessable(`Patient.birthDate '${resource.birthDate}' is not a FHIR date`, 'Patient.birthDate');
  }
}
