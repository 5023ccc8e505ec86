/**
 * HL7 v2 ADT drives admission, transfer and discharge (docs/hl7v2.md § ADT):
 *
 * - A01 admit / A04 register: the Patient is matched by a PID-3 identifier (value and assigning
 *   authority) or created; an Encounter in progress at the PV1-3 bed; the bed's bedside devices are
 *   associated with the patient from the event time.
 * - A02 transfer: the Encounter's location changes; the old bed's devices are dissociated, the new
 *   bed's associated. A03 discharge: the Encounter finishes, the bed's devices are dissociated.
 * - A08 update: demographics. A11 cancel admit: the Encounter is cancelled, devices dissociated.
 *   A13 cancel discharge: the Encounter is in progress again, devices associated again.
 * - A40 merge: the MRG-1 patient's readings, device assignments, alerts and visits move to the PID
 *   patient; the merged Patient is marked inactive and `replaced-by` the surviving one. Audited.
 *
 * Idempotent on (MSH-3, MSH-10): a resent message is acknowledged again and changes nothing.
 * The wrong-patient check (`checkReading`) holds a PCD-01/04 message whose PID identifiers
 * disagree with the patient its device is associated with.
 */
import type { AuditInput } from '../audit/audit-event.ts';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { type AdtLocation, type AdtMessage, adtSender, parseAdt } from '../normalize/profiles/hl7v2-adt.ts';
import type { PatientIdentifier } from '../normalize/profiles/hl7v2-cx.ts';
import type { AdtRepository, VisitRow } from '../store/adt-repository.ts';
import type { Database, Sql } from '../store/database.ts';
import type { AssignmentRow } from '../store/device-repository.ts';

export const AdtReason = {
  senderNotAllowed: 'VIGIL_ERR_HL7V2_ADT_SENDER_NOT_ALLOWED',
  unknownPatient: 'VIGIL_ERR_HL7V2_ADT_UNKNOWN_PATIENT',
  ambiguousPatient: 'VIGIL_ERR_HL7V2_ADT_AMBIGUOUS_PATIENT',
  noVisit: 'VIGIL_ERR_HL7V2_ADT_NO_VISIT',
  association: 'VIGIL_ERR_HL7V2_ADT_ASSOCIATION',
  wrongPatient: 'VIGIL_ERR_HL7V2_WRONG_PATIENT',
} as const;

type Resource = Record<string, unknown> & { resourceType: string; id: string };

/** FHIR resources (Patient, Encounter) in the caller's transaction, indexed for search (wired in server.ts). */
export interface FhirRecords {
  read(sql: Sql, type: 'Patient' | 'Encounter', id: string): Promise<Resource | undefined>;
  create(sql: Sql, resource: Resource): Promise<void>;
  update(sql: Sql, resource: Resource): Promise<void>;
}

/** The device registry's time-bounded assignments (DeviceService). */
export interface DeviceAssociations {
  assign(deviceId: string, patientId: string, start?: string): Promise<unknown>;
  unassign(deviceId: string, at?: string): Promise<unknown>;
  assignments(deviceId: string): Promise<AssignmentRow[]>;
  patientAt(deviceId: string, effective: string): Promise<string | null>;
  forgetAssignments(deviceId: string): void;
}

export interface AdtServiceOptions {
  db: Database;
  repo: AdtRepository;
  fhir: FhirRecords;
  devices: DeviceAssociations;
  audit: { record(input: AuditInput): Promise<void> };
  clock: Clock;
  log: Logger;
  /** Readings the device stored unattributed from `start` on become the patient's (as a manual assignment does). */
  attribute?: (deviceId: string, patientId: string, start: string) => Promise<unknown>;
  /** Whether the patient consents to monitoring: a recorded refusal keeps the bed's devices unassociated. */
  monitoringPermitted: (patientId: string) => Promise<boolean>;
  /** MSH-3 namespace ids whose ADT messages are applied (VIGIL_ADT_SENDERS); empty = ADT off. */
  senders: readonly string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * PV1-2 → Encounter.class. UNVERIFIED (not in clinical-reference.md): the HL7 v2-to-FHIR mapping
 * (I → IMP, O → AMB, E → EMER, P → PRENC); other classes keep their table 0004 code.
 */
function encounterClass(pv1Class: string | null): Record<string, string> {
  const act = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  const map: Record<string, [string, string]> = {
    I: ['IMP', 'inpatient encounter'],
    O: ['AMB', 'ambulatory'],
    E: ['EMER', 'emergency'],
    P: ['PRENC', 'pre-admission'],
  };
  const m = map[(pv1Class ?? 'I').toUpperCase()];
  if (m) return { system: act, code: m[0], display: m[1] };
  return { system: 'http://terminology.hl7.org/CodeSystem/v2-0004', code: pv1Class as string };
}

const toFhirIdentifier = (i: PatientIdentifier) => ({
  ...(i.type
    ? { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: i.type }] } }
    : {}),
  ...(i.system ? { system: i.system } : {}),
  value: i.value,
});

const locationEntry = (l: AdtLocation, status: 'active' | 'completed') => ({
  location: { identifier: { system: 'urn:vigil:hl7v2:bed', value: l.key }, display: l.display },
  status,
});

export class AdtService {
  readonly #o: AdtServiceOptions;
  constructor(opts: AdtServiceOptions) {
    this.#o = opts;
  }

  /** Applies one ADT message; throws a coded VigilError (status < 500) to refuse it. */
  async apply(bytes: Buffer, receivedAt: number): Promise<{ duplicate: boolean; patientId: string | null }> {
    // Who sent it, before reading further: an ADT system not named here changes nothing.
    const sender = adtSender(bytes);
    if (this.#o.senders.length === 0)
      throw new VigilError(
        'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
        'ADT messages are not read by this listener (VIGIL_ADT_SENDERS is empty)',
        422,
        { field: 'MSH-9' },
      );
    if (!this.#o.senders.includes(sender)) {
      throw new VigilError(
        AdtReason.senderNotAllowed,
        `ADT from sending application ${sender || '(none)'} is not accepted (VIGIL_ADT_SENDERS)`,
        403,
        { field: 'MSH-3' },
      );
    }
    const m = parseAdt(bytes, receivedAt);
    if (await this.#o.repo.seen(m.sender, m.controlId)) return { duplicate: true, patientId: null };
    const patientId = await this.#dispatch(m);
    await this.#o.repo.record({
      sender: m.sender,
      controlId: m.controlId,
      event: m.event,
      patientId,
      receivedAt: iso(receivedAt),
    });
    this.#o.log.info({ event: `adt-${m.event}`, patientId }, 'HL7 v2 ADT applied');
    return { duplicate: false, patientId };
  }

  async #dispatch(m: AdtMessage): Promise<string> {
    switch (m.event) {
      case 'A01':
      case 'A04':
        return this.#admit(m);
      case 'A08':
        return this.#db(async (sql) => (await this.#patient(sql, m, true)).id, m, 'U');
      case 'A02':
        return this.#transfer(m);
      case 'A03':
      case 'A11':
        return this.#end(m);
      case 'A13':
        return this.#cancelDischarge(m);
      case 'A40':
        return this.#merge(m);
    }
  }

  /** Runs fn in a transaction and audits the write against the patient it returns. */
  async #db(fn: (sql: Sql) => Promise<string>, m: AdtMessage, action: 'C' | 'U'): Promise<string> {
    const patientId = await this.#o.db.transaction(fn);
    await this.#audit(m, patientId, action);
    return patientId;
  }

  async #audit(m: AdtMessage, patientId: string, action: 'C' | 'U', desc?: string): Promise<void> {
    await this.#o.audit.record({
      kind: 'patient-record',
      subtype: `hl7v2-adt-${m.event.toLowerCase()}`,
      action,
      outcome: 'success',
      ...(desc ? { outcomeDesc: desc } : {}),
      agent: { kind: 'system', id: `hl7v2:${m.sender}`, name: `HL7 v2 ADT ${m.sender}` },
      patientId,
      entities: [{ type: 'Patient', id: patientId }],
    });
  }

  /** The Vigil patients named by these identifiers, following `replaced-by` links of merged ones. */
  async #resolve(sql: Sql, identifiers: readonly PatientIdentifier[]): Promise<string[]> {
    const found = new Set<string>();
    for (const i of identifiers)
      for (const id of await this.#o.repo.patientsWithIdentifier(sql, i.system, i.value)) found.add(id);
    const out = new Set<string>();
    for (let id of found) {
      for (let hops = 0; hops < 10; hops++) {
        const p = await this.#o.fhir.read(sql, 'Patient', id);
        const next = replacedBy(p);
        if (!next) break;
        id = next;
      }
      out.add(id);
    }
    return [...out];
  }

  /** The PID patient: matched (demographics refreshed) or, when `create`, created. */
  async #patient(sql: Sql, m: AdtMessage, create: boolean): Promise<Resource> {
    const ids = await this.#resolve(sql, m.patient.identifiers);
    if (ids.length > 1)
      throw new VigilError(
        AdtReason.ambiguousPatient,
        `PID-3 identifiers name ${ids.length} different patients`,
        422,
        { field: 'PID-3' },
      );
    const demographics = {
      ...(m.patient.family || m.patient.given.length
        ? {
            name: [
              {
                use: 'official',
                ...(m.patient.family ? { family: m.patient.family } : {}),
                ...(m.patient.given.length ? { given: m.patient.given } : {}),
              },
            ],
          }
        : {}),
      ...(m.patient.gender ? { gender: m.patient.gender } : {}),
      ...(m.patient.birthDate ? { birthDate: m.patient.birthDate } : {}),
    };
    const existing = ids[0] ? await this.#o.fhir.read(sql, 'Patient', ids[0]) : undefined;
    if (!existing) {
      if (!create)
        throw new VigilError(AdtReason.unknownPatient, 'no patient has a PID-3 identifier', 422, {
          field: 'PID-3',
        });
      const p: Resource = {
        resourceType: 'Patient',
        id: newId(),
        identifier: m.patient.identifiers.map(toFhirIdentifier),
        active: true,
        ...demographics,
      };
      await this.#o.fhir.create(sql, p);
      return p;
    }
    if (!create) return existing;
    const known = (existing['identifier'] as Array<{ system?: string; value?: string }> | undefined) ?? [];
    const added = m.patient.identifiers.filter(
      (i) => !known.some((k) => k.value === i.value && (k.system ?? null) === i.system),
    );
    const updated: Resource = {
      ...existing,
      ...demographics,
      identifier: [...known, ...added.map(toFhirIdentifier)],
    };
    await this.#o.fhir.update(sql, updated);
    return updated;
  }

  async #admit(m: AdtMessage): Promise<string> {
    const at = m.admitAt ?? m.eventAt;
    let moved: { from: string | null; to: string | null } = { from: null, to: m.location?.key ?? null };
    const patientId = await this.#db(
      async (sql) => {
        const patient = await this.#patient(sql, m, true);
        const open = await this.#o.repo.openVisit(sql, patient.id);
        if (open) {
          // Admitted again while in progress (a second A01): the visit stays, at the bed now named.
          moved = { from: open.bed, to: m.location?.key ?? open.bed };
          if (m.location && m.location.key !== open.bed) await this.#relocate(sql, open, m.location);
          return patient.id;
        }
        const encounter: Resource = {
          resourceType: 'Encounter',
          id: newId(),
          status: 'in-progress',
          class: encounterClass(m.patientClass),
          subject: { reference: `Patient/${patient.id}` },
          ...(m.visitNumber ? { identifier: [{ value: m.visitNumber }] } : {}),
          period: { start: iso(at) },
          ...(m.location ? { location: [locationEntry(m.location, 'active')] } : {}),
        };
        await this.#o.fhir.create(sql, encounter);
        await this.#o.repo.saveVisit(sql, {
          encounterId: encounter.id,
          patientId: patient.id,
          bed: m.location?.key ?? null,
          status: 'in-progress',
          startedAt: iso(at),
          endedAt: null,
        });
        return patient.id;
      },
      m,
      'C',
    );
    if (moved.from && moved.from !== moved.to) await this.#dissociate(moved.from, patientId, m.eventAt);
    if (moved.to) await this.#associate(moved.to, patientId, m.eventAt);
    return patientId;
  }

  /** The Encounter's current location completed, the new one active; the visit row's bed. */
  async #relocate(sql: Sql, visit: VisitRow, to: AdtLocation): Promise<void> {
    const enc = await this.#o.fhir.read(sql, 'Encounter', visit.encounterId);
    if (enc) {
      const locations = ((enc['location'] as Array<Record<string, unknown>> | undefined) ?? []).map((l) => ({
        ...l,
        status: 'completed',
      }));
      await this.#o.fhir.update(sql, { ...enc, location: [...locations, locationEntry(to, 'active')] });
    }
    await this.#o.repo.saveVisit(sql, { ...visit, bed: to.key });
  }

  async #transfer(m: AdtMessage): Promise<string> {
    const to = m.location as AdtLocation;
    let from: string | null = null;
    const patientId = await this.#db(
      async (sql) => {
        const patient = await this.#patient(sql, m, false);
        const open = await this.#o.repo.openVisit(sql, patient.id);
        if (!open) throw noVisit('A02', 'in progress');
        from = open.bed;
        if (open.bed !== to.key) await this.#relocate(sql, open, to);
        return patient.id;
      },
      m,
      'U',
    );
    if (from && from !== to.key) await this.#dissociate(from, patientId, m.eventAt);
    await this.#associate(to.key, patientId, m.eventAt);
    return patientId;
  }

  /** A03 discharge (finished) and A11 cancel admit (cancelled). */
  async #end(m: AdtMessage): Promise<string> {
    const status = m.event === 'A03' ? 'finished' : 'cancelled';
    const endAt = m.event === 'A03' ? (m.dischargeAt ?? m.eventAt) : m.eventAt;
    let bed: string | null = null;
    const patientId = await this.#db(
      async (sql) => {
        const patient = await this.#patient(sql, m, false);
        const open = await this.#o.repo.openVisit(sql, patient.id);
        if (!open) throw noVisit(m.event, 'in progress');
        bed = open.bed;
        const enc = await this.#o.fhir.read(sql, 'Encounter', open.encounterId);
        if (enc) {
          const period = (enc['period'] as Record<string, string> | undefined) ?? {};
          await this.#o.fhir.update(sql, {
            ...enc,
            status,
            ...(status === 'finished' ? { period: { ...period, end: iso(endAt) } } : {}),
            ...(enc['location']
              ? {
                  location: (enc['location'] as Array<Record<string, unknown>>).map((l) => ({
                    ...l,
                    status: 'completed',
                  })),
                }
              : {}),
          });
        }
        await this.#o.repo.saveVisit(sql, { ...open, status, endedAt: iso(endAt) });
        return patient.id;
      },
      m,
      'U',
    );
    if (bed) await this.#dissociate(bed, patientId, endAt);
    return patientId;
  }

  async #cancelDischarge(m: AdtMessage): Promise<string> {
    let bed: string | null = null;
    const patientId = await this.#db(
      async (sql) => {
        const patient = await this.#patient(sql, m, false);
        const last = await this.#o.repo.lastVisit(sql, patient.id);
        if (last?.status !== 'finished') throw noVisit('A13', 'finished');
        bed = last.bed;
        const enc = await this.#o.fhir.read(sql, 'Encounter', last.encounterId);
        if (enc) {
          const { end: _end, ...period } = (enc['period'] as Record<string, string> | undefined) ?? {};
          const locations = (enc['location'] as Array<Record<string, unknown>> | undefined) ?? [];
          await this.#o.fhir.update(sql, {
            ...enc,
            status: 'in-progress',
            period,
            ...(locations.length
              ? {
                  location: locations.map((l, i) => ({
                    ...l,
                    status: i === locations.length - 1 ? 'active' : l['status'],
                  })),
                }
              : {}),
          });
        }
        await this.#o.repo.saveVisit(sql, { ...last, status: 'in-progress', endedAt: null });
        return patient.id;
      },
      m,
      'U',
    );
    if (bed) await this.#associate(bed, patientId, m.eventAt);
    return patientId;
  }

  async #merge(m: AdtMessage): Promise<string> {
    const result = await this.#o.db.transaction(async (sql) => {
      const surviving = await this.#patient(sql, m, false);
      const merged = await this.#resolve(sql, m.mergedIdentifiers);
      if (merged.length > 1)
        throw new VigilError(
          AdtReason.ambiguousPatient,
          `MRG-1 identifiers name ${merged.length} patients`,
          422,
          {
            field: 'MRG-1',
          },
        );
      const mergedId = merged[0];
      if (!mergedId)
        throw new VigilError(AdtReason.unknownPatient, 'no patient has an MRG-1 identifier', 422, {
          field: 'MRG-1',
        });
      if (mergedId === surviving.id) return { surviving: surviving.id, merged: null, counts: null };
      const counts = await this.#o.repo.moveData(sql, mergedId, surviving.id);
      for (const encounterId of counts.encounterIds) {
        const enc = await this.#o.fhir.read(sql, 'Encounter', encounterId);
        if (enc)
          await this.#o.fhir.update(sql, { ...enc, subject: { reference: `Patient/${surviving.id}` } });
      }
      const old = await this.#o.fhir.read(sql, 'Patient', mergedId);
      if (old)
        await this.#o.fhir.update(sql, {
          ...old,
          active: false,
          link: [{ other: { reference: `Patient/${surviving.id}` }, type: 'replaced-by' }],
        });
      const links = (surviving['link'] as unknown[] | undefined) ?? [];
      await this.#o.fhir.update(sql, {
        ...surviving,
        link: [...links, { other: { reference: `Patient/${mergedId}` }, type: 'replaces' }],
      });
      return { surviving: surviving.id, merged: mergedId, counts };
    });
    if (result.merged && result.counts) {
      for (const d of result.counts.deviceIds) this.#o.devices.forgetAssignments(d);
      const c = result.counts;
      const desc = `merged Patient/${result.merged} into Patient/${result.surviving}: ${c.readings} readings, ${c.assignments} device assignments, ${c.alerts} alerts, ${c.visits} visits moved; ${c.alertsLeft} active alerts left for review`;
      await this.#audit(m, result.merged, 'U', desc);
      await this.#audit(m, result.surviving, 'U', desc);
      this.#o.log.info(
        { event: 'adt-merge', ...c, deviceIds: undefined, encounterIds: undefined },
        'patients merged',
      );
    }
    return result.surviving;
  }

  /** The bed's bedside devices follow the patient admitted to it, from `at`. */
  async #associate(bed: string, patientId: string, at: number): Promise<void> {
    if (!(await this.#o.monitoringPermitted(patientId))) {
      this.#o.log.warn({ event: 'adt-no-consent', patientId }, 'bedside devices not associated: no consent');
      return;
    }
    for (const deviceId of await this.#o.repo.devicesAt(bed)) {
      const open = (await this.#o.devices.assignments(deviceId)).find((a) => a.periodEnd === null);
      if (open?.patientId === patientId) continue;
      try {
        await this.#o.devices.assign(deviceId, patientId, iso(at));
        // The monitor may have measured since the admission before the ADT message arrived.
        await this.#o.attribute?.(deviceId, patientId, iso(at));
      } catch (e) {
        throw new VigilError(
          AdtReason.association,
          `bedside device ${deviceId} could not be associated: ${(e as Error).message}`,
          422,
        );
      }
    }
  }

  /** The bed's devices end their association with this patient at `at` (not another patient's). */
  async #dissociate(bed: string, patientId: string, at: number): Promise<void> {
    for (const deviceId of await this.#o.repo.devicesAt(bed)) {
      const open = (await this.#o.devices.assignments(deviceId)).find((a) => a.periodEnd === null);
      if (!open || open.patientId !== patientId) continue;
      const end = Math.max(at, Date.parse(open.periodStart) + 1);
      await this.#o.devices.unassign(deviceId, iso(end));
    }
  }

  /**
   * The wrong-patient check of a PCD-01/04 message from `deviceId`: undefined when it may be
   * stored, else the coded reason to hold it. It disagrees when the device is associated (at
   * receipt) with a patient and the message's PID-3 either names another Vigil patient, or carries
   * identifiers of an authority the associated patient has an identifier of, none of them equal.
   * Without PID identifiers, without an association, or with nothing comparable, it agrees.
   */
  async checkReading(
    deviceId: string,
    identifiers: readonly PatientIdentifier[],
    receivedAt: number,
  ): Promise<VigilError | undefined> {
    if (identifiers.length === 0) return undefined;
    const associated = await this.#o.devices.patientAt(deviceId, iso(receivedAt));
    if (!associated) return undefined;
    const disagree = await (async (sql: Sql) => {
      const named = await this.#resolve(sql, identifiers);
      if (named.some((id) => id !== associated)) return true;
      if (named.includes(associated)) return false;
      const p = await this.#o.fhir.read(sql, 'Patient', associated);
      const own = (p?.['identifier'] as Array<{ system?: string; value?: string }> | undefined) ?? [];
      const comparable = identifiers.filter((i) => i.system && own.some((o) => o.system === i.system));
      return comparable.length > 0;
    })(this.#o.db);
    if (!disagree) return undefined;
    return new VigilError(
      AdtReason.wrongPatient,
      'PID-3 does not identify the patient the device is associated with: held for review',
      422,
      { field: 'PID-3' },
    );
  }
}

function replacedBy(p: Resource | undefined): string | undefined {
  const links = (p?.['link'] as Array<{ type?: string; other?: { reference?: string } }> | undefined) ?? [];
  const ref = links.find((l) => l.type === 'replaced-by')?.other?.reference;
  return ref?.startsWith('Patient/') ? ref.slice(8) : undefined;
}

function noVisit(event: string, state: string): VigilError {
  return new VigilError(AdtReason.noVisit, `${event}: the patient has no visit ${state}`, 422, {
    field: 'PV1',
  });
}
