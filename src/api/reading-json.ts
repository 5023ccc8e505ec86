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
    // A strip's channels without their samples (those are served by the FHIR API as SampledData).
    ...(r.waveform
      ? {
          waveform: r.waveform.channels.map((c) => ({
            code: c.code,
            unit: c.unit,
            periodMs: c.periodMs,
            samples: c.count,
          })),
        }
      : {}),
    transport: r.transport,
    profile: r.profile,
  };
}
