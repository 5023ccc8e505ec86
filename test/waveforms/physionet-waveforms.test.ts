import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Detection } from '../../src/core/detection.ts';
import { newId } from '../../src/core/ids.ts';
import type { Reading } from '../../src/core/reading.ts';
import { parseSampleData } from '../../src/core/waveform.ts';
import { createEngine } from '../../src/detect/engine.ts';
import { validateProgramConfig } from '../../src/detect/program-config.ts';
import { detectQrs } from '../../src/detect/waveform/qrs-detector.ts';
import { readingToObservation } from '../../src/normalize/fhir-observation.ts';
import { normalize } from '../../src/normalize/normalize.ts';
import { ratesFromStrip } from '../../src/pipeline/waveform-rates.ts';
import type { Database } from '../../src/store/database.ts';
import { ObservationRepository } from '../../src/store/observation-repository.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { beatCodes, readAnnotations, readRecordCounts, type WfdbCounts } from '../support/wfdb.ts';

/**
 * The three PhysioNet records of test/corpora/physio as 10 s waveform strips in the gateway JSON
 * format (waveform-json), normalized, stored (one row per strip), read back and rendered as FHIR:
 * every sample comes back exactly; R peaks found on the stored MIT-BIH 100 lead match its beat
 * annotations; the Challenge 2015 false alarms a103l and v102s stay quiet once the rates derived
 * from the stored ECG and pleth strips go through the cross-signal confirmation.
 */
const wfdb = (f: string) => fileURLToPath(new URL(`../corpora/physio/wfdb/${f}`, import.meta.url));
const MDC = 'urn:iso:std:iso:11073:10101';
const T0 = Date.parse('2026-03-01T08:00:00Z');
const STRIP_SECONDS = 10;

interface ChannelSpec {
  signal: string;
  code: string;
  unit: string;
}
const RECORDS: Record<string, { strips: ChannelSpec[][] }> = {
  // One strip holds both leads (components of MDC_ECG_ELEC_POTL); MLII is stored as lead II.
  '100': {
    strips: [
      [
        { signal: 'MLII', code: '131330', unit: 'mV' },
        { signal: 'V5', code: '131335', unit: 'mV' },
      ],
    ],
  },
  // ECG and pleth are separate strips (one Observation each). Lead V and RESP are not stored: no
  // verified MDC code for an unspecified chest lead or the respiration waveform.
  a103l: {
    strips: [
      [{ signal: 'II', code: '131330', unit: 'mV' }],
      [{ signal: 'PLETH', code: '150452', unit: '1' }],
    ],
  },
  v102s: {
    strips: [
      [{ signal: 'II', code: '131330', unit: 'mV' }],
      [{ signal: 'PLETH', code: '150452', unit: '1' }],
    ],
  },
};

function channelJson(sig: WfdbCounts, spec: ChannelSpec, fs: number, from: number, to: number) {
  return {
    code: { system: MDC, code: spec.code },
    unit: spec.unit,
    periodMs: 1000 / fs,
    // physical = (count − baseline) / gain = origin + factor × count
    origin: -sig.baseline / sig.gain,
    factor: 1 / sig.gain,
    data: Array.from(sig.counts.subarray(from, to)),
  };
}

function stripReadings(name: string, deviceId: string): { readings: Reading[]; fs: number; n: number } {
  const rec = readRecordCounts(wfdb(`${name}.hea`));
  const n = (rec.signals[0] as WfdbCounts).counts.length;
  const per = Math.round(STRIP_SECONDS * rec.fs);
  const readings: Reading[] = [];
  const receivedAt = T0 + 3600_000;
  for (let from = 0; from < n; from += per) {
    const to = Math.min(n, from + per);
    for (const specs of RECORDS[name]?.strips ?? []) {
      const payload = {
        messageId: `${name}-${specs.map((s) => s.code).join('+')}-${from}`,
        time: new Date(T0 + Math.round((from * 1000) / rec.fs)).toISOString(),
        channels: specs.map((s) =>
          channelJson(rec.signals.find((x) => x.name === s.signal) as WfdbCounts, s, rec.fs, from, to),
        ),
      };
      const out = normalize({ format: 'waveform-json', payload, deviceId, receivedAt });
      for (const d of out.readings) {
        const { messageId, ...rest } = d;
        readings.push({
          ...rest,
          id: newId(),
          deviceId,
          patientId: `patient-${name}`,
          transport: 'http',
          received: new Date(receivedAt).toISOString(),
          idempotencyKey: `${deviceId}|m:${messageId}|${d.code}`,
        });
      }
    }
  }
  return { readings, fs: rec.fs, n };
}

/** Counts of one channel (by code) across the stored strips, read back through FHIR, in time order. */
function countsFromFhir(observations: ReturnType<typeof readingToObservation>[], code: string): number[] {
  const out: number[] = [];
  for (const o of [...observations].sort((a, b) =>
    String(a.effectiveDateTime).localeCompare(String(b.effectiveDateTime)),
  )) {
    const sd =
      o.code.coding?.[0]?.code === code
        ? o.valueSampledData
        : o.component?.find((c) => c.code.coding?.[0]?.code === code)?.valueSampledData;
    if (!sd) continue;
    const parsed = parseSampleData(sd.data ?? '');
    assert.ok('counts' in parsed, `data of ${o.id} parses`);
    out.push(...parsed.counts);
  }
  return out;
}

describeEachDatabase('PhysioNet waveforms stored as strips', (factory) => {
  let db: Database;
  let repo: ObservationRepository;
  const stored = new Map<string, Reading[]>();
  const fhir = new Map<string, ReturnType<typeof readingToObservation>[]>();

  before(async () => {
    db = await factory.open();
    repo = new ObservationRepository(db);
    for (const name of Object.keys(RECORDS)) {
      const { readings } = stripReadings(name, `monitor-${name}`);
      await db.transaction((sql) => repo.insertBatch(sql, readings));
      const back: Reading[] = [];
      for (const r of readings) back.push((await repo.get(r.id)) as Reading);
      stored.set(name, back);
      fhir.set(name, back.map(readingToObservation));
    }
  });

  for (const name of Object.keys(RECORDS)) {
    it(`${name}: one row per strip, every sample read back exactly through FHIR`, async () => {
      const rec = readRecordCounts(wfdb(`${name}.hea`));
      const n = (rec.signals[0] as WfdbCounts).counts.length;
      const strips = Math.ceil(n / Math.round(STRIP_SECONDS * rec.fs));
      const rows = await db.query<{ n: number }>(
        'select count(*)::int as n from observation where device_id = $1',
        [`monitor-${name}`],
      );
      assert.equal(rows[0]?.n, strips * (RECORDS[name]?.strips.length ?? 0));
      for (const spec of RECORDS[name]?.strips.flat() ?? []) {
        const sig = rec.signals.find((s) => s.name === spec.signal) as WfdbCounts;
        const back = countsFromFhir(fhir.get(name) ?? [], spec.code);
        assert.equal(back.length, n, `${spec.signal}: sample count`);
        assert.deepEqual(Int32Array.from(back), sig.counts, `${spec.signal}: samples`);
      }
    });
  }

  it('compact: under 3 bytes per sample in the row (16-bit counts in base64, compressed by PostgreSQL), not a row each', async () => {
    const rows = await db.query<{ bytes: number; samples: number }>(
      `select sum(pg_column_size(data))::float8 as bytes,
              sum((select sum((c->>'count')::int) from jsonb_array_elements(data->'waveform'->'channels') c))::float8 as samples
       from observation where device_id = 'monitor-100'`,
    );
    const perSample = (rows[0]?.bytes ?? 0) / (rows[0]?.samples ?? 1);
    process.stdout.write(
      `# MIT-BIH 100 (2 × 650 000 samples): ${(rows[0]?.bytes ?? 0) / 1e6} MB in 181 rows, ${perSample.toFixed(2)} bytes/sample\n`,
    );
    assert.equal(rows[0]?.samples, 1_300_000);
    // 16-bit counts in base64 are 2.67 bytes; text (the FHIR data string) would be ~4–5
    assert.ok(perSample < 3, `${perSample} bytes per sample`);
  });

  it('every strip is a valid FHIR R4 Observation with SampledData (origin UCUM, period ms, factor, dimensions)', () => {
    for (const [name, list] of fhir) {
      for (const o of list) {
        assert.deepEqual(validateFhir(o), [], `${name} ${o.id}`);
        const sd = o.valueSampledData ?? o.component?.[0]?.valueSampledData;
        assert.equal(sd?.origin.system, 'http://unitsofmeasure.org');
        assert.ok(sd?.period && sd.period > 0 && sd.dimensions === 1 && typeof sd.factor === 'number');
      }
    }
    const multi = fhir.get('100')?.[0];
    assert.equal(multi?.code.coding?.[0]?.code, '131328');
    assert.deepEqual(
      multi?.component?.map((c) => c.code.coding?.[0]?.code),
      ['131330', '131335'],
    );
    const pleth = fhir.get('a103l')?.find((o) => o.code.coding?.[0]?.code === '150452');
    assert.equal(pleth?.valueSampledData?.origin.code, '1');
  });

  it('R peaks on the stored MIT-BIH 100 lead II against its beat annotations: Se and +P ≥ 99 %', () => {
    const list = fhir.get('100') ?? [];
    const sd = list[0]?.component?.[0]?.valueSampledData;
    assert.ok(sd);
    const counts = countsFromFhir(list, '131330');
    const physical = Float64Array.from(counts, (c) => (sd.origin.value ?? 0) + (sd.factor ?? 1) * c);
    const fs = 1000 / sd.period;
    const found = detectQrs(physical, fs);
    const beats = readAnnotations(wfdb('100.atr')).filter((a) => beatCodes.has(a.code));
    const tol = Math.round(0.15 * fs);
    let tp = 0;
    let j = 0;
    for (const b of beats) {
      while (j < found.length && (found[j] as number) < b.sample - tol) j++;
      if (j < found.length && (found[j] as number) <= b.sample + tol) {
        tp++;
        j++;
      }
    }
    const se = tp / beats.length;
    const ppv = tp / found.length;
    const report = `Se ${(100 * se).toFixed(2)} % (${tp}/${beats.length}), +P ${(100 * ppv).toFixed(2)} % (${tp}/${found.length})`;
    process.stdout.write(`# MIT-BIH 100 from stored strips: ${report}\n`);
    assert.ok(se >= 0.99, report);
    assert.ok(ppv >= 0.99, report);
  });

  const icuProgram = (confirm: boolean) =>
    validateProgramConfig({
      name: 'icu-alarms',
      rules: [
        {
          id: 'asystole',
          kind: 'threshold',
          code: '8867-4',
          direction: 'below',
          levels: [{ value: 20, severity: 'critical' }],
          persistSeconds: 2,
          confirmAcrossSources: confirm,
          confirmWindowSeconds: 10,
        },
        {
          id: 'vt',
          kind: 'threshold',
          code: '8867-4',
          direction: 'above',
          levels: [{ value: 150, severity: 'critical' }],
          persistSeconds: 4,
          confirmAcrossSources: confirm,
          confirmWindowSeconds: 10,
        },
      ],
    });

  /** Rates derived from the stored strips of the alarm's last 20 s, through the ICU rules. */
  function alarmsFromStoredStrips(name: string, o: { pleth: boolean; confirm: boolean }): Detection[] {
    const strips = (stored.get(name) ?? []).filter((r) => {
      const s = (Date.parse(r.effective) - T0) / 1000;
      return s >= 280 && s < 300 && (o.pleth || r.code !== '150452');
    });
    const rates = strips
      .flatMap((s) => ratesFromStrip(s, s.received).map((r) => ({ ...r, id: newId() })))
      // pleth first within a second, as a monitor's parameter block would send them
      .sort(
        (a, b) =>
          a.effective.localeCompare(b.effective) ||
          Number(b.codings[0]?.code === '149530') - Number(a.codings[0]?.code === '149530'),
      );
    assert.ok(rates.length > 0);
    const patient = `patient-${name}`;
    const e = createEngine({
      programs: [icuProgram(o.confirm)],
      patients: { [patient]: { programs: ['icu-alarms'] } },
    });
    return rates.flatMap((r) => e.onReading(r).detections).filter((d) => d.state === 'firing');
  }

  it('v102s (false VT): the stored ECG alone alarms; with the stored pleth confirming, no alarm', () => {
    const ecgOnly = alarmsFromStoredStrips('v102s', { pleth: false, confirm: true });
    assert.ok(ecgOnly.length > 0, 'the ECG-derived rate alone fires the VT rule');
    assert.ok(ecgOnly.every((d) => d.conditionKey === 'threshold:8867-4:high'));
    assert.deepEqual(alarmsFromStoredStrips('v102s', { pleth: true, confirm: true }), []);
  });

  it('a103l (false asystole): no alarm from the stored ECG and pleth', () => {
    assert.deepEqual(alarmsFromStoredStrips('a103l', { pleth: true, confirm: true }), []);
  });
});
