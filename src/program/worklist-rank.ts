import { type Acvpu, type News2Band, news2, news2Band } from '../detect/news2-score.ts';

/**
 * Worklist ranking: who needs attention first. Pure, so the order is testable without a database.
 *
 * Acuity (0–5) is the higher of
 * - the most severe unacknowledged alert (open or escalated): critical 5, high 4, medium 3, low 2, info 1;
 * - the NEWS2 band (clinical-reference §1.2, RCP Chart 4): high (≥ 7, emergency response) 4,
 *   medium (5–6, urgent response) 3, low-medium (a single 3) 2, low (1–4) 1.
 * Ties break on: an unacknowledged alert first, then NEWS2 total, then the most severe acknowledged
 * or snoozed alert, then a data gap, then the most recent reading, then the name.
 */

export const severityRank = { info: 1, low: 2, medium: 3, high: 4, critical: 5 } as const;
export type SeverityName = keyof typeof severityRank;
const bandRank: Record<News2Band, number> = { none: 0, low: 1, 'low-medium': 2, medium: 3, high: 4 };

export interface RankInput {
  patientId: string;
  name: string;
  /** Most severe open or escalated alert. */
  unackedSeverity: SeverityName | null;
  /** Most severe acknowledged or snoozed alert. */
  ackedSeverity: SeverityName | null;
  news2: { total: number; band: News2Band } | null;
  dataGap: boolean;
  lastReading: number | null;
}

export const acuityLabels = ['Stable', 'Low', 'Low–medium', 'Medium', 'High', 'Critical'] as const;

export function acuity(r: Pick<RankInput, 'unackedSeverity' | 'news2'>): number {
  return Math.max(
    r.unackedSeverity ? severityRank[r.unackedSeverity] : 0,
    r.news2 ? bandRank[r.news2.band] : 0,
  );
}

export function compareWorklist(a: RankInput, b: RankInput): number {
  return (
    acuity(b) - acuity(a) ||
    (b.unackedSeverity ? 1 : 0) - (a.unackedSeverity ? 1 : 0) ||
    (b.news2?.total ?? -1) - (a.news2?.total ?? -1) ||
    (b.ackedSeverity ? severityRank[b.ackedSeverity] : 0) -
      (a.ackedSeverity ? severityRank[a.ackedSeverity] : 0) ||
    Number(b.dataGap) - Number(a.dataGap) ||
    (b.lastReading ?? 0) - (a.lastReading ?? 0) ||
    a.name.localeCompare(b.name)
  );
}

export function rankWorklist<T extends RankInput>(rows: T[]): Array<T & { rank: number; acuity: number }> {
  return [...rows].sort(compareWorklist).map((r, i) => ({ ...r, rank: i + 1, acuity: acuity(r) }));
}

export interface VitalsForNews2 {
  respRate?: number;
  spo2?: number;
  systolic?: number;
  pulse?: number;
  temperature?: number;
  consciousness?: string;
  onOxygen?: boolean;
}

/**
 * NEWS2 from the latest vitals when detection has not stored a score: only with all five measured
 * parameters (a partial NEWS2 is not a NEWS2); consciousness is assumed Alert when unrecorded (the
 * `assume-alert` choice of the built-in programs); SpO2 scale 1 unless told otherwise.
 */
export function news2FromVitals(
  v: VitalsForNews2,
  spo2Scale: 1 | 2 = 1,
): { total: number; band: News2Band } | null {
  if (
    v.respRate === undefined ||
    v.spo2 === undefined ||
    v.systolic === undefined ||
    v.pulse === undefined ||
    v.temperature === undefined
  )
    return null;
  const c = (['A', 'C', 'V', 'P', 'U'] as const).find((x) => x === v.consciousness?.toUpperCase()) ?? 'A';
  const r = news2({
    respRate: v.respRate,
    spo2: v.spo2,
    spo2Scale,
    onOxygen: v.onOxygen ?? false,
    systolic: v.systolic,
    pulse: v.pulse,
    consciousness: c as Acvpu,
    temperature: v.temperature,
  });
  return { total: r.total, band: news2Band(r) };
}

export function bandOfTotal(total: number, anyThree = false): News2Band {
  return news2Band({ total, anyThree });
}
