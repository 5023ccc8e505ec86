/** Alert severity, ordered. Maps onto the NEWS2 clinical-response levels (clinical-reference §1.2). */
export const Severity = {
  info: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
} as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

const order: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function severityRank(s: Severity): number {
  return order[s];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return order[a] >= order[b] ? a : b;
}

export function isSeverity(s: unknown): s is Severity {
  return typeof s === 'string' && s in order;
}
