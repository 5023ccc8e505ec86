import { randomBytes } from 'node:crypto';
import { v7 } from 'uuid';

/** Time-ordered UUID (v7): index-friendly primary keys for readings and alerts. */
export function newId(): string {
  return v7();
}

/** A random secret for credentials: 32 bytes, base64url. Shown once, stored only as a hash. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
