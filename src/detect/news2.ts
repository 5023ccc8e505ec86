import { toIso } from '../core/clock.ts';
import type { Severity } from '../core/severity.ts';
import { LOCAL_CODE_SYSTEM, LocalCode, Loinc } from './codes.ts';
import { noUnknownKeys, num, oneOf, type Raw, severity, strList } from './config-fields.ts';
import { ACVPU, type Acvpu, type News2Band, news2, news2Band } from './news2-score.ts';
import { hasAnyFlag, isHeartRate, readingValue } from './reading-values.ts';
import { BASE_KEYS, type ReadingView, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * NEWS2 from the latest value of each parameter within a freshness window, recomputed whenever one
 * of its inputs arrives. The score is emitted as a derived reading (local code `vigil-news2`: the
 * reference has no verified LOINC for NEWS2) at once when its alert level changes, at most every
 * 5 min when only the total changes, and every `emitScoreMinutes` while unchanged — so a 1 Hz
 * monitor does not write a score per second.
 *
 * Severity mapping (RCP Chart 4 trigger → Vigil severity; documented in README):
 *   single parameter 3, total < 5 (low–medium) → medium: the chart already asks the RN to inform
 *   the medical team; 5–6 (urgent response) → high; ≥ 7 (emergency response) → critical.
 *   Totals 1–4 without a 3 are "low" risk: the score is stored but no alert is raised.
 */
export interface News2Config extends RuleBase {
  kind: 'news2';
  freshnessMinutes: number;
  /** Without a fresh ACVPU observation: skip the score, or assume Alert (flagged in the draft). */
  unrecordedConsciousness: 'skip' | 'assume-alert';
  emitScoreMinutes: number;
  ignoreFlags: string[];
  severityLowMedium: Severity;
  severityUrgent: Severity;
  severityEmergency: Severity;
}

type Param = 'respRate' | 'spo2' | 'oxygen' | 'systolic' | 'pulse' | 'consciousness' | 'temperature';
interface Latest {
  v: number | string;
  t: number;
  id: string;
}
export interface News2State {
  latest: Partial<Record<Param, Latest>>;
  lastScoreAt: number;
  lastScoreSig: string;
}

const KEYS = [
  ...BASE_KEYS,
  'freshnessMinutes',
  'unrecordedConsciousness',
  'emitScoreMinutes',
  'ignoreFlags',
  'severityLowMedium',
  'severityUrgent',
  'severityEmergency',
] as const;

/** Which NEWS2 parameter a reading provides, with its value. */
function extract(r: ReadingView, cfg: News2Config): [Param, number | string] | null {
  const rd = r.reading;
  switch (r.code) {
    case Loinc.respRate: {
      const v = readingValue(rd);
      return v === null ? null : ['respRate', v];
    }
    case Loinc.spo2:
    case Loinc.spo2PulseOximetry: {
      const v = readingValue(rd);
      return v === null || hasAnyFlag(rd, cfg.ignoreFlags) ? null : ['spo2', v];
    }
    case Loinc.bpPanel:
    case Loinc.systolic: {
      const v = readingValue(rd, r.code === Loinc.bpPanel ? Loinc.systolic : undefined);
      return v === null ? null : ['systolic', v];
    }
    case Loinc.bodyTemp: {
      const v = readingValue(rd);
      return v === null ? null : ['temperature', v];
    }
    case LocalCode.consciousness: {
      const c = rd.valueCode?.toUpperCase();
      return c !== undefined && (ACVPU as readonly string[]).includes(c) ? ['consciousness', c] : null;
    }
    case LocalCode.oxygenSupplement: {
      if (rd.valueCode === 'air' || rd.valueCode === 'oxygen') return ['oxygen', rd.valueCode];
      if (rd.value === null) return null;
      // A concentration in % is oxygen above room air (21 %); a flow is oxygen when > 0.
      return ['oxygen', (rd.unit === '%' ? rd.value > 21 : rd.value > 0) ? 'oxygen' : 'air'];
    }
    default:
      if (isHeartRate(r.code)) {
        const v = readingValue(rd);
        return v === null ? null : ['pulse', v];
      }
      return null;
  }
}

function fresh(l: Latest | undefined, now: number, windowMs: number): Latest | undefined {
  return l !== undefined && now - l.t <= windowMs ? l : undefined;
}

export const news2Rule: RuleKind<News2Config, News2State> = {
  kind: 'news2',
  validate(raw: Raw, path: string): News2Config {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path),
      kind: 'news2',
      freshnessMinutes: num(raw, 'freshnessMinutes', path, 60, { min: 1 }),
      unrecordedConsciousness: oneOf(
        raw,
        'unrecordedConsciousness',
        path,
        ['skip', 'assume-alert'] as const,
        'skip',
      ),
      emitScoreMinutes: num(raw, 'emitScoreMinutes', path, 15, { min: 0 }),
      ignoreFlags: strList(raw, 'ignoreFlags', path, ['low-perfusion', 'motion-artifact', 'poor-signal']),
      severityLowMedium: severity(raw, 'severityLowMedium', path, 'medium'),
      severityUrgent: severity(raw, 'severityUrgent', path, 'high'),
      severityEmergency: severity(raw, 'severityEmergency', path, 'critical'),
    };
  },
  init: () => ({ latest: {}, lastScoreAt: Number.MIN_SAFE_INTEGER, lastScoreSig: '' }),
  onReading(ctx, cfg, state, r) {
    const got = extract(r, cfg);
    if (got === null) return;
    const prev = state.latest[got[0]];
    if (prev !== undefined && prev.t > r.t) return; // late reading: the newer value stays
    state.latest[got[0]] = { v: got[1], t: r.t, id: r.reading.id };

    const w = cfg.freshnessMinutes * 60_000;
    const L = state.latest;
    const rr = fresh(L.respRate, r.t, w);
    const sp = fresh(L.spo2, r.t, w);
    const sbp = fresh(L.systolic, r.t, w);
    const hr = fresh(L.pulse, r.t, w);
    const temp = fresh(L.temperature, r.t, w);
    if (!rr || !sp || !sbp || !hr || !temp) return;
    const cons = fresh(L.consciousness, r.t, w);
    if (cons === undefined && cfg.unrecordedConsciousness === 'skip') return;
    const o2 = fresh(L.oxygen, r.t, w);
    const onOxygen = o2 !== undefined ? o2.v === 'oxygen' : ctx.patient.onOxygen;
    const result = news2({
      respRate: rr.v as number,
      spo2: sp.v as number,
      spo2Scale: ctx.patient.spo2Scale,
      onOxygen,
      systolic: sbp.v as number,
      pulse: hr.v as number,
      consciousness: (cons?.v ?? 'A') as Acvpu,
      temperature: temp.v as number,
    });
    const band = news2Band(result);
    const evidence = [rr, sp, sbp, hr, temp, cons, o2].filter((x) => x !== undefined).map((x) => x.id);
    const notes: string[] = [];
    if (cons === undefined) notes.push('consciousness not recorded; assumed Alert');
    if (o2 === undefined)
      notes.push(`no oxygen observation; patient setting: ${onOxygen ? 'oxygen' : 'air'}`);

    // Store a score when the alert level changes (at once), when only the total changes (at most
    // every 5 min: a 1 Hz SpO2 wobbling across 95/96 would otherwise write a score per second), and
    // every emitScoreMinutes regardless.
    const level = severityFor(cfg, band) ?? 'none';
    const [lastTotal, lastLevel] = state.lastScoreSig.split('|');
    const since = r.t - state.lastScoreAt;
    const sig = `${result.total}|${level}`;
    if (
      lastLevel !== level ||
      (lastTotal !== String(result.total) && since >= MIN_SCORE_INTERVAL_MS) ||
      since >= cfg.emitScoreMinutes * 60_000
    ) {
      state.lastScoreSig = sig;
      state.lastScoreAt = r.t;
      ctx.derive({
        deviceId: r.reading.deviceId,
        patientId: ctx.patientId,
        code: LocalCode.news2Score,
        codings: [{ system: LOCAL_CODE_SYSTEM, code: LocalCode.news2Score, display: 'NEWS2 total score' }],
        category: 'survey',
        value: result.total,
        unit: '{score}',
        components: Object.entries(result.parts).map(([k, v]) => ({
          code: `${LocalCode.news2Score}-${k}`,
          value: v,
          unit: '{score}',
        })),
        effective: toIso(r.t),
        flags: cons === undefined ? ['questionable'] : [],
        idempotencyKey: `news2:${ctx.patientId}:${r.t}`,
        transport: r.reading.transport,
        profile: 'derived:news2',
        notes: [`spo2 scale ${ctx.patient.spo2Scale}`, `derived from ${evidence.join(' ')}`, ...notes],
      });
    }
    const sev = level === 'none' ? null : level;
    ctx.assess(cfg, {
      key: 'news2',
      active: sev !== null,
      severity: sev ?? 'info',
      atMs: r.t,
      summary: `NEWS2 ${result.total}${result.anyThree ? ' (a parameter scores 3)' : ''}: ${bandText(band)}`,
      evidence,
      data: { score: result.total, parts: result.parts, band, spo2Scale: ctx.patient.spo2Scale, onOxygen },
    });
  },
};

const MIN_SCORE_INTERVAL_MS = 5 * 60_000;

function severityFor(cfg: News2Config, band: News2Band): Severity | null {
  switch (band) {
    case 'high':
      return cfg.severityEmergency;
    case 'medium':
      return cfg.severityUrgent;
    case 'low-medium':
      return cfg.severityLowMedium;
    case 'low':
    case 'none':
      return null;
    default: {
      const never: never = band;
      return never;
    }
  }
}

function bandText(b: News2Band): string {
  return {
    high: 'emergency response threshold (≥ 7)',
    medium: 'urgent response threshold (5–6)',
    'low-medium': 'low–medium risk, single parameter scoring 3',
    low: 'low risk',
    none: 'no trigger',
  }[b];
}
