import type { Reading } from '../core/reading.ts';

/** A reading as the management API shows it (the FHIR API renders the same row as an Observation). */
export function readingToJson(r: Reading) {
  return {
    id: r.id,
    deviceId: r.deviceId,
    patientId: r.patientId,
    attributed: r.patientId !== null,
    code: r.code,
    codings: r.codings,
    category: r.category,
    value: r.value,
    unit: r.unit,
    components: r.components,
    ...(r.valueCode !== undefined ? { valueCode: r.valueCode } : {}),
    ...(r.dataAbsentReason !== undefined ? { dataAbsentReason: r.dataAbsentReason } : {}),
    effective: r.effective,
    received: r.received,
    flags: r.flags,
    ...(r.original ? { original: r.original } : {}),
    transport: r.transport,
    profile: r.profile,
  };
}
