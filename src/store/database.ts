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

/**
 * `unbounded`: exempt from the store timeout (VIGIL_DATABASE_TIMEOUT_MS) — migrations and waiting for
 * the migration lock, which may rightly take longer than any request should wait.
 */
export interface StoreCallOptions {
  unbounded?: boolean;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  query<T = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    opts?: StoreCallOptions,
  ): Promise<T[]>;
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>, opts?: StoreCallOptions): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel (PostgreSQL server: a dedicated connection); resolves with the function that
   * stops listening. Absent where one process owns the database (PGlite).
   */
  listen?(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * JSON text for a `$n::jsonb` parameter. PostgreSQL text and jsonb cannot hold U+0000 or a lone
 * surrogate, which a device can send inside any string; both become U+FFFD (the replacement
 * character) so one such payload cannot fail a whole group commit. Binary payloads (dead letters)
 * keep their exact bytes in bytea.
 */
export function toJsonParam(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  // JSON.stringify writes U+0000 and lone surrogates as escapes (\u0000, \ud8xx–\udfff); without one
  // (nearly always) no replacer pass is needed.
  if (text === undefined || !/\\u(0000|d[89a-f])/i.test(text)) return text as string;
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && (v.includes('\u0000') || !v.isWellFormed())
      ? v.toWellFormed().replaceAll('\u0000', '\ufffd')
      : v,
  );
}
