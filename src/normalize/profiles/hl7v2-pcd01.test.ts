import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';
import { escapeEr7, parseEr7, parseHl7Time, unescapeEr7 } from './hl7v2-er7.ts';
import { analyzePcd01, inspectPcd01, normalizeEui64 } from './hl7v2-pcd01.ts';

const corpus = new URL('../../../test/corpora/hl7v2/ipf/', import.meta.url);
const files = readdirSync(corpus).sort();
const read = (name: string) => readFileSync(new URL(name, corpus));
const ctx = { deviceId: 'monitor-1', receivedAt: Date.parse('2026-01-01T00:00:00Z') };
const run = (name: string, unit?: 'mg/dL' | 'mmol/L') =>
  normalize({
    format: 'hl7v2',
    payload: read(name),
    deviceId: 'monitor-1',
    receivedAt: ctx.receivedAt,
    ...(unit ? { programGlucoseUnit: unit } : {}),
  });

describe('HL7 v2 ER7 syntax', () => {
  it('reads delimiters from MSH and decodes escapes', () => {
    const m = parseEr7('MSH|^~\\&|A||||||ORU^R01|1|P|2.6\rNTE|1||a\\F\\b\\S\\c\\E\\d\\X41\\');
    assert.equal(m.segments.length, 2);
    assert.equal(unescapeEr7(m.segments[1]?.fields[3] ?? '', m.delimiters), 'a|b^c\\dA');
    assert.equal(escapeEr7('a|b^c&d~e\\'), 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\');
  });
  it('refuses what is not HL7 v2', () => {
    for (const text of ['{"json":1}', 'MSH|^^\\&|x', 'MSH|^~\\&|A\rxx|1']) {
      assert.throws(
        () => parseEr7(text),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_HL7V2_MALFORMED',
      );
    }
  });
  it('parses HL7 timestamps with and without an offset', () => {
    assert.equal(
      new Date(parseHl7Time('20090813095715+0500', 'f', 0).ms).toISOString(),
      '2009-08-13T04:57:15.000Z',
    );
    const local = parseHl7Time('20081211144500', 'f', -240);
    assert.equal(local.hadOffset, false);
    assert.equal(new Date(local.ms).toISOString(), '2008-12-11T18:45:00.000Z');
    assert.throws(() => parseHl7Time('20090230120000', 'f', 0), /not a real date/);
    assert.throws(() => parseHl7Time('2009', 'f', 0), /at least minutes/);
  });
});

describe('IHE PCD-01 profile over the IPF corpus', () => {
  it('holds the 11 corpus messages', () => assert.equal(files.length, 11));

  for (const name of files.filter((f) => !f.includes('invalid'))) {
    it(`accepts ${name}`, () => {
      const out = run(name);
      assert.ok(out.status, 'a valid message always reports the device as seen');
      for (const r of out.readings) {
        assert.equal(r.profile, 'hl7v2-pcd01');
        assert.ok(r.messageId?.includes('|'), 'idempotency uses more than MSH-10');
        assert.ok(
          r.codings.some((c) => c.system === 'urn:iso:std:iso:11073:10101'),
          'MDC coding kept',
        );
      }
    });
  }

  it('refuses the invalid Continua glucose message with a coded reason', () => {
    assert.throws(
      () => run('wan__invalid-glucose-continua-wan.hl7v2'),
      (e) =>
        isVigilError(e) &&
        e.code === 'VIGIL_ERR_HL7V2_MISSING_VALUE_TYPE' &&
        e.details?.['field'] === 'OBX[8]-2',
    );
  });

  it('turns SYS/DIA/MEAN under one parent into a blood-pressure panel (offset honoured)', () => {
    const [bp, ...rest] = run('pcd01__valid-pcd01-request.hl7v2').readings;
    assert.equal(rest.length, 0);
    assert.equal(bp?.code, '85354-9');
    assert.deepEqual(
      bp?.components.map((c) => [c.code, c.value, c.unit]),
      [
        ['8480-6', 120, 'mm[Hg]'],
        ['8462-4', 80, 'mm[Hg]'],
        ['8478-0', 100, 'mm[Hg]'],
      ],
    );
    assert.equal(bp?.effective, '2009-08-13T04:57:15.000Z'); // OBR-7 20090813095715+0500
  });

  it('inherits the time of the hierarchy row and skips hierarchy/time-sync rows', () => {
    const a = analyzePcd01(read('wan__valid-bp-continua-wan.hl7v2'), ctx);
    assert.equal(a.result.readings.length, 1);
    assert.equal(a.result.readings[0]?.effective, '2009-08-13T09:57:15.000Z');
    assert.deepEqual(
      a.skipped.map((s) => s.reason),
      ['value-type', 'hierarchy', 'hierarchy', 'value-type'],
    );
  });

  it('maps a bedside monitor with UCUM units; unmapped MDC codes are skipped; zone-less time is flagged', () => {
    const a = analyzePcd01(read('pcd01__valid-pcd01-request2.hl7v2'), ctx);
    const hr = a.result.readings.find((r) => r.code === '8867-4');
    assert.equal(hr?.value, 60);
    assert.equal(hr?.unit, '/min');
    assert.ok(hr?.flags.includes('time-zone-assumed'));
    assert.equal(hr?.effective, '2008-12-11T14:45:00.000Z'); // read as UTC: MSH-7 has no offset either
    assert.equal(a.skipped.filter((s) => s.reason === 'unmapped').length, 8);
    assert.equal(a.header.senderEui64, '080019FFFF4F6AC0');
  });

  it('converts °F to Cel, keeps the original, and glucose follows the program unit', () => {
    const [t] = run('wan__valid-thermometer-continua-wan.hl7v2').readings;
    assert.equal(t?.code, '8310-5');
    assert.equal(t?.value, 37);
    assert.deepEqual(t?.original, { value: 98.6, unit: '[degF]' });
    const [g] = run('wan__valid-glucose-continua-wan.hl7v2', 'mmol/L').readings;
    assert.equal(g?.code, '14743-9');
    assert.equal(g?.unit, 'mmol/L');
    assert.deepEqual(g?.original, { value: 37.5, unit: 'mg/dL' });
  });

  it('keeps the equipment EUI-64s and the MSH facts the acknowledgement needs', () => {
    const h = inspectPcd01(read('pcd01__valid-pcd01-MaximumRequest2.hl7'));
    assert.equal(h.controlId, 'MSGID1234');
    assert.equal(h.messageType, 'ORU^R01');
    assert.equal(h.version, '2.6');
    assert.equal(h.senderEui64, 'ACDE48234567ABCD');
    assert.ok(h.equipmentEui64.includes('0123456789ABCDEF'));
    assert.equal(h.sendingFacility, 'SendFac^1.2.3.4^ISO');
    assert.equal(normalizeEui64('00-a0-37-00-98-00-66-40'), '00A0370098006640');
  });

  it('skips deleted rows (OBX-11 D) and emits the rest alone when a panel is incomplete', () => {
    const out = run('pcd01__valid-pcd01-MaximumRequest2.hl7');
    assert.deepEqual(out.readings.map((r) => r.code).sort(), ['8478-0', '8480-6']);
  });

  it('derives different idempotency keys for messages that reuse MSH-10 with other content', () => {
    const ids = new Set<string>();
    for (const name of files.filter((f) => !f.includes('invalid'))) {
      for (const r of run(name).readings) {
        assert.ok(!ids.has(r.messageId as string), `${name}: ${r.messageId} repeats`);
        ids.add(r.messageId as string);
      }
    }
    assert.ok(ids.size >= 13);
  });

  it('refuses other message types and a valued NM that is not a number', () => {
    const base = read('wan__valid-oximeter-continua-wan.hl7v2').toString('latin1');
    assert.throws(
      () =>
        normalize({ ...ctx, format: 'hl7v2', payload: base.replace('ORU^R01^ORU_R01', 'ADT^A01^ADT_A01') }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
    );
    assert.throws(
      () => normalize({ ...ctx, format: 'hl7v2', payload: base.replace('|80.5|', '|8O.5|') }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_NOT_A_NUMBER',
    );
  });

  it('MSH-12: 2.3 to 2.9 (with a third part) accepted, anything else AR unsupported version', () => {
    const base = read('wan__valid-scale-continua-wan.hl7v2').toString('latin1');
    const withVersion = (v: string) => base.replace('|P|2.6|', `|P|${v}|`);
    const n = normalize({ ...ctx, format: 'hl7v2', payload: base }).readings.length;
    assert.ok(n > 0);
    for (const v of ['2.3', '2.5.1', '2.6', '2.8.2', '2.9'])
      assert.equal(normalize({ ...ctx, format: 'hl7v2', payload: withVersion(v) }).readings.length, n, v);
    for (const v of ['2.1', '2.2', '2.6x', '2.10', '3.0', ''])
      assert.throws(
        () => normalize({ ...ctx, format: 'hl7v2', payload: withVersion(v) }),
        (e) => isVigilError(e) && e.code === 'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION',
        `version '${v}'`,
      );
  });

  it('OBX-11 C marks the reading corrected; R and F are plain results', () => {
    const base = read('wan__valid-scale-continua-wan.hl7v2').toString('latin1');
    const corrected = base.replace(
      '|80|263875^MDC_DIM_KILO_G^MDC|||||R|',
      '|81|263875^MDC_DIM_KILO_G^MDC|||||C|',
    );
    assert.notEqual(corrected, base);
    const rs = normalize({ ...ctx, format: 'hl7v2', payload: corrected }).readings;
    const weight = rs.find((r) => r.code === '29463-7');
    assert.equal(weight?.value, 81);
    assert.equal(weight?.resultStatus, 'corrected');
    assert.ok(rs.filter((r) => r.code !== '29463-7').every((r) => r.resultStatus === undefined));
  });
});
