/**
 * SMART-style system scopes for integrations: `system/<Type|*>.<read|write|*>` (SMART v1) and
 * `system/<Type|*>.<cruds>` (SMART v2 letters: c create, r read, u update, d delete, s search).
 */
export type ScopeAction = 'read' | 'write';

interface Scope {
  type: string;
  read: boolean;
  write: boolean;
}

const pattern = /^system\/([A-Z][A-Za-z]{0,63}|\*)\.(read|write|\*|c?r?u?d?s?)$/;

export function parseScope(s: string): Scope | undefined {
  const m = pattern.exec(s);
  if (!m?.[1] || !m[2]) return undefined;
  const [type, perm] = [m[1], m[2]];
  if (perm === '*') return { type, read: true, write: true };
  if (perm === 'read') return { type, read: true, write: false };
  if (perm === 'write') return { type, read: false, write: true };
  return { type, read: /[rs]/.test(perm), write: /[cud]/.test(perm) };
}

export function isValidScope(s: string): boolean {
  return parseScope(s) !== undefined;
}

/** Whether any granted scope allows `action` on `resourceType`. */
export function scopeAllows(granted: readonly string[], resourceType: string, action: ScopeAction): boolean {
  return granted.some((g) => {
    const s = parseScope(g);
    return s !== undefined && (s.type === '*' || s.type === resourceType) && s[action];
  });
}

/** Whether `requested` is covered by what a client was allowed. */
export function scopeCovered(allowed: readonly string[], requested: string): boolean {
  const r = parseScope(requested);
  if (!r) return false;
  return allowed.some((g) => {
    const a = parseScope(g);
    return (
      a !== undefined && (a.type === '*' || a.type === r.type) && (!r.read || a.read) && (!r.write || a.write)
    );
  });
}

/**
 * SMART App Launch resource scopes of apps acting for a person: `patient/<Type|*>.<perm>` (the
 * launch patient's compartment) and `user/<Type|*>.<perm>` (what the signed-in user may see), v2
 * letters (`cruds`) or v1 `read`/`write`/`*`. Granular v2 scopes (`?category=…`) are not
 * supported: they are never granted (granting the scope without its filter would grant more).
 */
export interface SmartScope extends Scope {
  context: 'patient' | 'user' | 'system';
}

const smartPattern = /^(patient|user|system)\/([A-Z][A-Za-z]{0,63}|\*)\.(read|write|\*|c?r?u?d?s?)$/;

export function parseSmartScope(s: string): SmartScope | undefined {
  const m = smartPattern.exec(s);
  if (!m?.[1] || !m[2] || m[3] === undefined || m[3] === '') return undefined;
  const base = parseScope(`system/${m[2]}.${m[3]}`);
  return base ? { ...base, context: m[1] as SmartScope['context'] } : undefined;
}

/** Whether `requested` (patient/, user/ or system/) is covered by a client's allowed scopes of the same context. */
export function smartScopeCovered(allowed: readonly string[], requested: string): boolean {
  const r = parseSmartScope(requested);
  if (!r) return false;
  return allowed.some((g) => {
    const a = parseSmartScope(g);
    return (
      a !== undefined &&
      a.context === r.context &&
      (a.type === '*' || a.type === r.type) &&
      (!r.read || a.read) &&
      (!r.write || a.write)
    );
  });
}

/** Which contexts of the granted scopes allow `action` on `resourceType` (patient, user). */
export function smartScopeGrants(
  granted: readonly string[],
  resourceType: string,
  action: ScopeAction,
): { patient: boolean; user: boolean } {
  const out = { patient: false, user: false };
  for (const g of granted) {
    const s = parseSmartScope(g);
    if (!s || s.context === 'system' || !(s.type === '*' || s.type === resourceType) || !s[action]) continue;
    out[s.context] = true;
  }
  return out;
}
