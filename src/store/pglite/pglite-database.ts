import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Sql } from '../database.ts';

/**
 * Embedded PostgreSQL (PGlite, WASM) in a folder. Single connection: PGlite serializes queries
 * itself, and transactions hold it exclusively.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  /** dataDir undefined = in memory (tests). */
  static async open(dataDir?: string): Promise<PgliteDatabase> {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
    return new PgliteDatabase(db);
  }

  async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const r = await this.#db.query<T>(text, params as unknown[]);
    return r.rows;
  }

  async exec(text: string): Promise<void> {
    await this.#db.exec(text);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (tx) => {
      const sql: Sql = {
        query: async <R>(text: string, params: readonly unknown[] = []) =>
          (await tx.query<R>(text, params as unknown[])).rows,
        exec: async (text: string) => {
          await tx.exec(text);
        },
      };
      return fn(sql);
    });
  }

  async ping(): Promise<void> {
    await this.#db.query('select 1');
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
  }
}
