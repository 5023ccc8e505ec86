import { type Database, type Sql, toJsonParam } from './database.ts';

export interface DeadLetter {
  id: string;
  received: string;
  transport: string;
  deviceId: string | null;
  topic: string | null;
  reasonCode: string;
  reason: string;
  contentType: string | null;
  /** Payload format it arrived as (normalize's format string); null for letters kept before 0002. */
  format: string | null;
  payload: Buffer;
  replayedAt: string | null;
  replayResult: unknown;
}

function toDeadLetter(r: Record<string, unknown>): DeadLetter {
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d == null ? null : String(d));
  const p = r['payload'];
  return {
    id: r['id'] as string,
    received: iso(r['received']) as string,
    transport: r['transport'] as string,
    deviceId: (r['device_id'] as string | null) ?? null,
    topic: (r['topic'] as string | null) ?? null,
    reasonCode: r['reason_code'] as string,
    reason: r['reason'] as string,
    contentType: (r['content_type'] as string | null) ?? null,
    format: (r['format'] as string | null) ?? null,
    payload: Buffer.isBuffer(p) ? p : Buffer.from(p as Uint8Array),
    replayedAt: iso(r['replayed_at']),
    replayResult: r['replay_result'] ?? null,
  };
}

/** Every refused payload, kept with its reason for inspection and replay. */
export class DeadLetterRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async insertBatch(
    sql: Sql,
    letters: readonly Omit<DeadLetter, 'replayedAt' | 'replayResult'>[],
  ): Promise<void> {
    if (letters.length === 0) return;
    await sql.query(
      `insert into dead_letter (id, received, transport, device_id, topic, reason_code, reason, content_type, format, payload)
       select x.id, x.received, x.transport, x.device_id, x.topic, x.reason_code, x.reason, x.content_type, x.format, decode(x.payload, 'base64')
       from jsonb_to_recordset($1::jsonb) as x(id uuid, received timestamptz, transport text, device_id text, topic text,
         reason_code text, reason text, content_type text, format text, payload text)`,
      [
        toJsonParam(
          letters.map((l) => ({
            id: l.id,
            received: l.received,
            transport: l.transport,
            device_id: l.deviceId,
            // Text from outside (V8 parse errors quote the payload) may hold lone surrogates, which
            // PostgreSQL refuses in JSON and text: keep them as U+FFFD (found by test/security/fuzz).
            topic: l.topic?.toWellFormed() ?? null,
            reason_code: l.reasonCode,
            reason: l.reason.toWellFormed(),
            content_type: l.contentType?.toWellFormed() ?? null,
            format: l.format,
            payload: l.payload.toString('base64'),
          })),
        ),
      ],
    );
  }

  async list(
    opts: { deviceId?: string; reasonCode?: string; limit?: number; pendingOnly?: boolean } = {},
  ): Promise<DeadLetter[]> {
    const rows = await this.#db.query(
      `select * from dead_letter
       where ($1::text is null or device_id = $1) and ($2::text is null or reason_code = $2)
         and (not $3::boolean or replayed_at is null)
       order by received desc limit $4`,
      [opts.deviceId ?? null, opts.reasonCode ?? null, opts.pendingOnly ?? false, opts.limit ?? 100],
    );
    return rows.map(toDeadLetter);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const rows = await this.#db.query('select * from dead_letter where id = $1', [id]);
    return rows[0] ? toDeadLetter(rows[0]) : undefined;
  }

  async markReplayed(id: string, result: unknown): Promise<void> {
    await this.#db.query(
      'update dead_letter set replayed_at = now(), replay_result = $2::jsonb where id = $1',
      [id, toJsonParam(result)],
    );
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: number }>('select count(*)::int as n from dead_letter');
    return rows[0]?.n ?? 0;
  }
}
