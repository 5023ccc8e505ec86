/**
 * IHE PCD-04 Report Alarm (ACM profile) `ORU^R40^ORU_R40` messages, HL7 v2.6, as bedside monitors
 * and alarm managers send them (clinical-reference §4.4). Format `hl7v2` (normalize dispatches on
 * MSH-9).
 *
 * One OBR per alarm; its OBX "facets" are told apart by an extra OBX-4 level (`1.3.1.150456.1`,
 * `.2`, …): 1 the alarm identity (the event, MDC_EVT_…), 2 its source (the metric and the value
 * that triggered it, or MDC_ATTR_ALERT_SOURCE), 3 the event phase, 4 the alarm state, 5 the
 * inactivation state, 6 the priority, 7 the alert type, 8 the alert text.
 *
 * Facets are recognised by their REF_ID (`MDC_ATTR_EVENT_PHASE`, …) first and by their facet
 * number second: clinical-reference §4.4 marks the facet MDC codes UNVERIFIED (implementations send
 * 68481 or 68165 for the phase), so the numeric code is not trusted on its own. Priority and source
 * come from OBX-8 of facet 1 (`L~PM~SP`: abnormality, priority, source — verified), else from the
 * priority / type facets. The code set PH/PM/PL/PN (priority) and SP/ST/SA (physiological,
 * technical, advisory) is UNVERIFIED (from memory of the ACM supplement, §4.4).
 *
 * What becomes a reading: the source facet when it is an NM row with an MDC metric Vigil maps to
 * LOINC (the value that triggered the alarm, e.g. SpO2 88 %): an Observation like any PCD-01
 * reading, cited as the alert's evidence. Everything else is alarm facts (`analyzePcd04().alarms`),
 * which the device-alarm stage turns into a Vigil alert.
 *
 * Refused (the whole message, AE, dead letter): an OBR without an alarm identity, a phase or a
 * priority Vigil cannot read. Idempotency of the value reading: R40 | alarm id | phase | MDC | time.
 */
import type { QualityFlag } from '../../core/reading.ts';
import { MDC, MDC_TO_LOINC, MDC_UNIT_TO_UCUM } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import {
  type ProfileContext,
  type ProfileResult,
  quantityDraft,
  type ReadingDraft,
  receiptTime,
  TIME_FROM_RECEIPT,
} from '../reading-draft.ts';
import {
  comp,
  type Er7Message,
  Hl7v2Error,
  hl7v2Error,
  parseEr7,
  parseHl7Time,
  rawField,
  repetitions,
  type Segment,
} from './hl7v2-er7.ts';
import {
  checkHeader,
  decodeHl7Text,
  inspectPcd01,
  type Pcd01Header,
  TIME_ZONE_ASSUMED,
} from './hl7v2-pcd01.ts';

/** IEC 60601-1-8 priorities as ACM codes them: high, medium, low, none (informational). */
export type AlarmPriority = 'PH' | 'PM' | 'PL' | 'PN';
/** ACM phases. `start`, `continue` and `end` are the lifecycle; the others update an active alarm. */
export const ALARM_PHASES = [
  'start',
  'continue',
  'end',
  'update',
  'escalate',
  'de-escalate',
  'reminder',
  'tpoint',
  'present',
] as const;
export type AlarmPhase = (typeof ALARM_PHASES)[number];

export interface DeviceAlarmReport {
  /** The alarm's own identity across its phases: OBR-3 (filler), else OBR-2 (placer), else OBR-29. */
  alarmId: string;
  /** MSH-10 of the message. */
  controlId: string;
  /** The event (alarm type) as MDC code + REF_ID, e.g. 196670 / MDC_EVT_LO. */
  eventCode: string;
  eventRefId: string;
  /** Text the device gives the alarm (ALERT_TEXT facet, or facet 1's text). Device text, may be empty. */
  text: string;
  /** The source metric (facet 2), when it is a metric. */
  source?: {
    mdc: string;
    refId: string;
    /** LOINC the metric maps to (codes.ts), when it does. */
    loinc?: string | undefined;
    value?: number | undefined;
    /** UCUM. */
    unit?: string | undefined;
    /** OBX-7 as sent (`90-96`): the device's alarm limits. */
    limits?: string | undefined;
  };
  /** Abnormality from OBX-8 (L/H, LL/HH) or the REF_ID (`…_LO`, `…_HI`). */
  direction: 'low' | 'high' | undefined;
  priority: AlarmPriority;
  /** SP physiological, ST technical, SA advisory (undefined when not sent). */
  kind: 'SP' | 'ST' | 'SA' | undefined;
  phase: AlarmPhase;
  /** MDC_ATTR_ALARM_STATE as sent: inactive, active, latched (lower case). */
  state: string;
  inactivationState: string;
  /** Device time of the alarm event (UTC ISO). */
  at: string;
  flags: QualityFlag[];
  /** Whether this report ends the alarm: phase `end`, or state `inactive`/`off`. */
  ended: boolean;
  /** Index of the OBR (1-based) for error locations. */
  obr: number;
  /** Position in `result.readings` of the reading of the triggering value, when there is one. */
  readingIndex?: number;
}

const PRIORITIES = new Set<AlarmPriority>(['PH', 'PM', 'PL', 'PN']);
const KINDS = new Set(['SP', 'ST', 'SA']);
const MDC_EVT_ALARM = '196616';

interface Facet {
  n: number;
  seg: Segment;
  code: string;
  refId: string;
  system: string;
  valueType: string;
}

function facetOf(msg: Er7Message, seg: Segment): Facet | undefined {
  const subId = comp(msg, seg, 4, 1);
  const parts = subId.split('.');
  const [code = '', refId = '', system = ''] = repetitions(msg, seg, 3)[0] ?? [];
  // Facets carry a 5th level (1.0.0.0.3); device-hierarchy rows (1.0.0.0) are not facets.
  if (parts.length < 5) return undefined;
  const n = Number(parts[parts.length - 1]);
  if (!Number.isInteger(n)) return undefined;
  return {
    n,
    seg,
    code,
    refId: refId.toUpperCase(),
    system: system.toUpperCase(),
    valueType: comp(msg, seg, 2, 1).toUpperCase(),
  };
}

const is = (f: Facet, refIds: readonly string[], n: number) =>
  refIds.includes(f.refId) || (f.refId === '' && f.n === n);

export function analyzePcd04(
  payload: Uint8Array | string | object,
  ctx: ProfileContext,
): { result: ProfileResult; header: Pcd01Header; alarms: DeviceAlarmReport[] } {
  const header = inspectPcd01(payload);
  checkHeader(header, 'ORU^R40');
  const msg = parseEr7(decodeHl7Text(payload));
  const msh = msg.segments[0] as Segment;
  const mshTime = comp(msg, msh, 7, 1);
  let fallbackOffset = ctx.utcOffsetMinutes ?? 0;
  if (/[+-]\d{4}$/.test(mshTime)) fallbackOffset = parseHl7Time(mshTime, 'MSH-7', 0).offsetMinutes;
  const time = (value: string, field: string): { iso: string; flags: QualityFlag[] } => {
    const t = parseHl7Time(value, field, fallbackOffset);
    return { iso: new Date(t.ms).toISOString(), flags: t.hadOffset ? [] : [TIME_ZONE_ASSUMED] };
  };

  // Group the OBX rows by OBR.
  const groups: Array<{ obr: Segment; rows: Segment[] }> = [];
  for (const seg of msg.segments) {
    if (seg.name === 'OBR') groups.push({ obr: seg, rows: [] });
    else if (seg.name === 'OBX') groups.at(-1)?.rows.push(seg);
  }
  if (groups.length === 0) throw hl7v2Error(Hl7v2Error.alarmNone, 'ORU^R40 carries no OBR (no alarm)', 'OBR');

  const alarms: DeviceAlarmReport[] = [];
  const readings: ReadingDraft[] = [];
  groups.forEach(({ obr, rows }, i) => {
    const o = i + 1;
    const facets = rows.map((r) => facetOf(msg, r)).filter((f): f is Facet => f !== undefined);
    const alarmId =
      comp(msg, obr, 3, 1) || comp(msg, obr, 2, 1) || comp(msg, obr, 29, 1) || `${header.controlId}:${o}`;
    // Facet 1: the event. Either OBX-3 is MDC_EVT_ALARM and OBX-5 names the event (CWE), or OBX-3 is the event.
    const identity = facets.find((f) => f.n === 1 && f.system === 'MDC');
    let eventCode = '';
    let eventRefId = '';
    let text = '';
    if (identity) {
      if (identity.code === MDC_EVT_ALARM || identity.refId === 'MDC_EVT_ALARM') {
        const v = repetitions(msg, identity.seg, 5)[0] ?? [];
        eventCode = v[0] ?? '';
        eventRefId = (v[1] ?? '').toUpperCase();
        text = v[8] ?? '';
      } else if (identity.refId.startsWith('MDC_EVT_') || identity.refId.startsWith('MDCX_EVT_')) {
        eventCode = identity.code;
        eventRefId = identity.refId;
        text =
          identity.valueType === 'ST' || identity.valueType === 'TX' ? comp(msg, identity.seg, 5, 0) : '';
      }
    }
    if (!identity || !/^\d{1,10}$/.test(eventCode) || !/^MDCX?_EVT_/.test(eventRefId)) {
      throw hl7v2Error(
        Hl7v2Error.alarmNoEvent,
        `OBR[${o}]: no alarm identity facet (OBX-4 …​.1 with an MDC_EVT_ event)`,
        `OBR[${o}]-4`,
      );
    }
    const interp = identity ? repetitions(msg, identity.seg, 8).map((r) => (r[0] ?? '').toUpperCase()) : [];
    const textFacet = facets.find((f) => is(f, ['MDC_ATTR_ALERT_TEXT'], 8));
    if (textFacet) text = comp(msg, textFacet.seg, 5, 0) || text;

    const phaseFacet = facets.find((f) => is(f, ['MDC_ATTR_EVENT_PHASE'], 3));
    const phase = (phaseFacet ? comp(msg, phaseFacet.seg, 5, 1) : '').trim().toLowerCase();
    if (!(ALARM_PHASES as readonly string[]).includes(phase)) {
      throw hl7v2Error(
        Hl7v2Error.alarmPhase,
        `OBR[${o}]: event phase ${JSON.stringify(phase || '(missing)')} is not one of ${ALARM_PHASES.join(', ')}`,
        phaseFacet ? `OBX[${comp(msg, phaseFacet.seg, 1, 1)}]-5` : `OBR[${o}]-4`,
      );
    }
    const stateFacet = facets.find((f) => is(f, ['MDC_ATTR_ALARM_STATE', 'MDC_ATTR_ALERT_STATE'], 4));
    const state = (stateFacet ? comp(msg, stateFacet.seg, 5, 1) : '').trim().toLowerCase();
    const inactFacet = facets.find((f) => is(f, ['MDC_ATTR_ALARM_INACTIVATION_STATE'], 5));
    const inactivationState = (inactFacet ? comp(msg, inactFacet.seg, 5, 1) : '').trim().toLowerCase();
    const prioFacet = facets.find((f) => is(f, ['MDC_ATTR_ALARM_PRIORITY'], 6));
    const priority = (interp.find((c) => PRIORITIES.has(c as AlarmPriority)) ??
      (prioFacet ? comp(msg, prioFacet.seg, 5, 1).trim().toUpperCase() : '')) as AlarmPriority;
    if (!PRIORITIES.has(priority)) {
      throw hl7v2Error(
        Hl7v2Error.alarmPriority,
        `OBR[${o}]: alarm priority ${JSON.stringify(priority || '(missing)')} is not PH, PM, PL or PN`,
        identity ? `OBX[${comp(msg, identity.seg, 1, 1)}]-8` : `OBR[${o}]-4`,
      );
    }
    const typeFacet = facets.find((f) => is(f, ['MDC_ATTR_ALERT_TYPE'], 7));
    const kindCode =
      interp.find((c) => KINDS.has(c)) ??
      (typeFacet ? comp(msg, typeFacet.seg, 5, 1).trim().toUpperCase() : '');
    const kind = KINDS.has(kindCode) ? (kindCode as 'SP' | 'ST' | 'SA') : undefined;
    let direction: 'low' | 'high' | undefined;
    if (interp.some((c) => c === 'L' || c === 'LL')) direction = 'low';
    else if (interp.some((c) => c === 'H' || c === 'HH')) direction = 'high';
    else if (/_LO(_|$)|_LOW(_|$)/.test(eventRefId)) direction = 'low';
    else if (/_HI(_|$)|_HIGH(_|$)/.test(eventRefId)) direction = 'high';

    const identityTime = comp(msg, identity.seg, 14, 1);
    const obrTime = comp(msg, obr, 7, 1);
    const when = identityTime
      ? time(identityTime, `OBX[${comp(msg, identity.seg, 1, 1)}]-14`)
      : obrTime
        ? time(obrTime, `OBR[${o}]-7`)
        : { iso: receiptTime(ctx), flags: [TIME_FROM_RECEIPT] };

    // Facet 2: the source. A metric row (NM) carries the value that triggered the alarm.
    const sourceFacet = facets.find((f) => f.n === 2);
    let source: DeviceAlarmReport['source'];
    let readingIndex: number | undefined;
    if (sourceFacet && sourceFacet.valueType === 'NM' && sourceFacet.system === 'MDC') {
      const field = `OBX[${comp(msg, sourceFacet.seg, 1, 1)}]`;
      const mapped = MDC_TO_LOINC.get(sourceFacet.code);
      const raw = comp(msg, sourceFacet.seg, 5, 1).trim();
      if (raw !== '' && !/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw))
        throw ingestError(IngestError.notANumber, `${field}-5: NM value is not a number`, {
          field: `${field}-5`,
        });
      const [unitCode = '', , unitSystem = ''] = repetitions(msg, sourceFacet.seg, 6)[0] ?? [];
      const unit = unitSystem.toUpperCase() === 'UCUM' ? unitCode : MDC_UNIT_TO_UCUM.get(unitCode);
      const sTime = comp(msg, sourceFacet.seg, 14, 1);
      const sWhen = sTime ? time(sTime, `${field}-14`) : when;
      source = {
        mdc: sourceFacet.code,
        refId: sourceFacet.refId,
        loinc: mapped?.loinc,
        value: raw === '' ? undefined : Number(raw),
        unit,
        limits: rawField(sourceFacet.seg, 7) || undefined,
      };
      if (mapped && raw !== '') {
        if (!unit)
          throw ingestError(
            IngestError.unitMismatch,
            `${field}-6: unit ${unitCode || '(none)'} is not mapped to UCUM`,
            {
              field: `${field}-6`,
            },
          );
        readings.push(
          quantityDraft(
            {
              code: mapped.loinc,
              value: Number(raw),
              unit,
              effective: sWhen.iso,
              profile: 'hl7v2-pcd04',
              flags: sWhen.flags,
              codings: [{ system: MDC, code: sourceFacet.code, display: sourceFacet.refId || mapped.refId }],
              messageId: `R40|${alarmId}|${phase}|${sourceFacet.code}|${sWhen.iso}`,
              field: `${field}-5`,
            },
            ctx,
          ),
        );
        // The reading's canonical value and unit (°F → Cel) are what the alert cites.
        readingIndex = readings.length - 1;
        const r = readings[readingIndex] as ReadingDraft;
        source.value = r.value ?? undefined;
        source.unit = r.unit ?? undefined;
      }
    } else if (sourceFacet) {
      const v = repetitions(msg, sourceFacet.seg, 5)[0] ?? [];
      if (/^\d{1,10}$/.test(v[0] ?? '')) source = { mdc: v[0] as string, refId: (v[1] ?? '').toUpperCase() };
    }
    alarms.push({
      alarmId,
      controlId: header.controlId,
      eventCode,
      eventRefId,
      text,
      ...(source ? { source } : {}),
      direction,
      priority,
      kind,
      phase: phase as AlarmPhase,
      state,
      inactivationState,
      at: when.iso,
      flags: when.flags,
      ended: phase === 'end' || state === 'inactive' || state === 'off',
      obr: o,
      ...(readingIndex !== undefined ? { readingIndex } : {}),
    });
  });
  return {
    result: {
      readings,
      status: {
        deviceId: ctx.deviceId,
        patientId: null,
        effective: receiptTime(ctx),
        received: receiptTime(ctx),
      },
    },
    header,
    alarms,
  };
}

export function pcd04Profile(payload: unknown, ctx: ProfileContext): ProfileResult {
  return analyzePcd04(payload as Uint8Array | string | object, ctx).result;
}
