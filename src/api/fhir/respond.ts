import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { allOk, badRequest, withVigilCode } from './outcomes.ts';
import type { Stored } from './resource-store.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

export const etag = (versionId: number) => `W/"${versionId}"`;

/** 'W/"3"' or '"3"' or '3' → 3. */
export function parseIfMatch(h: string | undefined): number | undefined {
  if (h === undefined || h === '') return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(h.trim());
  if (!m) throw badRequest(`If-Match must be a version ETag such as W/"1", got '${h}'`, 'If-Match');
  return Number(m[1]);
}

export function versionHeaders(s: Stored): Record<string, string> {
  return { etag: etag(s.versionId), 'last-modified': new Date(s.lastUpdated).toUTCString() };
}

/** `Prefer: return=minimal | representation | OperationOutcome`, default representation. */
export function preferReturn(req: FhirRequest): 'minimal' | 'representation' | 'OperationOutcome' {
  const m = /return=(minimal|representation|OperationOutcome)/.exec(req.headers['prefer'] ?? '');
  return (m?.[1] as 'minimal' | 'representation' | 'OperationOutcome' | undefined) ?? 'representation';
}

export function isLenient(req: FhirRequest): boolean {
  return /handling=lenient/.test(req.headers['prefer'] ?? '');
}

/** A write's answer honouring Prefer. */
export function writeResponse(
  req: FhirRequest,
  status: number,
  s: Stored,
  withLocation: boolean,
  warnings: readonly OperationOutcomeIssue[] = [],
): FhirResponse {
  const headers = versionHeaders(s);
  if (withLocation)
    headers['location'] =
      `${req.baseUrl}/${s.resource.resourceType}/${s.resource.id}/_history/${s.versionId}`;
  const pref = preferReturn(req);
  if (pref === 'minimal') return { status, headers };
  if (pref === 'OperationOutcome') {
    const ok = allOk(`${s.resource.resourceType}/${s.resource.id} version ${s.versionId}`);
    // Validation warnings (a profile this server does not have, a reference it cannot check).
    ok.issue = [...(ok.issue ?? []), ...warnings.map((w) => withVigilCode(w))];
    return { status, headers, resource: ok };
  }
  return { status, headers, resource: s.resource };
}

/** Runs fn in a transaction unless the services already are inside one (a transaction Bundle). */
export async function inTransaction<T>(svc: FhirServices, fn: (svc: FhirServices) => Promise<T>): Promise<T> {
  if (svc.sql !== svc.db) return fn(svc);
  return svc.db.transaction((tx) => fn({ ...svc, sql: tx }));
}

/** The request body as a resource of `type` (400 otherwise). */
export function bodyResource(req: FhirRequest, type: string): Resource {
  const b = req.body;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw badRequest('the request body must be a FHIR resource (JSON object)');
  const rt = (b as { resourceType?: unknown }).resourceType;
  if (rt !== type)
    throw badRequest(`the body's resourceType is '${String(rt)}', expected '${type}'`, 'resourceType');
  return b as Resource;
}
