import { isSeverity, type Severity } from '../core/severity.ts';
import { configError } from './config-error.ts';

/**
 * Small readers for plain-JSON configuration. Each one either returns a typed value or throws a
 * config error naming the exact field, so a wrong configuration is refused with a useful message.
 */
export type Raw = Record<string, unknown>;

export function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string): Raw {
  if (!isObject(v)) throw configError(path, 'expected an object');
  return v;
}

interface NumOpts {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function num(raw: Raw, key: string, path: string, dflt?: number, o: NumOpts = {}): number {
  const v = raw[key];
  if (v === undefined) {
    if (dflt === undefined) throw configError(`${path}.${key}`, 'required number is missing');
    return dflt;
  }
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw configError(`${path}.${key}`, `expected a number, got ${JSON.stringify(v)}`);
  if (o.integer && !Number.isInteger(v)) throw configError(`${path}.${key}`, `expected an integer, got ${v}`);
  if (o.min !== undefined && v < o.min) throw configError(`${path}.${key}`, `must be ≥ ${o.min}, got ${v}`);
  if (o.max !== undefined && v > o.max) throw configError(`${path}.${key}`, `must be ≤ ${o.max}, got ${v}`);
  return v;
}

export function optNum(raw: Raw, key: string, path: string, o: NumOpts = {}): number | undefined {
  return raw[key] === undefined ? undefined : num(raw, key, path, undefined, o);
}

export function str(raw: Raw, key: string, path: string, dflt?: string): string {
  const v = raw[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0)
    throw configError(`${path}.${key}`, 'expected a non-empty string');
  return v;
}

export function bool(raw: Raw, key: string, path: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean')
    throw configError(`${path}.${key}`, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function oneOf<T extends string>(
  raw: Raw,
  key: string,
  path: string,
  allowed: readonly T[],
  dflt?: T,
): T {
  const v = raw[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw configError(`${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function severity(raw: Raw, key: string, path: string, dflt?: Severity): Severity {
  const v = raw[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (!isSeverity(v))
    throw configError(
      `${path}.${key}`,
      `expected a severity (info, low, medium, high, critical), got ${JSON.stringify(v)}`,
    );
  return v;
}

export function strList(raw: Raw, key: string, path: string, dflt: string[]): string[] {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw configError(`${path}.${key}`, 'expected an array of strings');
  return v as string[];
}

export function list(raw: Raw, key: string, path: string): unknown[] {
  const v = raw[key];
  if (!Array.isArray(v)) throw configError(`${path}.${key}`, 'expected an array');
  return v;
}

/** Refuse keys the rule does not know: a misspelt override would otherwise be silently ignored. */
export function noUnknownKeys(raw: Raw, path: string, known: readonly string[]): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw configError(`${path}.${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}
