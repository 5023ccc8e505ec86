import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';
import { analyzePcd04 } from './hl7v2-pcd04.ts';

const corpus = (name: string) =>
  readFileSync(new URL(`../../../test/corpora/hl7v2/acm/${name}`, import.meta.url), 'latin1').replace(
    /\r\n/g,
    '\r',
  );
const MINDRAY = corpus('acm-spo2-low-mindray.hl7v2');
const BBRAUN = corpus('acm-occlusion-bbraun.hl7v2');
const ctx = { deviceId: 'monitor-1', receivedAt: Date.parse('2012-01-11T21:05:00Z') };

const refused = (text: string, code: string, field?: RegExp) =>
  assert.throws(
    () => analyzePcd04(text, ctx),
    (e) => {
      assert.ok(isVigilError(e));
      assert.equal(e.code, code);
      if (field) assert.match(String(e.details?.field ?? ''), field);
      return true;
    },
  );

describe('IHE PCD-04 (ACM ORU^R40) profile', () => {
  it('reads the ACM low-SpO2 example: event, priority, source kind, phase, state, value and limits', () => {
    const { alarms, result, header } = analyzePcd04(MINDRAY, ctx);
    assert.equal(header.messageType, 'ORU^R40');
    assert.equal(header.senderEui64, '00A037EB2175780F', 'MSH-3 labelled EUI64 (no hyphen)');
    assert.equal(alarms.length, 1);
    const a = alarms[0];
    assert.ok(a);
    assert.equal(a.alarmId, '1');
    assert.equal(a.eventCode, '196670');
    assert.equal(a.eventRefId, 'MDC_EVT_LO');
    assert.equal(a.text, 'Low SpO2');
    assert.equal(a.priority, 'PM');
    assert.equal(a.kind, 'SP');
    assert.equal(a.direction, 'low');
    assert.equal(a.phase, 'start');
    assert.equal(a.state, 'active');
    assert.equal(a.inactivationState, 'enabled');
    assert.equal(a.ended, false);
    assert.equal(a.at, '2012-01-11T21:04:57.000Z', '-0600 offset applied: UTC');
    assert.deepEqual(a.source, {
      mdc: '150456',
      refId: 'MDC_PULS_OXIM_SAT_O2',
      loinc: '2708-6',
      value: 88,
      unit: '%',
      limits: '90-96',
    });
    // The triggering value is a reading like any PCD-01 SpO2.
    assert.equal(result.readings.length, 1);
    assert.equal(a.readingIndex, 0);
    const r = result.readings[0];
    assert.equal(r?.code, '2708-6');
    assert.equal(r?.value, 88);
    assert.equal(r?.unit, '%');
    assert.equal(r?.effective, '2012-01-11T21:04:57.000Z');
    assert.equal(r?.profile, 'hl7v2-pcd04');
  });

  it('normalize dispatches ORU^R40 to the PCD-04 profile under format hl7v2', () => {
    const out = normalize({
      format: 'hl7v2',
      payload: Buffer.from(MINDRAY),
      deviceId: 'm',
      receivedAt: ctx.receivedAt,
    });
    assert.equal(out.readings.length, 1);
    assert.equal(out.readings[0]?.profile, 'hl7v2-pcd04');
  });

  it('end phase and inactive state both end the alarm; continue does not', () => {
    const end = MINDRAY.replace('|start|', '|end|').replace('|active|', '|inactive|');
    assert.equal(analyzePcd04(end, ctx).alarms[0]?.ended, true);
    const inactive = MINDRAY.replace('|active|', '|inactive|');
    assert.equal(analyzePcd04(inactive, ctx).alarms[0]?.ended, true);
    const cont = MINDRAY.replace('|start|', '|continue|');
    const c = analyzePcd04(cont, ctx).alarms[0];
    assert.equal(c?.phase, 'continue');
    assert.equal(c?.ended, false);
    // Each phase's value reading has its own key: a continue is not a resend of the start.
    const k1 = analyzePcd04(MINDRAY, ctx).result.readings[0]?.messageId;
    const k2 = analyzePcd04(cont, ctx).result.readings[0]?.messageId;
    assert.notEqual(k1, k2);
  });

  it('the occlusion example: event in MDC_EVT_ALARM OBX-5, a technical alarm, source the pump, no reading', () => {
    const withPriority = BBRAUN.replace('|||ST|||F|', '|||ST~PH|||F|');
    const { alarms, result } = analyzePcd04(withPriority, ctx);
    const a = alarms[0];
    assert.equal(a?.eventCode, '196940');
    assert.equal(a?.eventRefId, 'MDC_EVT_FLUID_LINE_OCCL');
    assert.equal(a?.text, 'Occlusion');
    assert.equal(a?.kind, 'ST');
    assert.equal(a?.priority, 'PH');
    assert.equal(a?.direction, undefined);
    assert.equal(a?.alarmId, 'E0001_27', 'OBR-3 filler number identifies the alarm');
    assert.deepEqual(a?.source, { mdc: '69985', refId: 'MDC_DEV_PUMP_INFUS_MDS' });
    assert.equal(result.readings.length, 0);
  });

  it('a priority facet is read when OBX-8 carries none', () => {
    const facet = `${BBRAUN}OBX|6|ST|68484^MDC_ATTR_ALARM_PRIORITY^MDC|1.0.0.0.6|PL||||||F\r`;
    assert.equal(analyzePcd04(facet, ctx).alarms[0]?.priority, 'PL');
  });

  it('refuses with coded reasons: no priority, unknown phase, no event, no OBR, a non-numeric value', () => {
    refused(BBRAUN, 'VIGIL_ERR_HL7V2_ALARM_PRIORITY', /^OBX\[1\]-8$/);
    refused(MINDRAY.replace('|start|', '|begin|'), 'VIGIL_ERR_HL7V2_ALARM_PHASE', /^OBX\[3\]-5$/);
    refused(MINDRAY.replace(/OBX\|3\|[^\r]*\r/, ''), 'VIGIL_ERR_HL7V2_ALARM_PHASE');
    refused(
      MINDRAY.replace('196670^MDC_EVT_LO^MDC', '150456^MDC_PULS_OXIM_SAT_O2^MDC'),
      'VIGIL_ERR_HL7V2_ALARM_NO_EVENT',
    );
    refused(
      MINDRAY.split('\r')
        .filter((s) => !s.startsWith('OBR') && !s.startsWith('OBX'))
        .join('\r'),
      'VIGIL_ERR_HL7V2_ALARM_NONE',
    );
    refused(MINDRAY.replace('|88|', '|8x8|'), 'VIGIL_ERR_INGEST_NOT_A_NUMBER');
    refused(MINDRAY.replace('|2.6|', '|3.0|'), 'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION');
  });
});
