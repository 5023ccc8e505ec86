import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Database, Sql } from '../store/database.ts';
import { type AuditEventResource, type AuditInput, toAuditEvent, typeCodeOf } from './audit-event.ts';
import { canonicalJson } from './canonical-json.ts';

export const genesisHash = '0'.repeat(64);

/** v1 (records before migration 0240): hash(n) = SHA-256(seq ‖ prev hash ‖ canonical JSON of the AuditEvent). */
export function chainHash(seq: number, prevHash: string, content: unknown): string {
  return createHash('sha256')
    .update(`${seq}\n${prevHash}\n${canonicalJson(content)}`, 'utf8')
    .digest('hex');
}

/** The search columns of a record: who, what, when, whom — every one of them inside the v2 hash. */
export interface AuditColumns {
  id: string;
  recorded: string;
  type_code: string;
  subtype_code: string | null;
  action: string;
  outcome: string;
  agent_id: string | null;
  agent_address: string | null;
  patient_id: string | null;
  entity_type: string | null;
  entity_id: string | null;
}

const columnNames = [
  'id',
  'recorded',
  'type_code',
  'subtype_code',
  'action',
  'outcome',
  'agent_id',
  'agent_address',
  'patient_id',
  'entity_type',
  'entity_id',
] as const;

/** Columns as the hash sees them, whatever the driver read back (Date or string, uuid case). */
function normalizedColumns(c: Record<string, unknown>): AuditColumns {
  const out: Record<string, string | null> = {};
  for (const k of columnNames) {
    const v = c[k];
    if (v === null || v === undefined) out[k] = null;
    else if (k === 'recorded') out[k] = new Date(v as string | Date).toISOString();
    else if (k === 'id') out[k] = String(v).toLowerCase();
    else out[k] = String(v);
  }
  return out as unknown as AuditColumns;
}

/**
 * v2: hash(n) = SHA-256("v2" ‖ seq ‖ prev hash ‖ canonical JSON of {columns, content}): the columns
 * that search and erasure rely on (agent_id, patient_id, …) cannot change without breaking the chain.
 */
export function chainHashV2(seq: number, prevHash: string, content: unknown, columns: AuditColumns): string {
  return createHash('sha256')
    .update(
      `v2\n${seq}\n${prevHash}\n${canonicalJson({ columns: normalizedColumns({ ...columns }), content })}`,
      'utf8',
    )
    .digest('hex');
}

/**
 * A v1 record's columns are not in its hash: they must agree with its (hashed) content wherever the
 * content names them. Returns the first column that disagrees.
 */
function v1ColumnMismatch(columns: AuditColumns, content: AuditEventResource): string | undefined {
  if (columns.id !== String(content.id).toLowerCase()) return 'id';
  if (columns.recorded !== new Date(content.recorded).toISOString()) return 'recorded';
  if (columns.type_code !== content.type?.code) return 'type_code';
  if ((columns.subtype_code ?? undefined) !== content.subtype?.[0]?.code) return 'subtype_code';
  if (columns.action !== content.action) return 'action';
  if (columns.outcome !== content.outcome) return 'outcome';
  const patientRef = content.entity?.find((e) => e.role?.code === '1')?.what?.reference;
  const patient = patientRef?.startsWith('Patient/') ? patientRef.slice('Patient/'.length) : undefined;
  if ((columns.patient_id ?? undefined) !== patient) return 'patient_id';
  const who = content.agent?.[0]?.who;
  const agentId =
    who?.identifier?.value ?? (who?.reference?.startsWith('Device/') ? who.reference.slice(7) : undefined);
  if (agentId !== undefined && columns.agent_id !== agentId) return 'agent_id';
  if (agentId === undefined && columns.agent_id !== null && columns.agent_id !== who?.display)
    return 'agent_id';
  if ((columns.agent_address || undefined) !== content.agent?.[0]?.network?.address) return 'agent_address';
  return undefined;
}

export interface AuditQuery {
  patient?: string | undefined;
  agent?: string | undefined;
  /** AuditEvent.type code (e.g. rest, 110114) */
  type?: string | undefined;
  subtype?: string | undefined;
  action?: string | undefined;
  /** 0, 4, 8, 12 */
  outcome?: string | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** Only records with seq below this (paging newest first). */
  before?: number | undefined;
  limit?: number | undefined;
}

export interface StoredAuditEvent {
  seq: number;
  hash: string;
  event: AuditEventResource;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  headSeq: number;
  headHash: string;
  /** First record that does not verify, and why. */
  broken?: { seq: number; reason: string } | undefined;
}

interface Pending {
  input: AuditInput;
  event: AuditEventResource;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The audit log: append-only, hash-chained. `record()` queues the event and resolves once it is
 * durable. One writer per process drains the queue in batches; across processes the chain head row
 * (`select … for update`) orders writers, so the chain stays linear on a shared PostgreSQL.
 */
export class AuditLog {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(db: Database, clock: Clock, log: Logger) {
    this.#db = db;
    this.#clock = clock;
    this.#log = log;
  }

  record(input: AuditInput): Promise<void> {
    const event = toAuditEvent(input, newId(), new Date(this.#clock.now()).toISOString());
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error('audit log closed'));
        return;
      }
      this.#queue.push({ input, event, resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  /** Records without waiting; a failure is logged (never silently lost: it is an error line). */
  recordLater(input: AuditInput): void {
    this.record(input).catch((err) =>
      this.#log.error({ err, event: 'audit-write-failed' }, 'audit record not written'),
    );
  }

  /** Resolves when everything queued so far is durable. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running.catch(() => {});
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, 500);
        try {
          await this.#db.transaction((tx) => this.#append(tx, batch));
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #append(tx: Sql, batch: Pending[]): Promise<void> {
    const head = (
      await tx.query<{ last_seq: string | number; last_hash: string }>(
        'select last_seq, last_hash from audit_chain_head where id = 1 for update',
      )
    )[0];
    if (!head) throw new Error('audit chain head missing (migration 0210 not applied?)');
    let seq = Number(head.last_seq);
    let prev = head.last_hash;
    const rows = batch.map(({ input, event }) => {
      seq += 1;
      const entity = input.entities?.[0];
      const columns: AuditColumns = {
        id: event.id,
        recorded: event.recorded,
        type_code: typeCodeOf(input.kind),
        subtype_code: event.subtype?.[0]?.code ?? null,
        action: event.action,
        outcome: event.outcome,
        agent_id: input.agent.id ?? input.agent.name ?? null,
        agent_address: input.agent.address ?? null,
        patient_id: input.patientId ?? null,
        entity_type: entity?.type ?? null,
        entity_id: entity?.id ?? null,
      };
      const hash = chainHashV2(seq, prev, event, columns);
      const row = { seq, ...columns, content: event, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    await tx.query(
      `insert into audit_event (seq, id, recorded, type_code, subtype_code, action, outcome, agent_id, agent_address,
         patient_id, entity_type, entity_id, content, prev_hash, hash)
       select x.seq, x.id, x.recorded, x.type_code, x.subtype_code, x.action, x.outcome, x.agent_id, x.agent_address,
         x.patient_id, x.entity_type, x.entity_id, x.content, x.prev_hash, x.hash
       from jsonb_to_recordset($1::jsonb) as x(seq bigint, id uuid, recorded timestamptz, type_code text, subtype_code text,
         action text, outcome text, agent_id text, agent_address text, patient_id text, entity_type text, entity_id text,
         content jsonb, prev_hash text, hash text)`,
      [JSON.stringify(rows)],
    );
    await tx.query('update audit_chain_head set last_seq = $1, last_hash = $2 where id = 1', [seq, prev]);
  }

  /** Newest first. */
  async search(q: AuditQuery = {}): Promise<StoredAuditEvent[]> {
    const { where, params } = filter(q);
    params.push(Math.min(Math.max(q.limit ?? 100, 1), 1000));
    const rows = await this.#db.query<{ seq: string | number; hash: string; content: AuditEventResource }>(
      `select seq, hash, content from audit_event ${where} order by seq desc limit $${params.length}`,
      params,
    );
    return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, event: r.content }));
  }

  /** Every matching record, oldest first, in pages (for NDJSON export). */
  async *export(q: Omit<AuditQuery, 'before' | 'limit'> = {}): AsyncGenerator<StoredAuditEvent> {
    let after = 0;
    for (;;) {
      const { where, params } = filter(q, after);
      const rows = await this.#db.query<{ seq: string | number; hash: string; content: AuditEventResource }>(
        `select seq, hash, content from audit_event ${where} order by seq limit 1000`,
        params,
      );
      for (const r of rows) yield { seq: Number(r.seq), hash: r.hash, event: r.content };
      if (rows.length < 1000) return;
      after = Number(rows.at(-1)?.seq);
    }
  }

  /** Recomputes the chain from its base (after the last retention purge) to the head. */
  async verifyChain(): Promise<ChainVerification> {
    await this.flush();
    return verifyAuditChain(this.#db);
  }
}

export async function verifyAuditChain(db: Sql): Promise<ChainVerification> {
  const head = (
    await db.query<{
      last_seq: string | number;
      last_hash: string;
      base_seq: string | number;
      base_hash: string;
      columns_hashed_from: string | number;
    }>(
      'select last_seq, last_hash, base_seq, base_hash, columns_hashed_from from audit_chain_head where id = 1',
    )
  )[0];
  if (!head)
    return {
      ok: false,
      checked: 0,
      headSeq: 0,
      headHash: genesisHash,
      broken: { seq: 0, reason: 'chain head missing' },
    };
  const headSeq = Number(head.last_seq);
  const v2From = Number(head.columns_hashed_from);
  let expectSeq = Number(head.base_seq) + 1;
  let prev = head.base_hash;
  let checked = 0;
  const fail = (seq: number, reason: string): ChainVerification => ({
    ok: false,
    checked,
    headSeq,
    headHash: head.last_hash,
    broken: { seq, reason },
  });
  for (;;) {
    const rows = await db.query<
      Record<string, unknown> & { seq: string | number; prev_hash: string; hash: string; content: unknown }
    >(
      `select seq, prev_hash, hash, content, ${columnNames.join(', ')} from audit_event where seq >= $1 order by seq limit 1000`,
      [expectSeq],
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectSeq) return fail(expectSeq, `record ${expectSeq} is missing`);
      if (r.prev_hash !== prev) return fail(seq, 'previous-hash link does not match the record before it');
      const columns = normalizedColumns(r);
      if (seq >= v2From) {
        if (chainHashV2(seq, prev, r.content, columns) !== r.hash)
          return fail(seq, 'content does not match its hash (record edited: its content or a column)');
      } else {
        if (chainHash(seq, prev, r.content) !== r.hash)
          return fail(seq, 'content does not match its hash (record edited)');
        const column = v1ColumnMismatch(columns, r.content as AuditEventResource);
        if (column) return fail(seq, `column ${column} does not match the hashed content (record edited)`);
      }
      prev = r.hash;
      expectSeq += 1;
      checked += 1;
    }
    if (rows.length < 1000) break;
  }
  if (expectSeq - 1 !== headSeq)
    return fail(expectSeq, `chain ends at ${expectSeq - 1} but the head says ${headSeq} (records removed)`);
  if (prev !== head.last_hash) return fail(headSeq, 'last record does not match the chain head');
  return { ok: true, checked, headSeq, headHash: head.last_hash };
}

function filter(q: AuditQuery, afterSeq?: number): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (q.patient) add('patient_id = ?', q.patient);
  if (q.agent) add('agent_id = ?', q.agent);
  if (q.type) add('type_code = ?', q.type);
  if (q.subtype) add('subtype_code = ?', q.subtype);
  if (q.action) add('action = ?', q.action);
  if (q.outcome) add('outcome = ?', q.outcome);
  if (q.entityType) add('entity_type = ?', q.entityType);
  if (q.entityId) add('entity_id = ?', q.entityId);
  if (q.since) add('recorded >= ?::timestamptz', q.since);
  if (q.until) add('recorded < ?::timestamptz', q.until);
  if (q.before !== undefined) add('seq < ?', q.before);
  if (afterSeq !== undefined) add('seq > ?', afterSeq);
  return { where: conds.length ? `where ${conds.join(' and ')}` : '', params };
}
