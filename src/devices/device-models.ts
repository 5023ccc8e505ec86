import { VigilError } from '../core/errors.ts';
import type {
  Advisory,
  DeviceModel,
  StoredAdvisory,
  StoredDeviceModel,
} from '../store/device-model-repository.ts';

export type { Advisory, DeviceModel, StoredAdvisory, StoredDeviceModel };

/**
 * The device-model catalogue: the regulatory record of each model of device Vigil takes readings
 * from (served as FHIR DeviceDefinition), the recalls and advisories recorded against a model, and
 * the findings that follow for the registered devices of each model. Pure: validation, CSV rows to
 * records, findings; storage is `src/store/device-model-repository.ts`.
 */

export const fdaClasses = ['I', 'II', 'III'] as const;
/** FDA premarket pathways; `exempt` = a class I/II device exempt from premarket notification. */
export const fdaPathways = ['510k', 'de-novo', 'pma', 'exempt'] as const;
export const euMdrClasses = ['I', 'IIa', 'IIb', 'III'] as const;
export const advisoryKinds = ['recall', 'advisory', 'field-safety-notice'] as const;
export const advisoryStatuses = ['open', 'closed'] as const;

export const modelIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** One bad field: which, and why (a code from docs/errors/foundation.md). */
export interface FieldProblem {
  field: string;
  code: string;
  reason: string;
}

/** GS1 check digit (mod 10, weights 3 and 1 from the right) of a GTIN-8/12/13/14. */
export function gs1CheckDigitValid(digits: string): boolean {
  if (!/^\d{8}$|^\d{12,14}$/.test(digits)) return false;
  const body = digits.slice(0, -1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const d = Number(body[body.length - 1 - i]);
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10 === Number(digits.at(-1));
}

/**
 * Premarket numbers by pathway: 510(k) K + 6 digits, De Novo DEN + 6 digits, PMA P + 6 digits with an
 * optional supplement (/S + 3 digits). (Formats as FDA's databases print them; unverified against a
 * written FDA specification.)
 */
const fdaNumberFormats: Record<string, RegExp> = {
  '510k': /^K\d{6}$/,
  'de-novo': /^DEN\d{6}$/,
  pma: /^P\d{6}(\/S\d{3})?$/,
};

const datePattern = /^\d{4}-\d{2}-\d{2}$/;
function validDate(s: string): boolean {
  if (!datePattern.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function httpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
};

const oneOf = <T extends string>(list: readonly T[], v: string | null): v is T =>
  v !== null && (list as readonly string[]).includes(v);

const INVALID = 'VIGIL_ERR_DEVICE_MODEL_INVALID';

/** A device model from loose input (API body, CSV row): the record, or every problem found. */
export function parseDeviceModel(
  input: Record<string, unknown>,
): { model: DeviceModel; problems: [] } | { model?: undefined; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (field: string, reason: string, code = INVALID) => problems.push({ field, code, reason });
  const id = text(input['id']);
  const manufacturer = text(input['manufacturer']);
  const model = text(input['model']);
  if (!id) bad('id', 'is required');
  else if (!modelIdPattern.test(id))
    bad('id', 'must be 1–64 of letters, digits, . _ : - (starting with a letter or digit)');
  if (!manufacturer) bad('manufacturer', 'is required');
  if (!model) bad('model', 'is required');
  for (const f of ['manufacturer', 'model', 'deviceKind', 'softwareVersion'] as const) {
    const v = text(input[f]);
    if (v && v.length > 200) bad(f, 'is longer than 200 characters');
  }
  const notes = text(input['notes']);
  if (notes && notes.length > 2000) bad('notes', 'is longer than 2000 characters');

  const udiDi = text(input['udiDi']);
  if (udiDi) {
    if (/^\d+$/.test(udiDi)) {
      if (!gs1CheckDigitValid(udiDi))
        bad(
          'udiDi',
          'a numeric UDI-DI is a GS1 GTIN (8, 12, 13 or 14 digits) with a valid check digit',
          'VIGIL_ERR_DEVICE_MODEL_INVALID_UDI',
        );
    } else if (!/^[A-Za-z0-9+\-./*$%: ]{1,70}$/.test(udiDi))
      bad(
        'udiDi',
        'a UDI-DI is at most 70 letters, digits and + - . / * $ % : (HIBCC, ICCBBA)',
        'VIGIL_ERR_DEVICE_MODEL_INVALID_UDI',
      );
  }

  const fdaClass = text(input['fdaClass']);
  if (fdaClass && !oneOf(fdaClasses, fdaClass)) bad('fdaClass', `must be one of ${fdaClasses.join(', ')}`);
  const fdaPathway = text(input['fdaPathway']);
  if (fdaPathway && !oneOf(fdaPathways, fdaPathway))
    bad('fdaPathway', `must be one of ${fdaPathways.join(', ')}`);
  const fdaNumber = text(input['fdaNumber']);
  if (fdaNumber) {
    const format = fdaPathway ? fdaNumberFormats[fdaPathway] : undefined;
    if (!fdaPathway)
      bad('fdaNumber', 'needs fdaPathway (510k, de-novo or pma)', 'VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE');
    else if (fdaPathway === 'exempt')
      bad(
        'fdaNumber',
        'an exempt device has no premarket number',
        'VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE',
      );
    else if (format && !format.test(fdaNumber))
      bad(
        'fdaNumber',
        `${fdaNumber} is not a ${fdaPathway} number (510k: K + 6 digits; de-novo: DEN + 6 digits; pma: P + 6 digits, optional /S + 3)`,
        'VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE',
      );
  }
  if (fdaPathway === 'pma' && fdaClass && fdaClass !== 'III')
    bad('fdaPathway', 'PMA is the pathway of class III devices', 'VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE');

  const euMdrClass = text(input['euMdrClass']);
  if (euMdrClass && !oneOf(euMdrClasses, euMdrClass))
    bad('euMdrClass', `must be one of ${euMdrClasses.join(', ')}`);
  const ceNotifiedBody = text(input['ceNotifiedBody']);
  if (ceNotifiedBody && !/^\d{4}$/.test(ceNotifiedBody))
    bad('ceNotifiedBody', 'a notified body is named by its four-digit number (NANDO), e.g. 0123');

  const sbomUrl = text(input['sbomUrl']);
  if (sbomUrl && (!httpsUrl(sbomUrl) || sbomUrl.length > 2000)) bad('sbomUrl', 'must be an http(s) URL');
  const endOfSupport = text(input['endOfSupport']);
  if (endOfSupport && !validDate(endOfSupport)) bad('endOfSupport', 'must be a date YYYY-MM-DD');

  if (problems.length) return { problems };
  return {
    model: {
      id: id!,
      manufacturer: manufacturer!,
      model: model!,
      deviceKind: text(input['deviceKind']),
      udiDi,
      fdaClass: fdaClass as DeviceModel['fdaClass'],
      fdaPathway: fdaPathway as DeviceModel['fdaPathway'],
      fdaNumber,
      euMdrClass: euMdrClass as DeviceModel['euMdrClass'],
      ceNotifiedBody,
      softwareVersion: text(input['softwareVersion']),
      sbomUrl,
      endOfSupport,
      notes,
    },
    problems: [],
  };
}

const ADV_INVALID = 'VIGIL_ERR_DEVICE_MODEL_INVALID_ADVISORY';

/** A recall or advisory from loose input; `modelId` may come from the route instead of the input. */
export function parseAdvisory(
  input: Record<string, unknown>,
): { advisory: Advisory; problems: [] } | { advisory?: undefined; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (field: string, reason: string) => problems.push({ field, code: ADV_INVALID, reason });
  const modelId = text(input['modelId']);
  if (!modelId) bad('modelId', 'is required');
  const kind = text(input['kind']);
  if (!oneOf(advisoryKinds, kind)) bad('kind', `must be one of ${advisoryKinds.join(', ')}`);
  const reference = text(input['reference']);
  if (!reference) bad('reference', 'is required (the issuer’s recall or notice number)');
  else if (reference.length > 100) bad('reference', 'is longer than 100 characters');
  const title = text(input['title']);
  if (!title) bad('title', 'is required');
  else if (title.length > 500) bad('title', 'is longer than 500 characters');
  const issuedOn = text(input['issuedOn']);
  if (!issuedOn || !validDate(issuedOn)) bad('issuedOn', 'must be a date YYYY-MM-DD');
  const status = text(input['status']) ?? 'open';
  if (!oneOf(advisoryStatuses, status)) bad('status', 'must be open or closed');
  const closedOn = text(input['closedOn']);
  if (closedOn && !validDate(closedOn)) bad('closedOn', 'must be a date YYYY-MM-DD');
  if (closedOn && status === 'open') bad('closedOn', 'an open advisory has no closing date');
  if (closedOn && issuedOn && validDate(issuedOn) && closedOn < issuedOn)
    bad('closedOn', 'is before issuedOn');
  const url = text(input['url']);
  if (url && !httpsUrl(url)) bad('url', 'must be an http(s) URL');
  if (problems.length) return { problems };
  return {
    advisory: {
      modelId: modelId!,
      kind: kind as Advisory['kind'],
      reference: reference!,
      title: title!,
      issuedOn: issuedOn!,
      status: status as Advisory['status'],
      closedOn,
      url,
      affectedVersions: text(input['affectedVersions']),
    },
    problems: [],
  };
}

/** Throws the first problem as a coded 400 naming every problem in `details`. */
export function refuse(problems: FieldProblem[]): never {
  const first = problems[0]!;
  throw new VigilError(first.code, `${first.field} ${first.reason}`, 400, { problems });
}

// ── CSV import ─────────────────────────────────────────────────────────────────────────────────

/** CSV header → field, for the model catalogue. */
export const modelCsvColumns: Record<string, keyof DeviceModel> = {
  id: 'id',
  manufacturer: 'manufacturer',
  model: 'model',
  device_kind: 'deviceKind',
  udi_di: 'udiDi',
  fda_class: 'fdaClass',
  fda_pathway: 'fdaPathway',
  fda_number: 'fdaNumber',
  eu_mdr_class: 'euMdrClass',
  ce_notified_body: 'ceNotifiedBody',
  software_version: 'softwareVersion',
  sbom_url: 'sbomUrl',
  end_of_support: 'endOfSupport',
  notes: 'notes',
};

/** CSV header → field, for recalls and advisories (`udi_di` may name the model instead of `model_id`). */
export const advisoryCsvColumns: Record<string, keyof Advisory | 'udiDi'> = {
  model_id: 'modelId',
  udi_di: 'udiDi',
  kind: 'kind',
  reference: 'reference',
  title: 'title',
  issued_on: 'issuedOn',
  status: 'status',
  closed_on: 'closedOn',
  url: 'url',
  affected_versions: 'affectedVersions',
};

/** A refused CSV row: its row number as a spreadsheet shows it (the header is row 1). */
export interface RowProblem extends FieldProblem {
  row: number;
}

export const CSV_INVALID = 'VIGIL_ERR_DEVICE_MODEL_CSV_INVALID';
export const maxCsvRows = 5000;

/**
 * Parsed CSV records (header first) → objects keyed by field, or the problems: an unknown or
 * missing column, too many rows, a row with the wrong number of cells.
 */
export function csvRecords(
  records: string[][],
  columns: Record<string, string>,
  required: readonly string[],
): { rows: Array<{ row: number; values: Record<string, string> }>; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  if (header.length === 0 || (header.length === 1 && header[0] === ''))
    return {
      rows: [],
      problems: [
        {
          row: 1,
          field: 'header',
          code: CSV_INVALID,
          reason: 'the file is empty (a header line is required)',
        },
      ],
    };
  header.forEach((h) => {
    if (!(h in columns))
      problems.push({
        row: 1,
        field: h,
        code: CSV_INVALID,
        reason: `unknown column “${h}”; columns are ${Object.keys(columns).join(', ')}`,
      });
  });
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) problems.push({ row: 1, field: dup, code: CSV_INVALID, reason: `column “${dup}” appears twice` });
  for (const r of required)
    if (!header.includes(r))
      problems.push({ row: 1, field: r, code: CSV_INVALID, reason: `required column “${r}” is missing` });
  if (records.length - 1 > maxCsvRows)
    problems.push({
      row: maxCsvRows + 2,
      field: 'file',
      code: CSV_INVALID,
      reason: `more than ${maxCsvRows} rows; split the file`,
    });
  if (problems.length) return { rows: [], problems };
  const rows: Array<{ row: number; values: Record<string, string> }> = [];
  records.slice(1).forEach((cells, i) => {
    const row = i + 2;
    if (cells.every((c) => c.trim() === '')) return; // a blank line
    if (cells.length !== header.length) {
      problems.push({
        row,
        field: 'row',
        code: CSV_INVALID,
        reason: `has ${cells.length} cells, the header ${header.length}`,
      });
      return;
    }
    const values: Record<string, string> = {};
    header.forEach((h, j) => {
      values[columns[h]!] = cells[j] ?? '';
    });
    rows.push({ row, values });
  });
  return { rows, problems };
}

// ── findings ───────────────────────────────────────────────────────────────────────────────────

export const findingReasons = [
  'no-model',
  'no-fda-clearance',
  'no-eu-certificate',
  'end-of-support',
  'open-recall',
  'open-advisory',
] as const;
export type FindingReason = (typeof findingReasons)[number];

export interface FleetDevice {
  id: string;
  kind: string;
  modelId: string | null;
  revoked: boolean;
}

export interface DeviceFinding {
  deviceId: string;
  kind: string;
  modelId: string | null;
  manufacturer: string | null;
  model: string | null;
  reasons: FindingReason[];
  advisories: Array<Pick<StoredAdvisory, 'kind' | 'reference' | 'title' | 'issuedOn'>>;
  endOfSupport: string | null;
}

/** Why a model is a finding, whatever device uses it (today: YYYY-MM-DD in UTC). */
export function modelReasons(
  m: DeviceModel,
  openAdvisories: readonly Advisory[],
  today: string,
): FindingReason[] {
  const reasons: FindingReason[] = [];
  // cleared, approved or granted: a pathway with its number, or a recorded exemption
  if (!(m.fdaPathway === 'exempt' || (m.fdaPathway && m.fdaNumber))) reasons.push('no-fda-clearance');
  // CE marked under the MDR: a class, and for IIa and above the notified body that certified it
  if (!m.euMdrClass || (m.euMdrClass !== 'I' && !m.ceNotifiedBody)) reasons.push('no-eu-certificate');
  if (m.endOfSupport && m.endOfSupport <= today) reasons.push('end-of-support');
  if (openAdvisories.some((a) => a.kind === 'recall')) reasons.push('open-recall');
  if (openAdvisories.some((a) => a.kind !== 'recall')) reasons.push('open-advisory');
  return reasons;
}

/**
 * The registered devices (revoked ones left out) that need a look: no model recorded, or a model
 * with a finding. `only` keeps the devices with at least one of those reasons.
 */
export function fleetFindings(
  devices: readonly FleetDevice[],
  models: ReadonlyMap<string, DeviceModel>,
  openAdvisories: readonly StoredAdvisory[],
  today: string,
  only?: ReadonlySet<FindingReason>,
): DeviceFinding[] {
  const byModel = new Map<string, StoredAdvisory[]>();
  for (const a of openAdvisories) {
    if (a.status !== 'open') continue;
    byModel.set(a.modelId, [...(byModel.get(a.modelId) ?? []), a]);
  }
  const reasonsOf = new Map<string, FindingReason[]>();
  const out: DeviceFinding[] = [];
  for (const d of devices) {
    if (d.revoked) continue;
    const m = d.modelId ? models.get(d.modelId) : undefined;
    let reasons: FindingReason[];
    if (!m) reasons = ['no-model'];
    else {
      reasons = reasonsOf.get(m.id) ?? modelReasons(m, byModel.get(m.id) ?? [], today);
      reasonsOf.set(m.id, reasons);
    }
    if (only?.size) reasons = reasons.filter((r) => only.has(r));
    if (reasons.length === 0) continue;
    out.push({
      deviceId: d.id,
      kind: d.kind,
      modelId: m?.id ?? null,
      manufacturer: m?.manufacturer ?? null,
      model: m?.model ?? null,
      reasons,
      advisories: (m ? (byModel.get(m.id) ?? []) : []).map((a) => ({
        kind: a.kind,
        reference: a.reference,
        title: a.title,
        issuedOn: a.issuedOn,
      })),
      endOfSupport: m?.endOfSupport ?? null,
    });
  }
  return out;
}
