import type { Clock } from '../core/clock.ts';
import type { Database } from '../store/database.ts';
import { BreakGlassService } from './break-glass.ts';

export interface CareTeamContent {
  status?: string;
  subject?: { reference?: string };
  period?: { start?: string; end?: string };
  participant?: Array<{ member?: { reference?: string }; period?: { start?: string; end?: string } }>;
}

const cacheTtlMs = 5_000;

/**
 * Which patients a practitioner cares for: FHIR CareTeam resources (whatever writes them) where the
 * practitioner is a current participant and the team is active; the team's subject is the patient.
 * Patients the practitioner holds a break-glass grant for count too, for as long as it lasts
 * (src/auth/break-glass.ts). Cached briefly per practitioner so a page of requests costs one query;
 * a membership change or a grant's expiry is seen within seconds (at once for writes in this process).
 */
export class CareTeamRepository {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { at: number; patients: Set<string> }>();

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async patientsOf(practitionerId: string): Promise<Set<string>> {
    const now = this.#clock.now();
    const hit = this.#cache.get(practitionerId);
    if (hit && now - hit.at < cacheTtlMs) return hit.patients;
    const member = `Practitioner/${practitionerId}`;
    const rows = await this.#db.query<{ content: CareTeamContent }>(
      `select content from fhir_resource
       where resource_type = 'CareTeam' and not deleted and content -> 'participant' @> $1::jsonb`,
      [JSON.stringify([{ member: { reference: member } }])],
    );
    const patients = new Set<string>();
    for (const { content: team } of rows) {
      if (!isCurrentTeam(team, now)) continue;
      const ref = team.subject?.reference;
      if (!ref?.startsWith('Patient/')) continue;
      const active = (team.participant ?? []).some(
        (p) => p.member?.reference === member && isCurrentParticipant(p, now),
      );
      if (active) patients.add(ref.slice('Patient/'.length));
    }
    for (const id of await BreakGlassService.activePatients(this.#db, practitionerId, now)) patients.add(id);
    this.#cache.set(practitionerId, { at: now, patients });
    return patients;
  }

  readonly #listeners: Array<() => void> = [];

  /** Called after every invalidation (the live feed re-checks its open sockets). */
  onInvalidate(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Forget cached memberships (after a CareTeam write in this process). */
  invalidate(): void {
    this.#cache.clear();
    for (const l of this.#listeners) l();
  }
}

/**
 * The one rule of a care team in force (every module asks it): status `active` (or none given;
 * `proposed`, `suspended`, `inactive`, `entered-in-error` do not count) and the team's period
 * current.
 */
export function isCurrentTeam(team: CareTeamContent, now: number): boolean {
  if (team.status && team.status !== 'active') return false;
  return current(team.period, now);
}

/** A participation in force: its period (if any) is current. */
export function isCurrentParticipant(p: { period?: { start?: string; end?: string } }, now: number): boolean {
  return current(p.period, now);
}

function current(period: { start?: string; end?: string } | undefined, now: number): boolean {
  if (!period) return true;
  if (period.start && Date.parse(period.start) > now) return false;
  if (period.end && Date.parse(period.end) <= now) return false;
  return true;
}
