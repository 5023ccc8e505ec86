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
