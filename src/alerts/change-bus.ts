import { randomUUID } from 'node:crypto';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database, Sql } from '../store/database.ts';

/**
 * A committed alert change as it travels between workers: the live-feed message itself when it is
 * small enough, otherwise a reference the receiver reads back from the store.
 */
export interface RemoteAlertChange {
  /** The worker that made the change (it has already told its own live feed). */
  origin: string;
  patientId: string;
  /** The live-feed message (JSON text), or undefined when it was too large to carry. */
  message?: string;
  ref?: { alertId: string; eventId: string; notificationId?: string | undefined };
}

/**
 * Carries committed alert changes to the live feeds of the other workers. PostgreSQL: NOTIFY on
 * `vigil_alert_change`, sent inside the transaction that commits the change (delivered at commit,
 * never for a rollback, in commit order). NATS: a plain subject, published after the commit.
 */
export interface AlertChangeBus {
  readonly kind: 'postgres' | 'nats';
  /** Inside the change's transaction (PostgreSQL); the returned promise is part of the transaction. */
  inTransaction?(sql: Sql, changes: readonly RemoteAlertChange[]): Promise<void>;
  /** After the commit (NATS). */
  afterCommit?(changes: readonly RemoteAlertChange[]): void;
  /** Starts hearing other workers' changes (this worker's own are filtered out by `origin`). */
  start(onChange: (c: RemoteAlertChange) => void): Promise<void>;
  close(): Promise<void>;
}

export const ALERT_CHANNEL = 'vigil_alert_change';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; larger changes travel as a reference. */
export const MAX_INLINE_BYTES = 7_000;

export function newOrigin(): string {
  return randomUUID();
}

/** LISTEN/NOTIFY on the PostgreSQL server the workers share. */
export class PostgresAlertChangeBus implements AlertChangeBus {
  readonly kind = 'postgres' as const;
  readonly #db: Database;
  readonly #log: Logger;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(db: Database, log: Logger) {
    if (!db.listen) throw new Error('this database adapter cannot LISTEN');
    this.#db = db;
    this.#log = log;
  }

  async inTransaction(sql: Sql, changes: readonly RemoteAlertChange[]): Promise<void> {
    if (changes.length === 0) return;
    // One statement for the lot, in order (NOTIFYs of a transaction are delivered in the order sent).
    await sql.query(
      'select pg_notify($1, m.value) from jsonb_array_elements_text($2::jsonb) with ordinality as m(value, n) order by m.n',
      [ALERT_CHANNEL, JSON.stringify(changes.map((c) => JSON.stringify(c)))],
    );
  }

  async start(onChange: (c: RemoteAlertChange) => void): Promise<void> {
    const listen = this.#db.listen;
    if (!listen) return;
    this.#unlisten = await listen.call(this.#db, ALERT_CHANNEL, (payload) => {
      try {
        onChange(JSON.parse(payload) as RemoteAlertChange);
      } catch (e) {
        this.#log.warn({ err: errorMessage(e) }, 'unreadable alert change notification ignored');
      }
    });
  }

  async close(): Promise<void> {
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = undefined;
  }
}

/** A plain NATS subject (`<prefix>.alerts.changes`) when the workers share NATS (VIGIL_NATS_URL). */
export class NatsAlertChangeBus implements AlertChangeBus {
  readonly kind = 'nats' as const;
  readonly #url: string;
  readonly #subject: string;
  readonly #log: Logger;
  #nc: import('@nats-io/transport-node').NatsConnection | undefined;
  #closed = false;

  constructor(url: string, log: Logger, prefix = 'vigil') {
    this.#url = url;
    this.#subject = `${prefix}.alerts.changes`;
    this.#log = log;
  }

  afterCommit(changes: readonly RemoteAlertChange[]): void {
    const nc = this.#nc;
    if (!nc || this.#closed) return;
    for (const c of changes) nc.publish(this.#subject, JSON.stringify(c));
  }

  async start(onChange: (c: RemoteAlertChange) => void): Promise<void> {
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: this.#url, name: 'vigil-alerts', maxReconnectAttempts: -1 });
    if (this.#closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    const sub = nc.subscribe(this.#subject);
    void (async () => {
      for await (const m of sub) {
        try {
          onChange(JSON.parse(m.string()) as RemoteAlertChange);
        } catch (e) {
          this.#log.warn({ err: errorMessage(e) }, 'unreadable alert change message ignored');
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#nc?.drain().catch(() => {});
    this.#nc = undefined;
  }
}
