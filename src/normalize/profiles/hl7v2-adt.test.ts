import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { adtSender, parseAdt } from './hl7v2-adt.ts';

const msh = (type: string, extra = '') =>
  `MSH|^~\\&|ADT1^1.2.3^ISO|HOSP|VIGIL|ICU|20250315082930+0100||${type}|C1|P|2.5${extra}`;
const at = Date.UTC(2025, 2, 15, 12);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isVigilError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('HL7 v2 ADT profile', () => {
  it('reads identifiers with their authority as a FHIR system (ISO OID, UUID, URI, namespace, none)', () => {
    const m = parseAdt(
      [
        msh('ADT^A01^ADT_A01'),
        'EVN|A01|20250315082900+0100',
        'PID|1||1^^^A&1.2.840.1&ISO^MR~2^^^B&2F3C0D4E-0000-4000-8000-000000000001&UUID~3^^^C&https://example.org/mrn&URI~4^^^LOCAL^PI~5~^^^X',
        'PV1|1|I|ICU^101^A^GHH&1.2&ISO',
      ].join('\r'),
      at,
    );
    assert.deepEqual(
      m.patient.identifiers.map((i) => [i.system, i.value, i.type]),
      [
        ['urn:oid:1.2.840.1', '1', 'MR'],
        ['urn:uuid:2f3c0d4e-0000-4000-8000-000000000001', '2', null],
        ['https://example.org/mrn', '3', null],
        ['urn:vigil:hl7v2:authority:LOCAL', '4', 'PI'],
        [null, '5', null],
      ],
      'the repetition without a value is dropped',
    );
    assert.equal(m.sender, 'ADT1');
    assert.equal(m.location?.key, 'ICU^101^A^GHH', 'facility namespace only');
  });

  it('event time: EVN-6, else EVN-2, else MSH-7, else the receipt; MSH-7’s offset for times without one', () => {
    const base = (evn: string, first = msh('ADT^A08^ADT_A01')) =>
      parseAdt([first, evn, 'PID|1||9^^^H^MR'].join('\r'), at).eventAt;
    assert.equal(base('EVN|A08|202503150800|||x|202503150700'), Date.UTC(2025, 2, 15, 6));
    assert.equal(base('EVN|A08|202503150800'), Date.UTC(2025, 2, 15, 7));
    assert.equal(base('EVN|A08'), Date.UTC(2025, 2, 15, 7, 29, 30));
    assert.equal(
      base('EVN|A08', 'MSH|^~\\&|ADT1|H|V|V|||ADT^A08^ADT_A01|C1|P|2.5'),
      at,
      'no time anywhere: receipt',
    );
  });

  it('PV1-3 key drops trailing empty parts; no PV1-3 is no location; demographics', () => {
    const m = parseAdt(
      [msh('ADT^A04^ADT_A01'), 'PID|1||9^^^H^MR||Doe&van^Jan^Piet||19491|U', 'PV1|1|O|OPD^3|||WARD^1^B'].join(
        '\r',
      ),
      at,
    );
    assert.equal(m.location?.key, 'OPD^3');
    assert.equal(m.location?.display, 'OPD 3');
    assert.equal(m.priorLocation?.key, 'WARD^1^B');
    assert.equal(m.patient.family, 'Doe');
    assert.deepEqual(m.patient.given, ['Jan', 'Piet']);
    assert.equal(m.patient.gender, 'unknown');
    assert.equal(m.patient.birthDate, '1949', 'a partial year-month is read to the year');
    const none = parseAdt([msh('ADT^A08^ADT_A01'), 'PID|1||9^^^H^MR', 'PV1|1|I'].join('\r'), at);
    assert.equal(none.location, null);
  });

  it('the event comes from MSH-9.2, else EVN-1', () => {
    const m = parseAdt([msh('ADT'), 'EVN|A03|202503150800', 'PID|1||9^^^H^MR'].join('\r'), at);
    assert.equal(m.event, 'A03');
  });

  it('refuses with coded reasons', () => {
    const pid = 'PID|1||9^^^H^MR';
    assert.equal(
      code(() => parseAdt([msh('ADT^A05^ADT_A05'), pid].join('\r'), at)),
      'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
    );
    assert.equal(
      code(() => parseAdt([msh('ORU^R01^ORU_R01'), pid].join('\r'), at)),
      'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A01').replace('|C1|', '||'), pid].join('\r'), at)),
      'VIGIL_ERR_HL7V2_MISSING_CONTROL_ID',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A01').replace('|2.5', '|3.0'), pid].join('\r'), at)),
      'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A01'), 'PID|1||^^^H^MR'].join('\r'), at)),
      'VIGIL_ERR_HL7V2_ADT_NO_PATIENT_ID',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A40^ADT_A39'), pid, 'MRG|'].join('\r'), at)),
      'VIGIL_ERR_HL7V2_ADT_NO_MERGE_ID',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A02^ADT_A02'), pid, 'PV1|1|I|'].join('\r'), at)),
      'VIGIL_ERR_HL7V2_ADT_NO_LOCATION',
    );
    assert.equal(
      code(() => parseAdt([msh('ADT^A01'), 'EVN|A01|20251315', pid].join('\r'), at)),
      'VIGIL_ERR_HL7V2_INVALID_TIME',
    );
    assert.equal(adtSender(msh('ADT^A01')), 'ADT1');
  });
});
