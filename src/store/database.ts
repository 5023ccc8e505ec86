/**
 * The store port: one SQL dialect (PostgreSQL) served by two adapters, embedded PGlite and a
 * PostgreSQL server. Repositories are written once against this interface.
 *
 * Conventions that keep both adapters identical: parameters are $1..$n; JSON values are passed as
 * strings and cast (`$1::jsonb`); counts are cast to int; timestamps come back as Date.
 */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
