import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database, Sql } from '../store/database.ts';
import { FhirResourceRepository, type IndexRows } from '../store/fhir-resource-repository.ts';

/**
 * Consent purposes Vigil enforces:
 * - monitoring: remote monitoring of the patient (devices assigned, readings attributed);
 * - integration-sharing: the patient's data shared with integrations (EHR, analytics) via the API;
 * - research: data used for research exports.
 */
export const consentPurposes = ['monitoring', 'integration-sharing', 'research'] as const;
export type ConsentPurpose = (typeof consentPurposes)[number];

/**
 * What applies when a patient has no Consent for a purpose. Monitoring and sharing with the care
 * record are treatment (HIPAA permits them without an authorization; enrolment is the consent);
 * research needs an explicit permit. A recorded deny always wins over the default.
 */
export const defaultDecision: Record<ConsentPurpose, 'permit' | 'deny'> = {
  monitoring: 'permit',
  'integration-sharing': 'permit',
  research: 'deny',
};

export const purposeSystem = 'urn:vigil:consent-purpose';
const scopeSystem = 'http://terminology.hl7.org/CodeSystem/consentscope';
const actReason = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

const scopeOf: Record<ConsentPurpose, string> = {
  monitoring: 'treatment',
  'integration-sharing': 'patient-privacy',
  research: 'research',
};
const reasonOf: Record<ConsentPurpose, string> = {
  monitoring: 'TREAT',
  'integration-sharing': 'TREAT',
  research: 'HRESCH',
};

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface ConsentResource {
  resourceType: 'Consent';
  id: string;
  meta?: { versionId?: string; lastUpdated?: string };
  status: string;
  scope: { coding: Coding[] };
  category: Array<{ coding: Coding[] }>;
  patient: { reference: string };
  dateTime: string;
  performer?: Array<{ reference?: string; display?: string }>;
  policyRule: { coding: Coding[] };
  provision: { type: 'permit' | 'deny'; period?: { start?: string; end?: string }; purpose?: Coding[] };
}

export interface ConsentDecision {
  permitted: boolean;
  /** The Consent that decided, or undefined when the default applied. */
  consentId?: string | undefined;
  basis: 'consent' | 'default';
}

/** The purpose a Consent is about: Vigil's category coding, else its scope. */
export function purposeOf(c: Partial<ConsentResource>): ConsentPurpose | undefined {
  for (const cat of c.category ?? []) {
    for (const cd of cat.coding ?? []) {
      if (cd.system === purposeSystem && (consentPurposes as readonly string[]).includes(cd.code ?? ''))
        return cd.code as ConsentPurpose;
    }
  }
  const scope = c.scope?.coding?.find((cd) => cd.system === scopeSystem)?.code;
  if (scope === 'research') return 'research';
  if (scope === 'treatment') return 'monitoring';
  if (scope === 'patient-privacy') return 'integration-sharing';
  return undefined;
}

/**
 * Consent per patient as FHIR Consent resources (in fhir_resource, so the FHIR API serves them).
 * Decisions are read from the database on every check — no cache — so a revocation takes effect
 * at once on every worker.
 */
export class ConsentService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #index: ConsentIndexer | undefined;
  readonly #repo = new FhirResourceRepository();

  /**
   * `index`: the FHIR search-index rows of a Consent (the FHIR layer's, injected by the
   * composition root), written with every Consent so that `Consent?patient=…` finds it.
   */
  constructor(db: Database, clock: Clock, index?: ConsentIndexer) {
    this.#db = db;
    this.#clock = clock;
    this.#index = index;
  }

  async list(patientId: string): Promise<ConsentResource[]> {
    const rows = await this.#db.query<{ id: string; content: ConsentResource }>(
      `select id, content from fhir_resource where resource_type = 'Consent' and not deleted
         and content -> 'patient' ->> 'reference' = $1 order by last_updated desc`,
      [`Patient/${patientId}`],
    );
    // Consents written through the FHIR API keep no id in their content.
    return rows.map((r) => ({ ...r.content, id: r.id }));
  }

  /** Writes the search index of Consents stored without one (written before they were indexed). */
  async indexMissing(): Promise<number> {
    const index = this.#index;
    if (!index) return 0;
    const rows = await this.#db.query<{ id: string; content: ConsentResource }>(
      `select r.id, r.content from fhir_resource r where r.resource_type = 'Consent' and not r.deleted
         and not exists (select 1 from fhir_reference x where x.resource_type = 'Consent' and x.id = r.id)
         and not exists (select 1 from fhir_token t where t.resource_type = 'Consent' and t.id = r.id)`,
    );
    for (const r of rows) {
      await this.#db.transaction((tx) =>
        this.#repo.reindex(tx, 'Consent', r.id, index({ ...r.content, id: r.id })),
      );
    }
    return rows.length;
  }

  async decide(patientId: string, purpose: ConsentPurpose): Promise<ConsentDecision> {
    const now = this.#clock.now();
    const active = (await this.list(patientId))
      .filter((c) => c.status === 'active' && purposeOf(c) === purpose && inForce(c.provision?.period, now))
      .sort((a, b) => Date.parse(b.dateTime ?? '') - Date.parse(a.dateTime ?? ''));
    const latest = active[0];
    if (!latest) return { permitted: defaultDecision[purpose] === 'permit', basis: 'default' };
    return { permitted: latest.provision?.type === 'permit', consentId: latest.id, basis: 'consent' };
  }

  /** Patients whose latest active Consent for the purpose is a deny (for defaults that permit). */
  async refusing(purpose: ConsentPurpose): Promise<Set<string>> {
    const now = this.#clock.now();
    const rows = await this.#db.query<{ content: ConsentResource }>(
      `select content from fhir_resource where resource_type = 'Consent' and not deleted and content ->> 'status' = 'active'`,
    );
    const latest = new Map<string, ConsentResource>();
    for (const { content: c } of rows) {
      if (purposeOf(c) !== purpose || !inForce(c.provision?.period, now)) continue;
      const patient = c.patient?.reference?.replace(/^Patient\//, '');
      if (!patient) continue;
      const prior = latest.get(patient);
      if (!prior || Date.parse(c.dateTime ?? '') > Date.parse(prior.dateTime ?? '')) latest.set(patient, c);
    }
    return new Set([...latest].filter(([, c]) => c.provision?.type !== 'permit').map(([id]) => id));
  }

  async isPermitted(patientId: string, purpose: ConsentPurpose): Promise<boolean> {
    return (await this.decide(patientId, purpose)).permitted;
  }

  /** Throws 403 VIGIL_ERR_CONSENT_DENIED when the purpose is not permitted. */
  async assertPermitted(patientId: string, purpose: ConsentPurpose): Promise<void> {
    if (!(await this.isPermitted(patientId, purpose))) {
      throw new VigilError('VIGIL_ERR_CONSENT_DENIED', `the patient has not consented to ${purpose}`, 403, {
        purpose,
      });
    }
  }

  /**
   * Records a decision (permit or deny) for a purpose: earlier active Consents for that purpose
   * become inactive and a new Consent is written — so a revocation is itself a record.
   */
  async record(
    patientId: string,
    purpose: ConsentPurpose,
    decision: 'permit' | 'deny',
    opts: { performer?: string | undefined; end?: string | undefined } = {},
  ): Promise<{ consent: ConsentResource; superseded: string[] }> {
    const now = new Date(this.#clock.now()).toISOString();
    const id = newId();
    const consent: ConsentResource = {
      resourceType: 'Consent',
      id,
      meta: { versionId: '1', lastUpdated: now },
      status: 'active',
      scope: { coding: [{ system: scopeSystem, code: scopeOf[purpose] }] },
      category: [
        { coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] },
        { coding: [{ system: purposeSystem, code: purpose }] },
      ],
      patient: { reference: `Patient/${patientId}` },
      dateTime: now,
      ...(opts.performer ? { performer: [{ reference: opts.performer }] } : {}),
      policyRule: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
            code: decision === 'permit' ? 'OPTIN' : 'OPTOUT',
          },
        ],
      },
      provision: {
        type: decision,
        period: { start: now, ...(opts.end ? { end: opts.end } : {}) },
        purpose: [{ system: actReason, code: reasonOf[purpose] }],
      },
    };
    const superseded: string[] = [];
    await this.#db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; version_id: number; content: ConsentResource }>(
        `select id, version_id, content from fhir_resource where resource_type = 'Consent' and not deleted
           and content -> 'patient' ->> 'reference' = $1 and content ->> 'status' = 'active' for update`,
        [`Patient/${patientId}`],
      );
      for (const r of rows) {
        if (purposeOf(r.content) !== purpose) continue;
        const version = r.version_id + 1;
        const updated = {
          ...r.content,
          status: 'inactive',
          meta: { ...r.content.meta, versionId: String(version), lastUpdated: now },
        };
        await writeVersion(tx, r.id, version, now, updated, true);
        await this.#reindex(tx, r.id, updated);
        superseded.push(r.id);
      }
      await writeVersion(tx, id, 1, now, consent, false);
      await this.#reindex(tx, id, consent);
    });
    return { consent, superseded };
  }

  async #reindex(tx: Sql, id: string, content: ConsentResource): Promise<void> {
    if (this.#index) await this.#repo.reindex(tx, 'Consent', id, this.#index(content));
  }
}

/** The FHIR search-index rows of a Consent. */
export type ConsentIndexer = (consent: ConsentResource) => IndexRows;

async function writeVersion(
  tx: Sql,
  id: string,
  version: number,
  at: string,
  content: ConsentResource,
  exists: boolean,
): Promise<void> {
  const json = JSON.stringify(content);
  if (exists) {
    await tx.query(
      `update fhir_resource set version_id = $2, last_updated = $3, content = $4::jsonb where resource_type = 'Consent' and id = $1`,
      [id, version, at, json],
    );
  } else {
    await tx.query(
      `insert into fhir_resource (resource_type, id, version_id, last_updated, content) values ('Consent', $1, $2, $3, $4::jsonb)`,
      [id, version, at, json],
    );
  }
  await tx.query(
    `insert into fhir_resource_history (resource_type, id, version_id, last_updated, content) values ('Consent', $1, $2, $3, $4::jsonb)`,
    [id, version, at, json],
  );
}

function inForce(period: { start?: string; end?: string } | undefined, now: number): boolean {
  if (!period) return true;
  if (period.start && Date.parse(period.start) > now) return false;
  if (period.end && Date.parse(period.end) <= now) return false;
  return true;
}
