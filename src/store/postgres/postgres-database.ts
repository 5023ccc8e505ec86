import postgres from 'postgres';
import type { Database, Sql } from '../database.ts';

// biome-ignore lint/suspicious/noExplicitAny: the driver's custom-type map is typed per type name
type Pg = postgres.Sql<any>;
type Params = postgres.ParameterOrJSON<never>[];

/** A PostgreSQL server through porsager's `postgres` driver (pooled connections). */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #sql: Pg;

  private constructor(sql: Pg) {
    this.#sql = sql;
  }

  static async open(url: string, opts: { max?: number } = {}): Promise<PostgresDatabase> {
    const sql = postgres(url, {
      max: opts.max ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
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
    const db = new PostgresDatabase(sql);
    await db.ping();
    return db;
  }

  async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.#sql.unsafe(text, params as Params)) as unknown as T[];
  }

  async exec(text: string): Promise<void> {
    await this.#sql.unsafe(text);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
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
    await this.#sql`select 1`;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
