import type { Principal } from '../auth/token-service.ts';

/**
 * What happened, in Vigil's own words; `toAuditEvent` renders it as a FHIR R4 AuditEvent (who,
 * what, when, from where, outcome). Codes: DICOM DCM audit event IDs and the FHIR audit-event-type
 * `rest` with restful-interaction subtypes, as FHIR R4 AuditEvent.type / subtype prescribe.
 */
export const AuditKind = {
  /** A REST interaction with patient data (management or FHIR API). */
  rest: 'rest',
  /** Sign-in, sign-in failure, lockout, token refresh, sign-out, revocation. */
  authentication: 'authentication',
  /** Access denied, refresh-token reuse, tampered token, device topic violation. */
  securityAlert: 'security-alert',
  /** A person's account changed (roles, password, TOTP, MFA policy). */
  userSecurity: 'user-security',
  /** A device's or an integration's credential registered, rotated or revoked. */
  objectSecurity: 'object-security',
  /** All of a patient's data exported. */
  export: 'export',
  /** Patient record level actions: consent given or revoked, erasure. */
  patientRecord: 'patient-record',
  /** The audit log itself searched, exported or verified. */
  auditLogUsed: 'audit-log-used',
  /** Maintenance: retention purge. */
  application: 'application',
} as const;
export type AuditKind = (typeof AuditKind)[keyof typeof AuditKind];

export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';
export type AuditOutcome = 'success' | 'minor' | 'serious' | 'major';

export interface AuditAgent {
  kind: Principal['kind'] | 'anonymous' | 'system';
  /** User id, client id or device id. */
  id?: string | undefined;
  /** Username (also the one tried at a failed sign-in). */
  name?: string | undefined;
  roles?: readonly string[] | undefined;
  practitionerId?: string | null | undefined;
  patientId?: string | null | undefined;
  /** Network address the request came from. */
  address?: string | undefined;
}

export interface AuditEntity {
  /** FHIR resource type or Vigil object kind (Observation, Patient, Device, DeadLetter, User, Client, …). */
  type: string;
  id?: string | undefined;
  /** Search query (stored base64 as FHIR requires). */
  query?: string | undefined;
  description?: string | undefined;
}

export interface AuditInput {
  kind: AuditKind;
  /** restful-interaction code (read, search-type, create, update, delete) or a Vigil subtype (login, lockout, …). */
  subtype?: string | undefined;
  action: AuditAction;
  outcome: AuditOutcome;
  /** Why it failed or what it was, without patient data. */
  outcomeDesc?: string | undefined;
  agent: AuditAgent;
  /** The patient whose data this touched, when there is one. */
  patientId?: string | null | undefined;
  entities?: AuditEntity[] | undefined;
  requestId?: string | undefined;
}

/** A FHIR R4 AuditEvent (the subset Vigil writes). */
export interface AuditEventResource {
  resourceType: 'AuditEvent';
  id: string;
  type: Coding;
  subtype?: Coding[];
  action: AuditAction;
  recorded: string;
  outcome: '0' | '4' | '8' | '12';
  outcomeDesc?: string;
  agent: Array<{
    type?: { coding: Coding[] };
    who?: { reference?: string; identifier?: { system: string; value: string }; display?: string };
    altId?: string;
    role?: Array<{ coding: Coding[] }>;
    requestor: boolean;
    network?: { address: string; type: '2' | '1' };
  }>;
  source: { site?: string; observer: { display: string }; type: Coding[] };
  entity?: Array<{
    what?: { reference?: string; identifier?: { system: string; value: string } };
    type?: Coding;
    role?: Coding;
    query?: string;
    description?: string;
  }>;
}

interface Coding {
  system: string;
  code: string;
  display?: string;
}

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const eventType = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const restful = 'http://hl7.org/fhir/restful-interaction';
export const vigilSubtypeSystem = 'urn:vigil:audit-subtype';
export const vigilUserSystem = 'urn:vigil:user';
export const vigilClientSystem = 'urn:vigil:client';

const typeCodings: Record<AuditKind, Coding> = {
  rest: { system: eventType, code: 'rest', display: 'RESTful Operation' },
  authentication: { system: DCM, code: '110114', display: 'User Authentication' },
  'security-alert': { system: DCM, code: '110113', display: 'Security Alert' },
  'user-security': { system: DCM, code: '110137', display: 'User Security Attributes Changed' },
  'object-security': { system: DCM, code: '110135', display: 'Object Security Attributes Changed' },
  export: { system: DCM, code: '110106', display: 'Export' },
  'patient-record': { system: DCM, code: '110110', display: 'Patient Record' },
  'audit-log-used': { system: DCM, code: '110101', display: 'Audit Log Used' },
  application: { system: DCM, code: '110100', display: 'Application Activity' },
};

const restfulCodes = new Set([
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history',
  'create',
  'search',
  'search-type',
  'batch',
  'transaction',
  'operation',
]);
const dcmSubtypes: Record<string, Coding> = {
  login: { system: DCM, code: '110122', display: 'Login' },
  logout: { system: DCM, code: '110123', display: 'Logout' },
  // break-glass access (src/auth/break-glass.ts)
  'emergency-override-started': { system: DCM, code: '110127', display: 'Emergency Override Started' },
  'emergency-override-stopped': { system: DCM, code: '110138', display: 'Emergency Override Stopped' },
};

const outcomeCodes: Record<AuditOutcome, AuditEventResource['outcome']> = {
  success: '0',
  minor: '4',
  serious: '8',
  major: '12',
};

export function typeCodeOf(kind: AuditKind): string {
  return typeCodings[kind].code;
}

function subtypeCoding(subtype: string): Coding {
  if (restfulCodes.has(subtype)) return { system: restful, code: subtype };
  return dcmSubtypes[subtype] ?? { system: vigilSubtypeSystem, code: subtype };
}

function who(a: AuditAgent): AuditEventResource['agent'][number]['who'] {
  switch (a.kind) {
    case 'user': {
      const reference = a.practitionerId
        ? `Practitioner/${a.practitionerId}`
        : a.patientId
          ? `Patient/${a.patientId}`
          : undefined;
      return {
        ...(reference ? { reference } : {}),
        ...(a.id ? { identifier: { system: vigilUserSystem, value: a.id } } : {}),
        ...(a.name ? { display: a.name } : {}),
      };
    }
    case 'integration':
      return {
        ...(a.id ? { identifier: { system: vigilClientSystem, value: a.id } } : {}),
        ...(a.name ? { display: a.name } : {}),
      };
    case 'device':
      return a.id ? { reference: `Device/${a.id}` } : {};
    case 'anonymous':
      return a.name ? { display: a.name } : { display: 'anonymous' };
    case 'system':
      return { display: a.name ?? 'vigil' };
    default: {
      const never: never = a.kind;
      return never;
    }
  }
}

/** The FHIR AuditEvent for an input, with its id and recorded time. */
export function toAuditEvent(input: AuditInput, id: string, recorded: string): AuditEventResource {
  const ev: AuditEventResource = {
    resourceType: 'AuditEvent',
    id,
    type: typeCodings[input.kind],
    ...(input.subtype ? { subtype: [subtypeCoding(input.subtype)] } : {}),
    action: input.action,
    recorded,
    outcome: outcomeCodes[input.outcome],
    ...(input.outcomeDesc ? { outcomeDesc: input.outcomeDesc.slice(0, 500) } : {}),
    agent: [
      {
        ...(input.agent.roles?.length
          ? { role: input.agent.roles.map((r) => ({ coding: [{ system: 'urn:vigil:role', code: r }] })) }
          : {}),
        who: who(input.agent),
        requestor: true,
        ...(input.agent.address
          ? {
              network: {
                address: input.agent.address,
                type: input.agent.address.includes(':') || /^\d/.test(input.agent.address) ? '2' : '1',
              },
            }
          : {}),
      },
    ],
    source: {
      observer: { display: 'Vigil' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
  };
  const entities: NonNullable<AuditEventResource['entity']> = [];
  if (input.patientId) {
    entities.push({
      what: { reference: `Patient/${input.patientId}` },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  for (const e of input.entities ?? []) {
    if (e.type === 'Patient' && e.id === input.patientId && !e.query) continue;
    entities.push({
      ...(e.id ? { what: { reference: `${e.type}/${e.id}` } } : {}),
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      ...(e.query ? { query: Buffer.from(e.query, 'utf8').toString('base64') } : {}),
      description: e.description ?? e.type,
    });
  }
  if (input.requestId)
    entities.push({
      what: { identifier: { system: 'urn:vigil:request', value: input.requestId } },
      description: 'request',
    });
  if (entities.length) ev.entity = entities;
  return ev;
}

export function agentOf(p: Principal | undefined, address?: string): AuditAgent {
  if (!p) return { kind: 'anonymous', address };
  return {
    kind: p.kind,
    id: p.id,
    name: p.username,
    roles: p.roles,
    practitionerId: p.practitionerId ?? null,
    patientId: p.patientId ?? null,
    address,
  };
}
