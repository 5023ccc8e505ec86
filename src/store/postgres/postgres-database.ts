import postgres from 'postgres';
import { VigilError } from '../../core/errors.ts';
import type { Database, Sql, StoreCallOptions } from '../database.ts';

/** How long a client should wait before retrying while the database is unavailable (Retry-After). */
export const storeRetryAfterSeconds = 5;

/** The coded error every caller sees when PostgreSQL cannot answer: 503, retry later. */
export function storeUnavailable(message: string): VigilError {
  return new VigilError('VIGIL_ERR_STORE_UNAVAILABLE', message, 503, {
    retryAfterSeconds: storeRetryAfterSeconds,
  });
}

// Driver and server errors that mean "the database is not reachable now" (not "this query is wrong").
const UNREACHABLE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/**
 * Withdraws a query still waiting for a connection. One already sent is left alone: the driver's
 * cancel request for it would open a new connection to a server that does not answer.
 */
function dequeue(q: { cancel(): unknown }): void {
  if (!(q as { state?: unknown }).state) q.cancel();
}

function unreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'));
}

// biome-ignore lint/suspicious/noExplicitAny: the driver's custom-type map is typed per type name
type Pg = postgres.Sql<any>;
type Params = postgres.ParameterOrJSON<never>[];

/** A PostgreSQL server through porsager's `postgres` driver (pooled connections). */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #sql: Pg;
  readonly #timeoutMs: number;

  private constructor(sql: Pg, timeoutMs: number) {
    this.#sql = sql;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * `timeoutMs` (VIGIL_DATABASE_TIMEOUT_MS) bounds every query, transaction and ping: waiting for a
   * pooled connection, connecting, and the server's answer. Past it the caller gets a coded 503
   * (VIGIL_ERR_STORE_UNAVAILABLE) instead of waiting for ever. A transaction abandoned this way may
   * still commit later; its caller was told it failed, so nothing is acknowledged that is not
   * durable (a retried reading is then answered as a duplicate of the stored one).
   */
  static async open(url: string, opts: { max?: number; timeoutMs?: number } = {}): Promise<PostgresDatabase> {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const sql = postgres(url, {
      max: opts.max ?? 10,
      onnotice: () => {},
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      // JSON parameters arrive already serialized (the port's convention, as PGlite needs):
      // pass strings through instead of encoding them a second time.
      types: {
        json: {
          to: 114,
          from: [114, 3802],
          serialize: (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x)),
          parse: (x: string) => JSON.parse(x),
        },
      },
    });
    const db = new PostgresDatabase(sql, timeoutMs);
    try {
      await db.ping();
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw e;
    }
    return db;
  }

  /** Runs `work` within the store timeout; connection failures and the timeout become a coded 503. */
  async #bounded<T>(
    what: string,
    work: () => Promise<T>,
    cancel?: () => void,
    opts?: StoreCallOptions,
  ): Promise<T> {
    if (opts?.unbounded) {
      try {
        return await work();
      } catch (e) {
        if (unreachable(e))
          throw storeUnavailable(`PostgreSQL is unreachable (${(e as { code: string }).code})`);
        throw e;
      }
    }
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const running = work().finally(() => {
      settled = true;
    });
    const timedOut = new Promise<never>((_, reject) => {
      const fail = () => {
        if (settled) return;
        try {
          cancel?.();
        } catch {
          // a query that was never sent has nothing to cancel
        }
        reject(storeUnavailable(`PostgreSQL did not answer the ${what} within ${this.#timeoutMs} ms`));
      };
      // The limit measures the database, not this process. A timer that fires late means the
      // event loop itself was blocked (a second of synchronous start-up work on a loaded machine):
      // the query may not even have been written yet, or its answer may sit unread in the socket.
      // Then the database gets one more full period of a running event loop before we give up.
      const arm = (stalledBefore: boolean) => {
        const due = Date.now() + this.#timeoutMs;
        timer = setTimeout(() => {
          const late = Date.now() - due;
          if (!stalledBefore && late > Math.max(50, this.#timeoutMs / 4)) arm(true);
          else fail();
        }, this.#timeoutMs);
      };
      arm(false);
    });
    try {
      return await Promise.race([running, timedOut]);
    } catch (e) {
      if (unreachable(e))
        throw storeUnavailable(`PostgreSQL is unreachable (${(e as { code: string }).code})`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async query<T>(text: string, params: readonly unknown[] = [], opts?: StoreCallOptions): Promise<T[]> {
    const q = this.#sql.unsafe(text, params as Params);
    return (await this.#bounded(
      'query',
      async () => await q,
      () => dequeue(q),
      opts,
    )) as unknown as T[];
  }

  async exec(text: string): Promise<void> {
    await this.#sql.unsafe(text);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>, opts?: StoreCallOptions): Promise<T> {
    return this.#bounded('transaction', () => this.#begin(fn), undefined, opts);
  }

  #begin<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#sql.begin(async (tx) => {
      const sql: Sql = {
        query: async <R>(text: string, params: readonly unknown[] = []) =>
          (await tx.unsafe(text, params as Params)) as unknown as R[],
        exec: async (text: string) => {
          await tx.unsafe(text);
        },
      };
      return fn(sql);
    }) as Promise<T>;
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.#sql.listen(channel, onPayload);
    return unlisten;
  }

  async ping(): Promise<void> {
    const q = this.#sql`select 1`;
    await this.#bounded(
      'ping',
      async () => await q,
      () => dequeue(q),
    );
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
