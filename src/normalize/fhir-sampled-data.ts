/**
 * Waveform strips ↔ FHIR R4 SampledData (clinical-reference §10 "Waveforms"; the HL7 PHD IG
 * PhdRtsaObservation). A one-channel strip is `valueSampledData`; a multi-lead strip is one
 * `component` per lead, each with its `valueSampledData` (the FHIR ECG example's shape). Inward,
 * an Observation carrying SampledData (FHIR create, the PHD IG `rtsa` examples) becomes a strip
 * through the same builder as every device format (waveform-draft.ts).
 */
import type { Observation, ObservationComponent, SampledData } from '@medplum/fhirtypes';
import type { Reading } from '../core/reading.ts';
import { formatSampleData, type SampledChannel, unpackSamples } from '../core/waveform.ts';
import { MDC, UCUM } from './codes.ts';
import { IngestError, ingestError } from './errors.ts';
import { UNITS } from './units.ts';
import { type ChannelInput, waveformDraft } from './waveform-draft.ts';

export function sampledData(ch: SampledChannel): SampledData {
  const sd: SampledData = {
    origin: {
      value: ch.origin,
      unit: UNITS.get(ch.unit)?.display ?? ch.unit,
      system: UCUM,
      code: ch.unit,
    },
    period: ch.periodMs,
    factor: ch.factor,
    dimensions: ch.dimensions,
    data: formatSampleData(unpackSamples(ch)),
  };
  if (ch.lowerLimit !== undefined) sd.lowerLimit = ch.lowerLimit;
  if (ch.upperLimit !== undefined) sd.upperLimit = ch.upperLimit;
  return sd;
}

/** Sets value/component of an Observation for a waveform reading. */
export function renderWaveform(obs: Observation, reading: Reading): void {
  const channels = reading.waveform?.channels ?? [];
  const only = channels[0];
  if (channels.length === 1 && only && only.code === reading.code) {
    obs.valueSampledData = sampledData(only);
    return;
  }
  obs.component = channels.map(
    (ch): ObservationComponent => ({
      code: { coding: [{ system: MDC, code: ch.code, display: ch.display }], text: ch.display },
      valueSampledData: sampledData(ch),
    }),
  );
}

function channelFrom(sd: SampledData, code: string, field: string): ChannelInput {
  const unit = sd.origin?.system === UCUM ? sd.origin.code : undefined;
  if (!unit)
    throw ingestError(IngestError.unitMismatch, `${field}.origin: a UCUM unit (system ${UCUM}) is required`, {
      field: `${field}.origin`,
    });
  if (typeof sd.period !== 'number')
    throw ingestError(IngestError.invalidWaveform, `${field}.period is required`, {
      field: `${field}.period`,
    });
  const input: ChannelInput = {
    code,
    unit,
    origin: sd.origin?.value ?? Number.NaN,
    periodMs: sd.period,
    dimensions: sd.dimensions ?? Number.NaN,
    data: typeof sd.data === 'string' ? sd.data : '',
    field,
  };
  if (sd.factor !== undefined) input.factor = sd.factor;
  if (sd.lowerLimit !== undefined) input.lowerLimit = sd.lowerLimit;
  if (sd.upperLimit !== undefined) input.upperLimit = sd.upperLimit;
  return input;
}

function mdcOf(concept: Observation['code'] | undefined, field: string): string {
  const c = concept?.coding?.find((x) => x.system === MDC && x.code);
  if (!c?.code)
    throw ingestError(IngestError.unknownCode, `${field}: a waveform needs an MDC coding`, { field });
  return c.code;
}

/** True when the Observation carries a waveform (SampledData on it or on a component). */
export function hasSampledData(obs: Observation): boolean {
  return obs.valueSampledData !== undefined || (obs.component ?? []).some((c) => c.valueSampledData);
}

/**
 * The strip of an Observation with SampledData (for observationToReading): its code, channels and
 * packed samples. The Observation's other fields (time, device, subject) are read by the caller.
 */
export function waveformFromObservation(
  obs: Observation,
  effective: string,
): Reading['waveform'] & {
  code: string;
  codings: Reading['codings'];
  category: string;
} {
  const code = mdcOf(obs.code, 'Observation.code');
  const channels: ChannelInput[] = obs.valueSampledData
    ? [channelFrom(obs.valueSampledData, code, 'Observation.valueSampledData')]
    : (obs.component ?? []).map((c, i) => {
        const field = `Observation.component[${i}]`;
        if (!c.valueSampledData)
          throw ingestError(
            IngestError.invalidWaveform,
            `${field}: every component of a strip is SampledData`,
            {
              field,
            },
          );
        return channelFrom(c.valueSampledData, mdcOf(c.code, `${field}.code`), `${field}.valueSampledData`);
      });
  const draft = waveformDraft({ effective, profile: 'fhir', code, channels, field: 'Observation' });
  return {
    code: draft.code,
    codings: draft.codings,
    category: draft.category,
    channels: draft.waveform?.channels ?? [],
  };
}
