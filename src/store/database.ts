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

/**
 * JSON text for a `$n::jsonb` parameter. PostgreSQL text and jsonb cannot hold U+0000, which a device
 * can send inside any string; it becomes U+FFFD (the replacement character) so one such payload
 * cannot fail a whole group commit. Binary payloads (dead letters) keep their exact bytes in bytea.
 */
export function toJsonParam(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  // JSON.stringify writes U+0000 as the escape \u0000; without one (nearly always) no replacer pass
  if (text === undefined || !text.includes('\\u0000')) return text as string;
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\ufffd') : v,
  );
}
