/**
 * IHE PCD-01 (Device Enterprise Communication) ORU^R01 messages, HL7 v2.6, as bedside monitors,
 * Continua gateways and PCD gateways send them (clinical-reference §4.2). Format `hl7v2`.
 *
 * What becomes a reading: an OBX with value type NM, an MDC code in OBX-3 (`<code>^<REF_ID>^MDC`)
 * that codes.ts maps to LOINC (§3.2), a numeric OBX-5 and a unit in OBX-6 (MDC dimension code, or
 * UCUM when OBX-6 says so). Systolic/diastolic(/mean) rows under one parent (OBX-4 containment
 * `MDS.VMD.CHAN.METRIC` minus its last level) at the same time become one blood-pressure panel.
 *
 * What does not: device-hierarchy rows (OBX-2 empty, usually OBX-11 `X`), rows with OBX-11 `X`
 * (cannot be obtained), `D`/`W` (deleted / wrong), other value types (ST, CWE, DTM, NA rows of
 * codes that are not waveform channels),
 * non-MDC codes and MDC codes without a LOINC mapping. They are skipped and counted
 * (`analyzePcd01` lists them); the message is still acknowledged. A valued OBX without a value type
 * refuses the whole message (`VIGIL_ERR_HL7V2_MISSING_VALUE_TYPE`: the IPF invalid corpus case).
 *
 * Time: OBX-14, else the nearest ancestor row's OBX-14 (by OBX-4 containment), else OBR-7, else the
 * receive time with flag `device-time-missing`. A timestamp without an offset is read in MSH-7's
 * offset when MSH-7 has one (the sender's zone), otherwise in UTC (`ctx.utcOffsetMinutes`, default
 * 0), and the reading is flagged `time-zone-assumed`.
 *
 * Waveforms: an `NA` row of an MDC waveform code (waveform-codes.ts) becomes one strip with its
 * sample period from the channel's MDC_ATTR_TIME_PD_SAMP row (hl7v2-pcd01-waveform.ts).
 *
 * Idempotency: `messageId` = MSH-10 | OBX-4 | MDC code | time; ingest prefixes the Vigil device.
 * MSH-10 alone is not unique in practice (most of the corpus reuses `MSGID1234`).
 */
import type { Coding, QualityFlag } from '../../core/reading.ts';
import { getCode, MDC, MDC_TO_LOINC, MDC_UNIT_TO_UCUM, type MdcDef } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import {
  type ProfileContext,
  type ProfileResult,
  panelDraft,
  quantityDraft,
  type ReadingDraft,
  receiptTime,
  TIME_FROM_RECEIPT,
} from '../reading-draft.ts';
import { type PatientIdentifier, pidIdentifiersOf } from './hl7v2-cx.ts';
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
import { type PeriodRow, TIMING_REF_IDS, type WaveRow, waveformDrafts } from './hl7v2-pcd01-waveform.ts';

/** Flag for a device time that carried no UTC offset (read per the rule above). */
export const TIME_ZONE_ASSUMED: QualityFlag = 'time-zone-assumed';

/**
 * MDC codes seen in PCD-01/Continua traffic that clinical-reference §3.2 does not list. UNVERIFIED
 * (status U): MDC_TEMP_ORAL (188424, in the IPF thermometer message) is a body temperature measured
 * orally, so it is mapped to 8310-5 Body temperature; a site-specific LOINC would be more precise
 * but the reference names none. Confirm against RTMMS / LOINC's IEEE mapping.
 */
const PCD01_EXTRA_MDC: ReadonlyMap<string, MdcDef> = new Map([
  ['188424', { refId: 'MDC_TEMP_ORAL', loinc: '8310-5', status: 'U' as const }],
]);

const BP_PANEL = '85354-9';
const BP_MEMBERS = new Set(['8480-6', '8462-4', '8478-0']);

export interface Pcd01Header {
  controlId: string;
  /** MSH-9 components 1 and 2, e.g. `ORU^R01`. */
  messageType: string;
  version: string;
  processingId: string;
  /** MSH-3..6 as sent (still escaped), echoed swapped in the acknowledgement. */
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-15 / MSH-16 as sent (devices swap them; the listener answers either way). */
  acceptAckType: string;
  applicationAckType: string;
  /** EUI-64 of the sending device or gateway (MSH-3), upper-case hex without separators. */
  senderEui64: string | undefined;
  /** EUI-64s of the equipment in OBX-18 (equipment instance identifier), distinct, in order of appearance. */
  equipmentEui64: string[];
  /** PID-3 of the message (the patient the sender believes it measures), for the wrong-patient check. */
  patientIdentifiers: PatientIdentifier[];
}

export interface SkippedRow {
  /** OBX-1 set id, or the row's position when OBX-1 is empty. */
  row: string;
  code: string;
  reason: 'hierarchy' | 'status' | 'value-type' | 'not-mdc' | 'unmapped' | 'no-value' | 'no-period';
}

/** Bytes → text: ISO 8859-1 when MSH-18 says so, UTF-8 otherwise. */
export function decodeHl7Text(payload: Uint8Array | string | object): string {
  if (typeof payload === 'string') return payload;
  if (!(payload instanceof Uint8Array)) {
    throw hl7v2Error(Hl7v2Error.malformed, 'an HL7 v2 payload must be bytes or text');
  }
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const head = buf.subarray(0, Math.min(buf.length, 1024)).toString('latin1');
  const msh = head.split(/\r|\n/)[0] ?? '';
  const charset = msh.split(msh[3] ?? '|')[17] ?? '';
  return /8859/.test(charset) ? buf.toString('latin1') : buf.toString('utf8');
}

/** Normalizes an EUI-64 (dashes, colons, case) to 16 upper-case hex digits, or undefined. */
export function normalizeEui64(value: string | null | undefined): string | undefined {
  const v = (value ?? '').replace(/[-:\s]/g, '').toUpperCase();
  return /^[0-9A-F]{16}$/.test(v) ? v : undefined;
}

/** The EUI-64 in an HD/EI/CWE field: the component labelled `EUI-64`'s id, else a 16-hex first component. */
function eui64Of(components: readonly string[]): string | undefined {
  for (let i = 1; i < components.length; i++) {
    // `EUI64` without the hyphen: the IHE ACM examples' senders write it so (MSH-3, OBR-2/3).
    if (/^EUI-?64$/.test((components[i] ?? '').toUpperCase())) {
      for (let j = i - 1; j >= 0; j--) {
        const e = normalizeEui64(components[j]);
        if (e) return e;
      }
    }
  }
  return normalizeEui64(components[0]);
}

function parse(payload: Uint8Array | string | object): Er7Message {
  return parseEr7(decodeHl7Text(payload));
}

function headerOf(msg: Er7Message): Pcd01Header {
  const msh = msg.segments[0] as Segment;
  const equipment: string[] = [];
  for (const seg of msg.segments) {
    if (seg.name !== 'OBX') continue;
    for (const rep of repetitions(msg, seg, 18)) {
      const e = eui64Of(rep);
      if (e && !equipment.includes(e)) equipment.push(e);
    }
  }
  return {
    controlId: comp(msg, msh, 10, 0),
    messageType: [comp(msg, msh, 9, 1), comp(msg, msh, 9, 2)].filter(Boolean).join('^'),
    version: comp(msg, msh, 12, 1),
    processingId: comp(msg, msh, 11, 1),
    sendingApplication: rawField(msh, 3),
    sendingFacility: rawField(msh, 4),
    receivingApplication: rawField(msh, 5),
    receivingFacility: rawField(msh, 6),
    acceptAckType: comp(msg, msh, 15, 1),
    applicationAckType: comp(msg, msh, 16, 1),
    senderEui64: eui64Of(repetitions(msg, msh, 3)[0] ?? []),
    equipmentEui64: equipment,
    patientIdentifiers: pidIdentifiersOf(msg),
  };
}

/** The MSH facts a transport needs before normalizing (device identification, acknowledgement). */
export function inspectPcd01(payload: Uint8Array | string | object): Pcd01Header {
  return headerOf(parse(payload));
}

/** Checks the message is a PCD-01 ORU^R01 (or, for PCD-04, ORU^R40) Vigil can read; throws the coded reason otherwise. */
export function checkHeader(h: Pcd01Header, type: 'ORU^R01' | 'ORU^R40' = 'ORU^R01'): void {
  if (!h.controlId)
    throw hl7v2Error(Hl7v2Error.missingControlId, 'MSH-10 (message control id) is empty', 'MSH-10');
  if (h.messageType !== type) {
    throw hl7v2Error(
      Hl7v2Error.unsupportedMessage,
      `message type ${h.messageType || '(none)'} is not ORU^R01 or ORU^R40`,
      'MSH-9',
    );
  }
  if (!SUPPORTED_VERSION.test(h.version)) {
    throw hl7v2Error(
      Hl7v2Error.unsupportedVersion,
      `HL7 version ${h.version || '(none)'} is not supported: 2.3 to 2.9 (PCD-01 and PCD-04 are 2.6)`,
      'MSH-12',
    );
  }
}

/**
 * MSH-12 accepted (docs/hl7v2.md): IHE PCD-01 and PCD-04 are HL7 v2.6 (clinical-reference §4.2);
 * 2.3 to 2.9, with an optional third part (2.5.1, 2.8.2), are accepted too, because the segments
 * and fields Vigil reads keep their place in those versions (HL7 v2 adds fields only at the end of
 * a segment — its backward-compatibility rule, not quoted in the clinical reference: unverified).
 * Anything else (2.1, 2.2, 3.0, 2.6x, empty) is refused AR VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION.
 */
export const SUPPORTED_VERSION = /^2\.[3-9](\.\d{1,2})?$/;

interface RowInfo {
  time?: string;
}

/** Candidate ancestors of an OBX-4 containment id, nearest first (`1.2.1.1` → 1.2.1.0, 1.2.1, 1.2.0.0, 1.2, …). */
function ancestors(subId: string): string[] {
  const parts = subId.split('.');
  const out: string[] = [];
  for (let n = parts.length - 1; n >= 1; n--) {
    const prefix = parts.slice(0, n);
    out.push([...prefix, ...Array(parts.length - n).fill('0')].join('.'), prefix.join('.'));
  }
  return out;
}

function parentOf(subId: string): string {
  const i = subId.lastIndexOf('.');
  return i < 0 ? '' : subId.slice(0, i);
}

function ucumFor(msg: Er7Message, obx: Segment, field: string): string {
  const [code = '', , system = ''] = repetitions(msg, obx, 6)[0] ?? [];
  const sys = system.toUpperCase();
  if (sys === 'UCUM') return code;
  if (sys === 'MDC' || /^\d+$/.test(code)) {
    const ucum = MDC_UNIT_TO_UCUM.get(code);
    if (!ucum)
      throw ingestError(IngestError.unitMismatch, `${field}: MDC unit ${code} is not mapped to UCUM`, {
        field,
      });
    return ucum;
  }
  if (!code) throw ingestError(IngestError.unitMismatch, `${field}: unit required`, { field });
  return code; // a bare unit: tried as UCUM by the draft builder
}

interface Pending {
  loinc: string;
  mdc: string;
  refId: string;
  value: number;
  unit: string;
  subId: string;
  effective: string;
  flags: QualityFlag[];
  field: string;
  group: string;
  /** OBX-11 `C`: a correction of a result the device sent before. */
  corrected: boolean;
}

/** The profile plus what it skipped (for tests, docs and diagnostics). */
export function analyzePcd01(
  payload: Uint8Array | string | object,
  ctx: ProfileContext,
): { result: ProfileResult; header: Pcd01Header; skipped: SkippedRow[] } {
  const msg = parse(payload);
  const header = headerOf(msg);
  checkHeader(header);
  const msh = msg.segments[0] as Segment;
  const mshTime = comp(msg, msh, 7, 1);
  let fallbackOffset = ctx.utcOffsetMinutes ?? 0;
  if (/[+-]\d{4}$/.test(mshTime)) fallbackOffset = parseHl7Time(mshTime, 'MSH-7', 0).offsetMinutes;

  const time = (value: string, field: string): { iso: string; flags: QualityFlag[] } => {
    const t = parseHl7Time(value, field, fallbackOffset);
    return { iso: new Date(t.ms).toISOString(), flags: t.hadOffset ? [] : [TIME_ZONE_ASSUMED] };
  };

  const skipped: SkippedRow[] = [];
  const pending: Pending[] = [];
  const waves: WaveRow[] = [];
  const periods: PeriodRow[] = [];
  let obrIndex = 0;
  let obrTime: { iso: string; flags: QualityFlag[] } | undefined;
  let rows = new Map<string, RowInfo>();
  let hierarchyCodes = new Map<string, string>();
  let position = 0;
  // OBX-14, else the nearest ancestor row's OBX-14, else OBR-7, else the receive time.
  const timeOfRow = (
    obxTime: string,
    subId: string,
    field: string,
  ): { iso: string; flags: QualityFlag[] } => {
    if (obxTime) return time(obxTime, field);
    for (const a of subId ? ancestors(subId) : []) {
      const t = rows.get(a)?.time;
      if (t) return time(t, `OBX-14 of ${a}`);
    }
    return obrTime ?? { iso: receiptTime(ctx), flags: [TIME_FROM_RECEIPT] };
  };

  for (const seg of msg.segments) {
    if (seg.name === 'OBR') {
      obrIndex++;
      const t = comp(msg, seg, 7, 1);
      obrTime = t ? time(t, `OBR[${obrIndex}]-7`) : undefined;
      rows = new Map();
      hierarchyCodes = new Map();
      continue;
    }
    if (seg.name !== 'OBX') continue;
    position++;
    const setId = comp(msg, seg, 1, 1) || String(position);
    const f = (n: number) => `OBX[${setId}]-${n}`;
    const valueType = comp(msg, seg, 2, 1).toUpperCase();
    const [code = '', refId = '', system = ''] = repetitions(msg, seg, 3)[0] ?? [];
    const subId = comp(msg, seg, 4, 1);
    const value = rawField(seg, 5);
    const status = comp(msg, seg, 11, 1).toUpperCase();
    const obxTime = comp(msg, seg, 14, 1);
    const info: RowInfo = {};
    if (obxTime) info.time = obxTime;
    if (subId) rows.set(subId, info);

    if (!valueType) {
      if (value !== '') {
        throw hl7v2Error(
          Hl7v2Error.missingValueType,
          `${f(2)} is empty but ${f(5)} carries a value: the value cannot be interpreted`,
          f(2),
        );
      }
      if (subId) hierarchyCodes.set(subId, code);
      skipped.push({ row: setId, code, reason: 'hierarchy' });
      continue;
    }
    if (status === 'X' || status === 'D' || status === 'W') {
      skipped.push({ row: setId, code, reason: 'status' });
      continue;
    }
    if (valueType === 'NM' && TIMING_REF_IDS.has(refId)) {
      periods.push({
        refId,
        subId,
        value: comp(msg, seg, 5, 1),
        unit: repetitions(msg, seg, 6)[0] ?? [],
        field: f(5),
      });
      continue;
    }
    if (valueType === 'NA' && system.toUpperCase() === 'MDC' && getCode(code)?.kind === 'waveform') {
      const when = timeOfRow(obxTime, subId, f(14));
      waves.push({
        field: f(5),
        code,
        subId,
        values: repetitions(msg, seg, 5)[0] ?? [],
        unit: repetitions(msg, seg, 6)[0] ?? [],
        effective: when.iso,
        flags: when.flags,
      });
      continue;
    }
    if (valueType !== 'NM') {
      skipped.push({ row: setId, code, reason: 'value-type' });
      continue;
    }
    if (system.toUpperCase() !== 'MDC' || !/^\d{1,10}$/.test(code)) {
      skipped.push({ row: setId, code, reason: 'not-mdc' });
      continue;
    }
    const mapped = MDC_TO_LOINC.get(code) ?? PCD01_EXTRA_MDC.get(code);
    if (!mapped) {
      skipped.push({ row: setId, code, reason: 'unmapped' });
      continue;
    }
    const text = comp(msg, seg, 5, 1).trim();
    if (text === '') {
      skipped.push({ row: setId, code, reason: 'no-value' });
      continue;
    }
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) {
      throw ingestError(IngestError.notANumber, `${f(5)}: NM value is not a number`, { field: f(5) });
    }
    const when = timeOfRow(obxTime, subId, f(14));
    pending.push({
      loinc: mapped.loinc,
      mdc: code,
      refId: refId || mapped.refId,
      value: Number(text),
      unit: ucumFor(msg, seg, f(6)),
      subId,
      effective: when.iso,
      flags: when.flags,
      field: f(5),
      group: `${obrIndex}|${parentOf(subId)}|${when.iso}`,
      corrected: status === 'C',
    });
  }

  const strips = waveformDrafts(waves, periods, header.controlId);
  for (const w of strips.untimed) skipped.push({ row: w.field, code: w.code, reason: 'no-period' });
  const readings = [...build(pending, header.controlId, hierarchyCodes, ctx), ...strips.drafts];
  return {
    result: {
      readings,
      // The device spoke: its last-seen time moves even when no row is a reading Vigil keeps.
      status: {
        deviceId: ctx.deviceId,
        patientId: null,
        effective: receiptTime(ctx),
        received: receiptTime(ctx),
      },
    },
    header,
    skipped,
  };
}

export function pcd01Profile(payload: unknown, ctx: ProfileContext): ProfileResult {
  return analyzePcd01(payload as Uint8Array | string | object, ctx).result;
}

const coding = (p: Pending): Coding => ({ system: MDC, code: p.mdc, display: p.refId });
const messageId = (controlId: string, subId: string, mdc: string, effective: string) =>
  `${controlId}|${subId}|${mdc}|${effective}`;

function build(
  pending: Pending[],
  controlId: string,
  hierarchyCodes: Map<string, string>,
  ctx: ProfileContext,
): ReadingDraft[] {
  const groups = new Map<string, Pending[]>();
  for (const p of pending)
    if (BP_MEMBERS.has(p.loinc)) groups.set(p.group, [...(groups.get(p.group) ?? []), p]);
  const inPanel = new Set<Pending>();
  const out: ReadingDraft[] = [];
  for (const members of groups.values()) {
    const codes = new Set(members.map((m) => m.loinc));
    if (!codes.has('8480-6') || !codes.has('8462-4') || codes.size !== members.length) continue;
    const first = members[0] as Pending;
    const parent = parentOf(first.subId);
    const panelMdc = hierarchyCodes.get(parent) || '150020';
    for (const m of members) inPanel.add(m);
    out.push(
      corrected(
        members.some((m) => m.corrected),
        panelDraft(
          {
            code: BP_PANEL,
            effective: first.effective,
            profile: 'hl7v2-pcd01',
            flags: first.flags,
            codings:
              panelMdc === '150020' ? [{ system: MDC, code: '150020', display: 'MDC_PRESS_BLD_NONINV' }] : [],
            messageId: messageId(controlId, parent, panelMdc, first.effective),
            components: members.map((m) => ({
              code: m.loinc,
              value: m.value,
              unit: m.unit,
              codings: [coding(m)],
              field: m.field,
            })),
            field: first.field,
          },
          ctx,
        ),
      ),
    );
  }
  for (const p of pending) {
    if (inPanel.has(p)) continue;
    out.push(
      corrected(
        p.corrected,
        quantityDraft(
          {
            code: p.loinc,
            value: p.value,
            unit: p.unit,
            effective: p.effective,
            profile: 'hl7v2-pcd01',
            flags: p.flags,
            codings: [coding(p)],
            messageId: messageId(controlId, p.subId, p.mdc, p.effective),
            field: p.field,
          },
          ctx,
        ),
      ),
    );
  }
  return out;
}

/**
 * OBX-11 `C` (HL7 table 0085: a correction of a final result): the reading is `corrected` and
 * replaces the device's earlier reading of the same code and time when one is stored (the same
 * Observation, a new version; ObservationRepository.insertBatch), rather than adding a second.
 */
function corrected(isCorrection: boolean, draft: ReadingDraft): ReadingDraft {
  if (!isCorrection) return draft;
  // The earlier reading's key differs only in MSH-10: prefer the one of the same OBX-4 and code.
  const id = draft.messageId ?? '';
  const rest = id.slice(id.indexOf('|'));
  return { ...draft, resultStatus: 'corrected', ...(rest ? { amends: `${rest}|${draft.code}` } : {}) };
}
