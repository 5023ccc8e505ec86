/**
 * Secrets at rest (TOTP seeds, webhook signing secrets, server signing keys): sealed with
 * AES-256-GCM under a key kept OUTSIDE the database — VIGIL_SECRETS_KEY (base64 of 32 bytes, e.g. from
 * a secret manager), VIGIL_SECRETS_KEY_FILE, or by default a key file generated at first start in the
 * data directory (mode 0600) — so a copy of the database (a backup, a dump, a stolen replica) does not
 * give away the means to sign tokens, forge webhooks or generate a clinician's one-time codes.
 *
 * Stored form: `enc:v1:<base64url(iv ‖ ciphertext ‖ tag)>`; the column name is bound in as associated
 * data, so a sealed value cannot be moved to another column. A value without the prefix is plaintext
 * written before sealing existed: `open` returns it as is and `sealLegacySecrets` (server start)
 * rewrites it sealed. Node's own crypto (OpenSSL) does the work: no library needed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { VigilError } from './errors.ts';

const prefix = 'enc:v1:';

export class SecretBox {
  readonly #key: Buffer;
  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error('a secrets key is 32 bytes');
    this.#key = Buffer.from(key);
  }

  seal(plain: string, purpose: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return prefix + Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
  }

  open(stored: string, purpose: string): string {
    if (!isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(prefix.length), 'base64url');
    if (raw.length < 28) throw keyMismatch(purpose);
    const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(purpose, 'utf8'));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw keyMismatch(purpose);
    }
  }
}

export const isSealed = (v: string) => v.startsWith(prefix);

const keyMismatch = (purpose: string) =>
  new VigilError(
    'VIGIL_ERR_SECRETS_KEY_MISMATCH',
    `a stored secret (${purpose}) does not open with the configured secrets key: start with the key it was sealed with (VIGIL_SECRETS_KEY / VIGIL_SECRETS_KEY_FILE)`,
    500,
  );

/**
 * The box of each database handle, set by the composition root when it opens the database. A handle
 * without one (a repository's unit test, a deployment that provides no key) passes values through
 * unchanged. Keyed by the handle, so two servers in one process (tests) keep their own keys.
 */
const boxes = new WeakMap<object, SecretBox>();
export function configureSecretBox(db: object, box: SecretBox | undefined): void {
  if (box) boxes.set(db, box);
  else boxes.delete(db);
}
export const sealSecret = (db: object, plain: string, purpose: string): string =>
  boxes.get(db)?.seal(plain, purpose) ?? plain;
export const openSecret = (db: object, stored: string, purpose: string): string => {
  const box = boxes.get(db);
  if (box) return box.open(stored, purpose);
  if (isSealed(stored)) throw keyMismatch(purpose);
  return stored;
};

/** The key from the configuration, or the data directory's key file (created 0600 on first use). */
export function loadSecretsKey(opts: {
  key?: string | undefined;
  keyFile?: string | undefined;
  /** Where to keep a generated key; undefined = generate none (a shared server database). */
  defaultFile: string | undefined;
}): { key: Buffer; source: 'env' | 'file' | 'generated' } | undefined {
  if (opts.key) return { key: decodeKey(opts.key, 'VIGIL_SECRETS_KEY'), source: 'env' };
  const file = opts.keyFile ?? opts.defaultFile;
  if (file === undefined) return undefined;
  if (existsSync(file)) return { key: decodeKey(readFileSync(file, 'utf8').trim(), file), source: 'file' };
  if (opts.keyFile)
    throw new VigilError('VIGIL_ERR_CONFIG_INVALID', `VIGIL_SECRETS_KEY_FILE ${file} does not exist`, 1);
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, source: 'generated' };
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, ''))
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${where} must hold 32 random bytes in base64 (openssl rand -base64 32)`,
      1,
    );
  return key;
}
