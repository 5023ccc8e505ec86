import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database, Sql } from '../store/database.ts';

/** How a privacy officer judged a break-glass access afterwards. */
export const reviewOutcomes = ['appropriate', 'inappropriate'] as const;
export type ReviewOutcome = (typeof reviewOutcomes)[number];

export type GrantStatus = 'active' | 'expired' | 'ended';

export interface BreakGlassGrant {
  id: string;
  userId: string;
  practitionerId: string;
  patientId: string;
  reason: string;
  grantedAt: string;
  expiresAt: string;
  endedAt: string | null;
  endedBy: string | null;
  status: GrantStatus;
  notifiedAt: string | null;
  noticeError: string | null;
  reviewedAt: string | null;
  reviewedBy: string | null;
  reviewOutcome: ReviewOutcome | null;
  reviewNote: string | null;
}

interface Row {
  id: string;
  user_id: string;
  practitioner_id: string;
  patient_id: string;
  reason: string;
  granted_at: string | Date;
  expires_at: string | Date;
  ended_at: string | Date | null;
  ended_by: string | null;
  notified_at: string | Date | null;
  notice_error: string | null;
  reviewed_at: string | Date | null;
  reviewed_by: string | null;
  review_outcome: ReviewOutcome | null;
  review_note: string | null;
}

const iso = (v: string | Date | null): string | null => (v === null ? null : new Date(v).toISOString());

/** Shortest reason accepted: a few words that a reviewer can judge ("unconscious in ED, no team"). */
export const minReasonLength = 10;
export const maxReasonLength = 500;
/** The longest grant an administrator may configure (VIGIL_BREAK_GLASS_MAX_MINUTES). */
export const maxGrantMinutes = 720;

/**
 * Break-glass access: a clinician or nurse who must see a patient outside their care teams (an
 * emergency, a cover shift nobody set up) states why and gets that patient's data for a limited
 * time, as a care-team member would. Every grant is recorded with its reason, the privacy officers
 * are told, and each grant waits for their review; what the holder did meanwhile is in the audit
 * log (agent and patient), which the review shows beside it. The grants are read by the care-team
 * lookup (CareTeamRepository), so every access path — management API, FHIR, live feed — honours
 * them the same way and they end everywhere at once.
 */
export class BreakGlassService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #defaultMinutes: number;
  readonly #maxMinutes: number;
  readonly #changed: Array<() => void> = [];

  constructor(db: Database, clock: Clock, opts: { defaultMinutes?: number; maxMinutes?: number } = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#maxMinutes = opts.maxMinutes ?? 240;
    this.#defaultMinutes = Math.min(opts.defaultMinutes ?? 60, this.#maxMinutes);
  }

  get maxMinutes(): number {
    return this.#maxMinutes;
  }

  /** Called after a grant starts or ends (the care-team cache forgets what it knew). */
  onChange(listener: () => void): void {
    this.#changed.push(listener);
  }

  #notify(): void {
    for (const l of this.#changed) l();
  }

  /** The patients `practitionerId` holds a grant for now (the care-team lookup adds them). */
  static async activePatients(sql: Sql, practitionerId: string, now: number): Promise<string[]> {
    const rows = await sql.query<{ patient_id: string }>(
      `select distinct patient_id from break_glass_grant
        where practitioner_id = $1 and ended_at is null and expires_at > $2`,
      [practitionerId, new Date(now).toISOString()],
    );
    return rows.map((r) => r.patient_id);
  }

  async grant(o: {
    userId: string;
    practitionerId: string;
    patientId: string;
    reason: string;
    minutes?: number | undefined;
  }): Promise<BreakGlassGrant> {
    const reason = o.reason.trim().replace(/\s+/g, ' ');
    if (reason.length < minReasonLength)
      throw new VigilError(
        'VIGIL_ERR_BREAK_GLASS_REASON',
        `say why you need this patient's record (at least ${minReasonLength} characters)`,
        400,
      );
    if (reason.length > maxReasonLength)
      throw new VigilError(
        'VIGIL_ERR_BREAK_GLASS_REASON',
        `the reason is longer than ${maxReasonLength} characters`,
        400,
      );
    const minutes = o.minutes ?? this.#defaultMinutes;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > this.#maxMinutes)
      throw new VigilError(
        'VIGIL_ERR_BREAK_GLASS_DURATION',
        `a grant lasts from 1 to ${this.#maxMinutes} minutes`,
        400,
      );
    const now = this.#clock.now();
    const id = newId();
    await this.#db.query(
      `insert into break_glass_grant (id, user_id, practitioner_id, patient_id, reason, granted_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        o.userId,
        o.practitionerId,
        o.patientId,
        reason,
        new Date(now).toISOString(),
        new Date(now + minutes * 60_000).toISOString(),
      ],
    );
    this.#notify();
    return (await this.get(id)) as BreakGlassGrant;
  }

  async get(id: string): Promise<BreakGlassGrant | undefined> {
    const rows = await this.#db.query<Row>('select * from break_glass_grant where id = $1', [id]);
    return rows[0] ? this.#toGrant(rows[0]) : undefined;
  }

  /** Ends a grant before it expires (its holder is done, or a privacy officer stops it). */
  async end(id: string, byUserId: string): Promise<BreakGlassGrant> {
    const now = new Date(this.#clock.now()).toISOString();
    const rows = await this.#db.query<{ id: string }>(
      `update break_glass_grant set ended_at = $2, ended_by = $3
        where id = $1 and ended_at is null and expires_at > $2 returning id`,
      [id, now, byUserId],
    );
    const g = await this.get(id);
    if (!g) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no break-glass grant ${id}`, 404);
    if (rows.length === 0)
      throw new VigilError('VIGIL_ERR_BREAK_GLASS_NOT_ACTIVE', `the grant has already ${g.status}`, 409);
    this.#notify();
    return g;
  }

  async review(
    id: string,
    o: { reviewerUserId: string; outcome: ReviewOutcome; note?: string | undefined },
  ): Promise<BreakGlassGrant> {
    const g = await this.get(id);
    if (!g) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no break-glass grant ${id}`, 404);
    if (g.userId === o.reviewerUserId)
      throw new VigilError(
        'VIGIL_ERR_BREAK_GLASS_SELF_REVIEW',
        'a grant is reviewed by someone other than its holder',
        403,
      );
    if (g.reviewedAt)
      throw new VigilError('VIGIL_ERR_BREAK_GLASS_REVIEWED', 'the grant has already been reviewed', 409);
    await this.#db.query(
      `update break_glass_grant set reviewed_at = $2, reviewed_by = $3, review_outcome = $4, review_note = $5
        where id = $1 and reviewed_at is null`,
      [id, new Date(this.#clock.now()).toISOString(), o.reviewerUserId, o.outcome, o.note?.trim() || null],
    );
    return (await this.get(id)) as BreakGlassGrant;
  }

  async list(
    o: {
      userId?: string | undefined;
      patientId?: string | undefined;
      status?: GrantStatus | 'unreviewed' | undefined;
      limit?: number | undefined;
    } = {},
  ): Promise<BreakGlassGrant[]> {
    const now = new Date(this.#clock.now()).toISOString();
    const where: string[] = [];
    const params: unknown[] = [now];
    if (o.userId) {
      params.push(o.userId);
      where.push(`user_id = $${params.length}`);
    }
    if (o.patientId) {
      params.push(o.patientId);
      where.push(`patient_id = $${params.length}`);
    }
    if (o.status === 'active') where.push('ended_at is null and expires_at > $1');
    else if (o.status === 'expired') where.push('ended_at is null and expires_at <= $1');
    else if (o.status === 'ended') where.push('ended_at is not null');
    else if (o.status === 'unreviewed') where.push('reviewed_at is null');
    params.push(o.limit ?? 100);
    const rows = await this.#db.query<Row>(
      `select * from break_glass_grant where $1::timestamptz is not null
         ${where.length ? `and ${where.join(' and ')}` : ''}
        order by granted_at desc, id desc limit $${params.length}`,
      params,
    );
    return rows.map((r) => this.#toGrant(r));
  }

  /**
   * Grants whose privacy notice is still to be sent (oldest first), each claimed for two minutes so
   * that two workers do not both send it.
   */
  async pendingNotices(limit = 20): Promise<BreakGlassGrant[]> {
    const now = this.#clock.now();
    const rows = await this.#db.query<Row>(
      `update break_glass_grant set notice_lease_until = $3
        where id in (select id from break_glass_grant
                      where notified_at is null and notice_attempts < 50
                        and (notice_lease_until is null or notice_lease_until < $2)
                      order by granted_at limit $1 for update skip locked)
        returning *`,
      [limit, new Date(now).toISOString(), new Date(now + 120_000).toISOString()],
    );
    return rows.map((r) => this.#toGrant(r)).sort((a, b) => a.grantedAt.localeCompare(b.grantedAt));
  }

  async noticeSent(id: string): Promise<void> {
    await this.#db.query(
      `update break_glass_grant set notified_at = $2, notice_error = null, notice_attempts = notice_attempts + 1
        where id = $1`,
      [id, new Date(this.#clock.now()).toISOString()],
    );
  }

  async noticeFailed(id: string, error: string): Promise<void> {
    await this.#db.query(
      `update break_glass_grant set notice_error = $2, notice_attempts = notice_attempts + 1,
              notice_lease_until = null where id = $1`,
      [id, error.slice(0, 300)],
    );
  }

  /**
   * Erasure of a patient: the grants stay (they are the access record, like the audit log), their
   * free-text reasons — which may describe the patient — do not.
   */
  static async erase(tx: Sql, patientId: string): Promise<Record<string, number>> {
    const r = await tx.query<{ n: number }>(
      `with u as (update break_glass_grant set reason = '(erased with the patient''s data)'
                   where patient_id = $1 returning 1) select count(*)::int as n from u`,
      [patientId],
    );
    return { breakGlassReasons: r[0]?.n ?? 0 };
  }

  #toGrant(r: Row): BreakGlassGrant {
    const now = this.#clock.now();
    const status: GrantStatus = r.ended_at
      ? 'ended'
      : new Date(r.expires_at).getTime() <= now
        ? 'expired'
        : 'active';
    return {
      id: r.id,
      userId: r.user_id,
      practitionerId: r.practitioner_id,
      patientId: r.patient_id,
      reason: r.reason,
      grantedAt: iso(r.granted_at) as string,
      expiresAt: iso(r.expires_at) as string,
      endedAt: iso(r.ended_at),
      endedBy: r.ended_by,
      status,
      notifiedAt: iso(r.notified_at),
      noticeError: r.notice_error,
      reviewedAt: iso(r.reviewed_at),
      reviewedBy: r.reviewed_by,
      reviewOutcome: r.review_outcome,
      reviewNote: r.review_note,
    };
  }
}
