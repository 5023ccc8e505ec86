import { isCurrentParticipant, isCurrentTeam } from '../auth/care-team-repository.ts';
import type { Recipient } from '../store/alert-repository.ts';
import type { Sql } from '../store/database.ts';

/** Who looks after a patient, read from the FHIR CareTeam resources (table fhir_resource). */
export interface CareTeamMember {
  careTeamId: string;
  practitioner: string;
  roles: string[];
}

interface CodeableConcept {
  text?: string;
  coding?: Array<{ code?: string; display?: string }>;
}

interface CareTeamContent {
  status?: string;
  subject?: { reference?: string };
  period?: { start?: string; end?: string };
  participant?: Array<{
    member?: { reference?: string };
    role?: CodeableConcept[];
    period?: { start?: string; end?: string };
  }>;
}

function roleNames(roles: CodeableConcept[] | undefined): string[] {
  const out = new Set<string>();
  for (const r of roles ?? []) {
    if (r.text) out.add(r.text.toLowerCase());
    for (const c of r.coding ?? []) {
      if (c.code) out.add(c.code.toLowerCase());
      if (c.display) out.add(c.display.toLowerCase());
    }
  }
  return [...out];
}

// Candidate rows; the access policy's rule (isCurrentTeam: status, periods) decides in code.
const active = `resource_type = 'CareTeam' and not deleted and coalesce(content->>'status', 'active') = 'active'`;

/** Current members of the patient's teams in force (`now`: epoch ms, default the wall clock). */
export async function careTeamMembers(
  sql: Sql,
  patientId: string,
  now = Date.now(),
): Promise<CareTeamMember[]> {
  const rows = await sql.query<{ id: string; content: CareTeamContent }>(
    `select id, content from fhir_resource where ${active} and content->'subject'->>'reference' = $1`,
    [`Patient/${patientId}`],
  );
  const out: CareTeamMember[] = [];
  for (const r of rows) {
    if (!isCurrentTeam(r.content, now)) continue;
    for (const p of r.content.participant ?? []) {
      if (!isCurrentParticipant(p, now)) continue;
      const ref = p.member?.reference;
      if (ref?.startsWith('Practitioner/'))
        out.push({ careTeamId: r.id, practitioner: ref, roles: roleNames(p.role) });
    }
  }
  return out;
}

/**
 * Patients whose care teams in force include this practitioner as a current participant (the
 * access policy's rule: team status active, team and participant periods current).
 */
export async function patientsOfPractitioner(
  sql: Sql,
  practitionerId: string,
  now = Date.now(),
): Promise<string[]> {
  const member = `Practitioner/${practitionerId}`;
  const rows = await sql.query<{ content: CareTeamContent }>(
    `select content from fhir_resource where ${active} and content -> 'participant' @> $1::jsonb`,
    [JSON.stringify([{ member: { reference: member } }])],
  );
  const out = new Set<string>();
  for (const { content: team } of rows) {
    if (!isCurrentTeam(team, now)) continue;
    const ref = team.subject?.reference;
    if (!ref?.startsWith('Patient/')) continue;
    if ((team.participant ?? []).some((p) => p.member?.reference === member && isCurrentParticipant(p, now)))
      out.add(ref.slice('Patient/'.length));
  }
  return [...out];
}

/** Care teams (ids) of a patient in force, for metrics per team. */
export async function careTeamsOfPatient(sql: Sql, patientId: string, now = Date.now()): Promise<string[]> {
  const rows = await sql.query<{ id: string; content: CareTeamContent }>(
    `select id, content from fhir_resource where ${active} and content->'subject'->>'reference' = $1 order by id`,
    [`Patient/${patientId}`],
  );
  return rows.filter((r) => isCurrentTeam(r.content, now)).map((r) => r.id);
}

/**
 * Care teams of several patients and the user accounts of their members (and of `named`
 * practitioners), read in one statement each so a batch of alert changes needs no query per alert.
 */
export interface RecipientContext {
  members: Map<string, CareTeamMember[]>;
  /** 'Practitioner/<id>' → user id. */
  users: Map<string, string>;
}

export async function recipientContext(
  sql: Sql,
  patientIds: Iterable<string>,
  named: Iterable<string> = [],
  now = Date.now(),
): Promise<RecipientContext> {
  const patients = [...new Set(patientIds)];
  const namedIds = [...new Set(named)].map((p) => p.replace(/^Practitioner\//, ''));
  const members = new Map<string, CareTeamMember[]>(patients.map((p) => [p, []]));
  const users = new Map<string, string>();
  if (patients.length === 0 && namedIds.length === 0) return { members, users };
  const [teams, named_] = await Promise.all([
    patients.length === 0
      ? []
      : sql.query<{ id: string; content: CareTeamContent; user_ids: Record<string, string> | null }>(
          `select t.id, t.content,
             (select jsonb_object_agg(u.practitioner_id, u.id) from app_user u
               where not u.disabled and u.practitioner_id in (
                 select substr(p->'member'->>'reference', 14)
                 from jsonb_array_elements(coalesce(t.content->'participant', '[]'::jsonb)) p
                 where p->'member'->>'reference' like 'Practitioner/%')) as user_ids
           from fhir_resource t
           where t.resource_type = 'CareTeam' and not t.deleted
             and coalesce(t.content->>'status', 'active') = 'active'
             and t.content->'subject'->>'reference' = any($1::text[])`,
          [patients.map((p) => `Patient/${p}`)],
        ),
    namedIds.length === 0
      ? []
      : sql.query<{ id: string; practitioner_id: string }>(
          'select id, practitioner_id from app_user where practitioner_id = any($1::text[]) and not disabled',
          [namedIds],
        ),
  ]);
  const teamsOf = new Map<string, string[]>(); // care team → its patients
  for (const r of teams) {
    const patientId = r.content.subject?.reference?.replace(/^Patient\//, '');
    if (!patientId || !isCurrentTeam(r.content, now)) continue;
    teamsOf.set(r.id, [...(teamsOf.get(r.id) ?? []), patientId]);
    const list = members.get(patientId) ?? [];
    for (const p of r.content.participant ?? []) {
      if (!isCurrentParticipant(p, now)) continue;
      const ref = p.member?.reference;
      if (ref?.startsWith('Practitioner/'))
        list.push({ careTeamId: r.id, practitioner: ref, roles: roleNames(p.role) });
    }
    members.set(patientId, list);
    for (const [pid, uid] of Object.entries(r.user_ids ?? {}))
      if (!users.has(`Practitioner/${pid}`)) users.set(`Practitioner/${pid}`, uid);
  }
  for (const u of named_)
    if (!users.has(`Practitioner/${u.practitioner_id}`)) users.set(`Practitioner/${u.practitioner_id}`, u.id);
  await addOnCall(sql, teamsOf, members, users, now);
  return { members, users };
}

/**
 * The people on call for the patients' care teams at `now` (table care_team_on_call) join the team
 * for the escalation tiers: a tier whose roles include the shift's role (by default `on-call`)
 * reaches whoever holds the shift, whether or not they are a participant of the CareTeam resource.
 */
async function addOnCall(
  sql: Sql,
  teamsOf: Map<string, string[]>,
  members: Map<string, CareTeamMember[]>,
  users: Map<string, string>,
  now: number,
): Promise<void> {
  if (teamsOf.size === 0) return;
  const at = new Date(now).toISOString();
  const shifts = await sql.query<{
    care_team_id: string;
    role: string;
    user_id: string;
    practitioner_id: string;
  }>(
    `select s.care_team_id, s.role, u.id as user_id, u.practitioner_id
       from care_team_on_call s join app_user u on u.id = s.user_id
      where s.care_team_id = any($1::text[]) and s.starts_at <= $2 and s.ends_at > $2
        and not u.disabled and u.practitioner_id is not null
      order by s.starts_at, s.id`,
    [[...teamsOf.keys()], at],
  );
  for (const s of shifts) {
    const practitioner = `Practitioner/${s.practitioner_id}`;
    for (const patientId of teamsOf.get(s.care_team_id) ?? [])
      members
        .get(patientId)
        ?.push({ careTeamId: s.care_team_id, practitioner, roles: [s.role.toLowerCase()] });
    users.set(practitioner, s.user_id);
  }
}

/** The recipients of a tier from a prefetched context (no I/O): members with one of its roles, plus practitioners named directly. */
export function recipientsFrom(
  ctx: RecipientContext,
  patientId: string,
  tier: { roles: string[]; practitioners?: string[] | undefined },
): Recipient[] {
  const wanted = new Set(tier.roles.map((r) => r.toLowerCase()));
  const seen = new Map<string, Recipient>();
  for (const m of ctx.members.get(patientId) ?? []) {
    const role = m.roles.find((r) => wanted.has(r));
    if (role && !seen.has(m.practitioner)) seen.set(m.practitioner, { practitioner: m.practitioner, role });
  }
  for (const p of tier.practitioners ?? []) if (!seen.has(p)) seen.set(p, { practitioner: p, role: 'named' });
  const list = [...seen.values()];
  for (const r of list) r.userId = ctx.users.get(r.practitioner);
  return list;
}
