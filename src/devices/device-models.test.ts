import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  csvRecords,
  type DeviceModel,
  fleetFindings,
  gs1CheckDigitValid,
  modelCsvColumns,
  modelReasons,
  parseAdvisory,
  parseDeviceModel,
  type StoredAdvisory,
} from './device-models.ts';

const base: DeviceModel = {
  id: 'acme-bp-200',
  manufacturer: 'Acme',
  model: 'BP-200',
  deviceKind: 'blood-pressure-cuff',
  udiDi: '00614141999996',
  fdaClass: 'II',
  fdaPathway: '510k',
  fdaNumber: 'K201234',
  euMdrClass: 'IIa',
  ceNotifiedBody: '0123',
  softwareVersion: '2.1',
  sbomUrl: 'https://acme.example/sbom/bp-200.json',
  endOfSupport: '2030-12-31',
  notes: null,
};

const advisory = (over: Partial<StoredAdvisory> = {}): StoredAdvisory => ({
  id: '01900000-0000-7000-8000-000000000001',
  modelId: 'acme-bp-200',
  kind: 'recall',
  reference: 'Z-0001-2026',
  title: 'cuff deflation valve',
  issuedOn: '2026-01-10',
  status: 'open',
  closedOn: null,
  url: null,
  affectedVersions: null,
  source: 'manual',
  createdAt: '2026-01-10T00:00:00.000Z',
  updatedAt: '2026-01-10T00:00:00.000Z',
  ...over,
});

describe('device-model records', () => {
  it('GS1 check digits: the published examples pass, a changed last digit fails', () => {
    assert.equal(gs1CheckDigitValid('4006381333931'), true); // EAN-13
    assert.equal(gs1CheckDigitValid('00614141999996'), true); // GTIN-14
    assert.equal(gs1CheckDigitValid('4006381333932'), false);
    assert.equal(gs1CheckDigitValid('00614141999995'), false);
    assert.equal(gs1CheckDigitValid('123'), false);
  });

  it('a full record is accepted as given; blanks become null', () => {
    const r = parseDeviceModel({ ...base, notes: '  ', softwareVersion: ' 2.1 ' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.model, { ...base, notes: null });
  });

  it('names every bad field with its code', () => {
    const r = parseDeviceModel({
      id: '-bad',
      manufacturer: 'Acme',
      model: '',
      udiDi: '00614141999995',
      fdaClass: '2',
      fdaPathway: '510k',
      fdaNumber: 'P123456',
      euMdrClass: 'IIc',
      ceNotifiedBody: 'TUV',
      sbomUrl: 'ftp://x',
      endOfSupport: '2030-02-30',
    });
    assert.deepEqual(
      r.problems.map((p) => `${p.field}:${p.code}`),
      [
        'id:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'model:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'udiDi:VIGIL_ERR_DEVICE_MODEL_INVALID_UDI',
        'fdaClass:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'fdaNumber:VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE',
        'euMdrClass:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'ceNotifiedBody:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'sbomUrl:VIGIL_ERR_DEVICE_MODEL_INVALID',
        'endOfSupport:VIGIL_ERR_DEVICE_MODEL_INVALID',
      ],
    );
  });

  it('premarket numbers follow their pathway: K for 510(k), DEN for De Novo, P (/S) for PMA, none if exempt', () => {
    const ok = (fdaPathway: string, fdaNumber: string | null, fdaClass = 'II') =>
      parseDeviceModel({ ...base, fdaPathway, fdaNumber, fdaClass }).problems.length === 0;
    assert.equal(ok('510k', 'K201234'), true);
    assert.equal(ok('510k', 'K20123'), false);
    assert.equal(ok('de-novo', 'DEN200012'), true);
    assert.equal(ok('de-novo', 'K201234'), false);
    assert.equal(ok('pma', 'P200003/S001', 'III'), true);
    assert.equal(ok('pma', 'P200003', 'II'), false); // PMA is class III
    assert.equal(ok('exempt', null, 'I'), true);
    assert.equal(ok('exempt', 'K201234', 'I'), false);
    assert.equal(parseDeviceModel({ ...base, fdaPathway: null }).problems[0]?.field, 'fdaNumber');
  });

  it('a model lacking a clearance, past end of support, or with open notices is a finding', () => {
    const today = '2026-06-01';
    assert.deepEqual(modelReasons(base, [], today), []);
    assert.deepEqual(modelReasons({ ...base, fdaPathway: null, fdaNumber: null }, [], today), [
      'no-fda-clearance',
    ]);
    assert.deepEqual(modelReasons({ ...base, fdaPathway: 'exempt', fdaNumber: null }, [], today), []);
    assert.deepEqual(modelReasons({ ...base, ceNotifiedBody: null }, [], today), ['no-eu-certificate']);
    assert.deepEqual(modelReasons({ ...base, euMdrClass: 'I', ceNotifiedBody: null }, [], today), []);
    // end of support is reached on the day itself, not the day before
    assert.deepEqual(modelReasons({ ...base, endOfSupport: '2026-06-01' }, [], today), ['end-of-support']);
    assert.deepEqual(modelReasons({ ...base, endOfSupport: '2026-06-02' }, [], today), []);
    assert.deepEqual(modelReasons(base, [advisory(), advisory({ kind: 'field-safety-notice' })], today), [
      'open-recall',
      'open-advisory',
    ]);
  });

  it('fleet findings: devices without a model, revoked devices left out, closed notices ignored, a filter', () => {
    const models = new Map([
      ['acme-bp-200', base],
      ['old-scale', { ...base, id: 'old-scale', endOfSupport: '2020-01-01' }],
    ]);
    const devices = [
      { id: 'd1', kind: 'blood-pressure-cuff', modelId: 'acme-bp-200', revoked: false },
      { id: 'd2', kind: 'scale', modelId: 'old-scale', revoked: false },
      { id: 'd3', kind: 'scale', modelId: null, revoked: false },
      { id: 'd4', kind: 'scale', modelId: 'old-scale', revoked: true },
    ];
    const all = fleetFindings(devices, models, [advisory({ status: 'closed' })], '2026-06-01');
    assert.deepEqual(
      all.map((f) => [f.deviceId, f.reasons]),
      [
        ['d2', ['end-of-support']],
        ['d3', ['no-model']],
      ],
    );
    const recalls = fleetFindings(devices, models, [advisory()], '2026-06-01', new Set(['open-recall']));
    assert.deepEqual(
      recalls.map((f) => [f.deviceId, f.reasons, f.advisories.map((a) => a.reference)]),
      [['d1', ['open-recall'], ['Z-0001-2026']]],
    );
  });

  it('CSV records: unknown and missing columns on row 1, a short row by its number, blank lines skipped', () => {
    const bad = csvRecords([['id', 'maker', 'model']], modelCsvColumns, ['id', 'manufacturer', 'model']);
    assert.deepEqual(
      bad.problems.map((p) => [p.row, p.field]),
      [
        [1, 'maker'],
        [1, 'manufacturer'],
      ],
    );
    const rows = csvRecords(
      [['id', 'manufacturer', 'model'], ['a', 'Acme', 'A'], [''], ['b', 'Acme']],
      modelCsvColumns,
      ['id'],
    );
    assert.deepEqual(rows.rows, [{ row: 2, values: { id: 'a', manufacturer: 'Acme', model: 'A' } }]);
    assert.deepEqual(
      rows.problems.map((p) => [p.row, p.reason]),
      [[4, 'has 2 cells, the header 3']],
    );
  });

  it('advisories: a kind, a reference, dates in order; an open one has no closing date', () => {
    const ok = parseAdvisory({
      modelId: 'm',
      kind: 'recall',
      reference: 'Z-1',
      title: 't',
      issuedOn: '2026-01-01',
    });
    assert.equal(ok.advisory?.status, 'open');
    const bad = parseAdvisory({
      modelId: 'm',
      kind: 'warning',
      reference: '',
      title: 't',
      issuedOn: '2026-02-01',
      status: 'closed',
      closedOn: '2026-01-01',
    });
    assert.deepEqual(
      bad.problems.map((p) => p.field),
      ['kind', 'reference', 'closedOn'],
    );
  });
});
