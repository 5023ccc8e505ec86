import { randomBytes, randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

// Random bytes drawn 4 KiB at a time (one call per 256 ids instead of one per id: ingest makes one
// id per reading), with uuid's own monotonic counter kept here since explicit options bypass it.
const pool = new Uint8Array(16 * 256);
let offset = pool.length;
let lastMs = -1;
let seq = 0;

/** Time-ordered UUID (v7): index-friendly primary keys for readings and alerts. */
export function newId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.subarray(offset, offset + 16);
  offset += 16;
  const now = Date.now();
  if (now > lastMs) {
    // a fresh 31-bit counter start each millisecond, as uuid does
    seq =
      (((random[6] as number) & 0x7f) << 24) |
      ((random[7] as number) << 16) |
      ((random[8] as number) << 8) |
      (random[9] as number);
    lastMs = now;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq });
}

/** A random secret for credentials: 32 bytes, base64url. Shown once, stored only as a hash. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
