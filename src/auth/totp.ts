import { Secret, TOTP } from 'otpauth';

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s — what authenticator apps expect), ±1 step of drift. */
const period = 30;

function totp(secretBase32: string, label = 'vigil'): TOTP {
  return new TOTP({
    issuer: 'Vigil',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function totpUri(secretBase32: string, username: string): string {
  return totp(secretBase32, username).toString();
}

/**
 * The time step a code matches (within ±1 step of `now`), or undefined. Callers refuse a step at
 * or before the last one accepted, so a code is never accepted twice.
 */
export function matchTotp(secretBase32: string, code: string, now: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secretBase32).validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(now / 1000 / period) + delta;
}

/** For tests and enrolment checks: the code at a time. */
export function totpCode(secretBase32: string, now: number): string {
  return totp(secretBase32).generate({ timestamp: now });
}
