import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';
import { EXAMPLE_TEMPLATES, VENDOR_TEMPLATE_SPECS } from '../templates/index.ts';
import { compilePath, loadTemplate, type TemplateSpec } from './template.ts';

const RECEIVED = Date.parse('2025-01-15T08:00:00Z');
const invalidTemplate = (pattern: RegExp) => (e: unknown) =>
  isVigilError(e) && e.code === 'VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE' && pattern.test(e.message);

const bpTemplate = (components: TemplateSpec['measurements'][number]['components']): TemplateSpec => ({
  name: 'bad-cuff',
  time: '$.t',
  measurements: [{ type: 'blood-pressure', unit: 'mmHg', components }],
});

test('a template mapping diastolic pressure to the heart-rate code is refused at load', () => {
  // as a stand-alone measurement: mmHg does not fit heart rate
  assert.throws(
    () =>
      loadTemplate({
        name: 'bad-watch',
        time: '$.t',
        measurements: [
          { code: { system: 'http://loinc.org', code: '8867-4' }, value: '$.bp.diastolic', unit: 'mmHg' },
        ],
      }),
    invalidTemplate(/mmHg.*does not fit 8867-4/),
  );
  // as a member of the BP panel: 8867-4 is not a component of 85354-9
  assert.throws(
    () =>
      loadTemplate(
        bpTemplate([
          { type: 'systolic', value: '$.sys' },
          { code: { system: 'http://loinc.org', code: '8867-4' }, value: '$.dia' },
        ]),
      ),
    invalidTemplate(/8867-4.*not a component of 85354-9/),
  );
});

test('other template mistakes are refused at load with the place named', () => {
  assert.throws(
    () => loadTemplate(bpTemplate([{ type: 'systolic', value: '$.sys' }])),
    invalidTemplate(/needs component 8462-4/),
  );
  assert.throws(
    () =>
      loadTemplate({ name: 'x', time: '$.t', measurements: [{ type: 'weight', value: '$.w', unit: 'bpm' }] }),
    invalidTemplate(/measurements\[0\]\.unit/),
  );
  assert.throws(
    () => loadTemplate({ name: 'x', time: '$.t', measurements: [{ type: 'mood', value: '$.m', unit: '%' }] }),
    invalidTemplate(/unknown code/),
  );
  assert.throws(
    () =>
      loadTemplate({ name: 'x', time: '$.t', measurements: [{ type: 'weight', value: 'w', unit: 'kg' }] }),
    invalidTemplate(/must start with \$/),
  );
  assert.throws(
    () =>
      loadTemplate({
        name: 'x',
        time: '$.t',
        measurements: [{ type: 'weight', value: '$.w[*]', unit: 'kg' }],
      }),
    invalidTemplate(/only allowed in "records"/),
  );
  assert.throws(
    () => loadTemplate({ name: 'Bad Name', time: '$.t', measurements: [] }),
    invalidTemplate(/kebab-case/),
  );
  // glucose accepts either concentration unit; a mass unit does not fit
  assert.ok(
    loadTemplate({
      name: 'g',
      time: '$.t',
      measurements: [{ type: 'glucose', value: '$.g', unit: 'mmol/L' }],
    }),
  );
  assert.throws(
    () =>
      loadTemplate({ name: 'g', time: '$.t', measurements: [{ type: 'glucose', value: '$.g', unit: 'kg' }] }),
    invalidTemplate(/does not fit/),
  );
});

test('paths: a tiny JSONPath subset', () => {
  assert.deepEqual(compilePath("$.a.b[2]['c d']"), ['a', 'b', 2, 'c d']);
  assert.deepEqual(compilePath('$.data[*]', true), ['data', '*']);
  assert.throws(() => compilePath('$..a'));
  assert.throws(() => compilePath('$.a[?(@.x)]'));
});

test('example wearable template: batch, epoch seconds, optional fields, battery', () => {
  const payload = {
    device: { batteryPct: 41 },
    samples: [
      { sampleId: 's1', ts: 1736928000, hr: 64, spo2: 97, steps: 120 },
      { sampleId: 's2', ts: 1736928060, hr: 66, skinTemp: { value: 33.1, unit: 'C' } },
    ],
  };
  const out = normalize(
    { format: 'template:example-wearable', payload, deviceId: 'w1', receivedAt: RECEIVED },
    { templates: EXAMPLE_TEMPLATES },
  );
  assert.deepEqual(
    out.readings.map((r) => [r.code, r.value, r.unit, r.effective, r.messageId]),
    [
      ['8867-4', 64, '/min', '2025-01-15T08:00:00.000Z', 's1:8867-4'],
      ['2708-6', 97, '%', '2025-01-15T08:00:00.000Z', 's1:2708-6'],
      ['55423-8', 120, '{steps}', '2025-01-15T08:00:00.000Z', 's1:55423-8'],
      ['8867-4', 66, '/min', '2025-01-15T08:01:00.000Z', 's2:8867-4'],
      ['8310-5', 33.1, 'Cel', '2025-01-15T08:01:00.000Z', 's2:8310-5'],
    ],
  );
  assert.equal(out.status?.batteryPercent, 41);
  assert.ok(out.readings.every((r) => r.profile === 'template:example-wearable'));
  // a runtime unit that does not fit is refused per payload
  assert.throws(
    () =>
      normalize(
        {
          format: 'template:example-wearable',
          payload: { samples: [{ ts: 1736928000, skinTemp: { value: 33, unit: 'kg' } }] },
          deviceId: 'w1',
          receivedAt: RECEIVED,
        },
        { templates: EXAMPLE_TEMPLATES },
      ),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_UNIT_MISMATCH',
  );
});

test('example home-cuff template: BP panel + pulse; missing required value refused', () => {
  const payload = {
    id: 'abc',
    measuredAt: '2025-01-15T08:58:00+01:00',
    result: { sys: 138, dia: 86, map: 103, pulse: 71 },
  };
  const out = normalize(
    { format: 'template:example-home-cuff', payload, deviceId: 'c1', receivedAt: RECEIVED },
    { templates: EXAMPLE_TEMPLATES },
  );
  assert.deepEqual(
    out.readings[0]?.components.map((c) => c.value),
    [138, 86, 103],
  );
  assert.equal(out.readings[1]?.value, 71);
  assert.equal(out.readings[0]?.effective, '2025-01-15T07:58:00.000Z');
  assert.throws(
    () =>
      normalize(
        {
          format: 'template:example-home-cuff',
          payload: { ...payload, result: { sys: 138 } },
          deviceId: 'c1',
          receivedAt: RECEIVED,
        },
        { templates: EXAMPLE_TEMPLATES },
      ),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_NOT_A_NUMBER',
  );
  assert.throws(
    () =>
      normalize(
        { format: 'template:nope', payload, deviceId: 'c1', receivedAt: RECEIVED },
        { templates: EXAMPLE_TEMPLATES },
      ),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_UNSUPPORTED_FORMAT',
  );
});

test('Withings Getmeas: typed measures selected by type, values scaled by 10^unit', () => {
  const withings = loadTemplate(VENDOR_TEMPLATE_SPECS[0] as TemplateSpec);
  // the response shape of Withings' Measure - Getmeas (body.measuregrps[].measures[])
  const payload = {
    status: 0,
    body: {
      updatetime: 1736928000,
      timezone: 'Europe/Paris',
      measuregrps: [
        {
          grpid: 5512001,
          attrib: 0,
          date: 1736924400,
          created: 1736924460,
          category: 1,
          deviceid: 'a1b2',
          measures: [
            { value: 72450, type: 1, unit: -3 },
            { value: 64, type: 11, unit: 0 },
            { value: 1830, type: 6, unit: -2 },
          ],
        },
        {
          grpid: 5512002,
          attrib: 0,
          date: 1736926200,
          category: 1,
          measures: [{ value: 7235, type: 1, unit: -2 }],
        },
      ],
    },
  };
  const out = normalize(
    { format: 'template:withings-getmeas', payload, deviceId: 'scale-w', receivedAt: RECEIVED },
    { templates: new Map([[withings.name, withings]]) },
  );
  assert.deepEqual(
    out.readings.map((r) => [r.code, r.value, r.unit, r.effective, r.messageId]),
    [
      ['29463-7', 72.45, 'kg', '2025-01-15T07:00:00.000Z', '5512001:29463-7'],
      ['8867-4', 64, '/min', '2025-01-15T07:00:00.000Z', '5512001:8867-4'],
      ['29463-7', 72.35, 'kg', '2025-01-15T07:30:00.000Z', '5512002:29463-7'],
    ],
  );
  assert.deepEqual(compilePath('$.m[?(@.type==1)].value'), ['m', { key: 'type', equals: 1 }, 'value']);
  assert.deepEqual(compilePath("$.m[?(@.kind=='bp')]"), ['m', { key: 'kind', equals: 'bp' }]);
});
