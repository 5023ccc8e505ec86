import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * The device-model catalogue through a whole in-process Vigil: models by hand and by CSV (bad rows
 * refused by number, nothing stored), devices pointed at their models, recalls and advisories, the
 * fleet findings as JSON and CSV, FHIR DeviceDefinition, and who may do what.
 */

const PASSWORD = 'a-long-staff-password-1';
const databases = [
  { name: 'PGlite', postgres: false },
  ...(process.env['VIGIL_TEST_DATABASE_URL'] ? [{ name: 'PostgreSQL', postgres: true }] : []),
];

const good = {
  id: 'acme-bp-200',
  manufacturer: 'Acme Medical',
  model: 'BP-200',
  deviceKind: 'blood-pressure-cuff',
  udiDi: '00614141999996',
  fdaClass: 'II',
  fdaPathway: '510k',
  fdaNumber: 'K201234',
  euMdrClass: 'IIa',
  ceNotifiedBody: '0123',
  softwareVersion: '2.1.0',
  sbomUrl: 'https://acme.example/sbom/bp-200.cdx.json',
  endOfSupport: '2999-12-31',
};

const catalogueCsv = [
  'id,manufacturer,model,device_kind,udi_di,fda_class,fda_pathway,fda_number,eu_mdr_class,ce_notified_body,software_version,sbom_url,end_of_support,notes',
  'nova-ox-1,Nova,OX-1,pulse-oximeter,4006381333931,II,510k,K190001,IIb,2797,1.4,https://nova.example/sbom.json,2001-03-31,"support ended; replace, then retire"',
  'old-scale,Scaleworks,S-10,scale,,I,exempt,,I,,3.0,,,',
  'gray-cgm,Graymarket,G1,cgm,,,,,,,,,,imported without a record',
].join('\r\n');

for (const db of databases) {
  describe(`device-model catalogue (${db.name})`, () => {
    let v: InProcess;
    let admin: string;
    let nurse: string;

    const call = async (
      method: string,
      url: string,
      token: string | undefined,
      body?: unknown,
      csv = false,
    ) =>
      v.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(csv ? { 'content-type': 'text/csv' } : {}),
        },
        ...(body !== undefined ? { payload: body as string } : {}),
      });
    const must = async (method: string, url: string, token: string, body?: unknown, csv = false) => {
      const r = await call(method, url, token, body, csv);
      if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
      return r.json() as Record<string, unknown>;
    };

    before(async () => {
      v = await startInProcess({ postgres: db.postgres });
      admin = await v.token();
      await must('POST', '/api/v1/users', admin, {
        username: 'nurse1',
        roles: ['nurse'],
        password: PASSWORD,
        practitionerId: 'pr-n',
      });
      const t = await call('POST', '/auth/token', undefined, { username: 'nurse1', password: PASSWORD });
      nurse = (t.json() as { access_token: string }).access_token;
      for (const [id, kind] of [
        ['cuff-1', 'blood-pressure-cuff'],
        ['ox-1', 'pulse-oximeter'],
        ['scale-1', 'scale'],
        ['cgm-1', 'cgm'],
        ['unknown-1', 'wearable'],
      ])
        await must('POST', '/api/v1/devices', admin, { id, kind });
    });
    after(async () => v?.stop());

    it('a model by hand: created, read, refused twice, replaced with a new version, unchanged keeps it', async () => {
      const created = await call('POST', '/api/v1/device-models', admin, good);
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.headers['location'], '/api/v1/device-models/acme-bp-200');
      const again = await call('POST', '/api/v1/device-models', admin, good);
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error.code, 'VIGIL_ERR_DEVICE_MODEL_EXISTS');
      const { id: _id, ...rest } = good;
      const same = await must('PUT', '/api/v1/device-models/acme-bp-200', admin, rest);
      assert.equal((same['model'] as { version: number }).version, 1);
      const changed = await must('PUT', '/api/v1/device-models/acme-bp-200', admin, {
        ...rest,
        softwareVersion: '2.2.0',
      });
      assert.equal((changed['model'] as { version: number }).version, 2);
      const read = await must('GET', '/api/v1/device-models/acme-bp-200', nurse);
      assert.deepEqual(
        {
          ...(read['model'] as Record<string, unknown>),
          version: undefined,
          createdAt: undefined,
          updatedAt: undefined,
        },
        {
          ...good,
          softwareVersion: '2.2.0',
          notes: null,
          version: undefined,
          createdAt: undefined,
          updatedAt: undefined,
        },
      );
    });

    it('bad values are coded 400s naming each field; a UDI-DI held by another model is 409', async () => {
      const r = await call('POST', '/api/v1/device-models', admin, {
        ...good,
        id: 'bad-1',
        udiDi: '00614141999995',
        fdaNumber: 'DEN200012',
      });
      assert.equal(r.statusCode, 400);
      const e = r.json().error;
      assert.equal(e.code, 'VIGIL_ERR_DEVICE_MODEL_INVALID_UDI');
      assert.deepEqual(
        e.details.problems.map((p: { field: string }) => p.field),
        ['udiDi', 'fdaNumber'],
      );
      const taken = await call('POST', '/api/v1/device-models', admin, { ...good, id: 'copy-1' });
      assert.equal(taken.statusCode, 409);
      assert.equal(taken.json().error.code, 'VIGIL_ERR_DEVICE_MODEL_UDI_TAKEN');
      const schema = await call('POST', '/api/v1/device-models', admin, { id: 'x', manufacturer: 'A' });
      assert.equal(schema.statusCode, 400);
      assert.equal(schema.json().error.code, 'VIGIL_ERR_API_VALIDATION');
    });

    it('CSV import: bad rows refused by row number and reason, nothing stored; a good file imports once', async () => {
      const bad = [
        'id,manufacturer,model,udi_di,fda_pathway,fda_number,end_of_support',
        'fine-1,Acme,F1,,exempt,,',
        'bad-udi,Acme,F2,4006381333932,,,',
        'bad-510k,Acme,F3,,510k,K12,2030-13-01',
        'fine-1,Acme,F1 again,,,,',
        'taken,Acme,F4,00614141999996,,,',
        'short,Acme',
      ].join('\n');
      const r = await call('POST', '/api/v1/device-models/import', admin, bad, true);
      assert.equal(r.statusCode, 400, r.body);
      const e = r.json().error;
      assert.equal(e.code, 'VIGIL_ERR_DEVICE_MODEL_CSV_INVALID');
      assert.match(e.message, /^row 3: udi_di .*nothing was imported$/);
      assert.deepEqual(
        e.details.rows.map((p: { row: number; field: string; code: string }) => [p.row, p.field, p.code]),
        [
          [3, 'udi_di', 'VIGIL_ERR_DEVICE_MODEL_INVALID_UDI'],
          [4, 'fda_number', 'VIGIL_ERR_DEVICE_MODEL_INVALID_CLEARANCE'],
          [4, 'end_of_support', 'VIGIL_ERR_DEVICE_MODEL_INVALID'],
          [5, 'id', 'VIGIL_ERR_DEVICE_MODEL_CSV_INVALID'],
          [6, 'udi_di', 'VIGIL_ERR_DEVICE_MODEL_UDI_TAKEN'],
          [7, 'row', 'VIGIL_ERR_DEVICE_MODEL_CSV_INVALID'],
        ],
      );
      assert.equal((await call('GET', '/api/v1/device-models/fine-1', admin)).statusCode, 404);

      const header = await call('POST', '/api/v1/device-models/import', admin, 'id,maker,model\nx,y,z', true);
      assert.deepEqual(
        header.json().error.details.rows.map((p: { row: number; field: string }) => [p.row, p.field]),
        [
          [1, 'maker'],
          [1, 'manufacturer'],
        ],
      );
      const quote = await call(
        'POST',
        '/api/v1/device-models/import',
        admin,
        'id,manufacturer,model\n"x,y',
        true,
      );
      assert.equal(quote.statusCode, 400);
      assert.equal(quote.json().error.code, 'VIGIL_ERR_API_CSV_MALFORMED');

      const ok = await must('POST', '/api/v1/device-models/import', admin, catalogueCsv, true);
      assert.deepEqual(ok, {
        created: 3,
        updated: 0,
        unchanged: 0,
        models: ['nova-ox-1', 'old-scale', 'gray-cgm'],
      });
      const twice = await must('POST', '/api/v1/device-models/import', admin, catalogueCsv, true);
      assert.deepEqual([twice['created'], twice['unchanged']], [0, 3]);
      const nova = (await must('GET', '/api/v1/device-models/nova-ox-1', admin))['model'] as Record<
        string,
        unknown
      >;
      assert.equal(nova['notes'], 'support ended; replace, then retire');
      assert.equal(nova['endOfSupport'], '2001-03-31');
    });

    it('devices point at their models; an unknown model or device is 404', async () => {
      for (const [d, m] of [
        ['cuff-1', 'acme-bp-200'],
        ['ox-1', 'nova-ox-1'],
        ['scale-1', 'old-scale'],
        ['cgm-1', 'gray-cgm'],
      ])
        assert.deepEqual(await must('PUT', `/api/v1/devices/${d}/model`, admin, { modelId: m }), {
          deviceId: d,
          modelId: m,
        });
      const noModel = await call('PUT', '/api/v1/devices/cuff-1/model', admin, { modelId: 'ghost' });
      assert.equal(noModel.json().error.code, 'VIGIL_ERR_DEVICE_MODEL_NOT_FOUND');
      const noDevice = await call('PUT', '/api/v1/devices/ghost/model', admin, { modelId: 'acme-bp-200' });
      assert.equal(noDevice.json().error.code, 'VIGIL_ERR_DEVICE_NOT_FOUND');
      // registered with its model at once; an unknown model registers nothing
      const unknown = await call('POST', '/api/v1/devices', admin, {
        id: 'cuff-2',
        kind: 'blood-pressure-cuff',
        modelId: 'ghost',
      });
      assert.equal(unknown.json().error.code, 'VIGIL_ERR_DEVICE_MODEL_NOT_FOUND');
      assert.equal((await call('GET', '/api/v1/devices/cuff-2', admin)).statusCode, 404);
      const reg = await must('POST', '/api/v1/devices', admin, {
        id: 'cuff-2',
        kind: 'blood-pressure-cuff',
        modelId: 'acme-bp-200',
      });
      assert.equal((reg['device'] as { modelId: string }).modelId, 'acme-bp-200');
      const shown = await must('GET', '/api/v1/devices/cuff-1', admin);
      assert.equal((shown['device'] as { modelId: string }).modelId, 'acme-bp-200');
      const read = await must('GET', '/api/v1/device-models/acme-bp-200', admin);
      assert.deepEqual(read['devices'], ['cuff-1', 'cuff-2']);
    });

    it('recalls and advisories: by hand, by CSV naming the model by UDI-DI, closed by hand', async () => {
      const manual = await call('POST', '/api/v1/device-models/acme-bp-200/advisories', admin, {
        kind: 'recall',
        reference: 'Z-0421-2026',
        title: 'Cuff valve may not deflate',
        issuedOn: '2026-03-02',
      });
      assert.equal(manual.statusCode, 201, manual.body);
      const csv = [
        'udi_di,model_id,kind,reference,title,issued_on,status,closed_on',
        '4006381333931,,field-safety-notice,FSN-2026-07,"SpO2 reads high below 80 %",2026-02-01,open,',
        ',old-scale,advisory,ADV-1,display firmware,2025-01-01,closed,2025-02-01',
      ].join('\n');
      const badCsv = `${csv}\n00884421234561,,recall,Z-9,unknown model,2026-01-01,open,\n,old-scale,warning,W-1,x,2026-01-01,,`;
      const refused = await call('POST', '/api/v1/device-models/advisories/import', admin, badCsv, true);
      assert.equal(refused.statusCode, 400);
      assert.deepEqual(
        refused.json().error.details.rows.map((p: { row: number; field: string }) => [p.row, p.field]),
        [
          [4, 'udi_di'],
          [5, 'kind'],
        ],
      );
      assert.deepEqual(await must('POST', '/api/v1/device-models/advisories/import', admin, csv, true), {
        created: 2,
        updated: 0,
      });
      const nova = await must('GET', '/api/v1/device-models/nova-ox-1/advisories', nurse);
      assert.deepEqual(
        (nova['advisories'] as Array<{ reference: string; status: string; source: string }>).map((a) => [
          a.reference,
          a.status,
          a.source,
        ]),
        [['FSN-2026-07', 'open', 'csv']],
      );
    });

    it('findings: no model, no clearance, end of support, open recall or advisory — JSON, filter and CSV', async () => {
      const f = await must('GET', '/api/v1/device-models/findings', nurse);
      const byDevice = Object.fromEntries(
        (f['devices'] as Array<{ deviceId: string; reasons: string[] }>).map((d) => [d.deviceId, d.reasons]),
      );
      assert.deepEqual(byDevice, {
        'cuff-1': ['open-recall'],
        'cuff-2': ['open-recall'],
        'ox-1': ['end-of-support', 'open-advisory'],
        'cgm-1': ['no-fda-clearance', 'no-eu-certificate'],
        'unknown-1': ['no-model'],
      });
      assert.equal(f['devicesChecked'], 6);
      const recalls = await must(
        'GET',
        '/api/v1/device-models/findings?reason=open-recall,end-of-support',
        admin,
      );
      assert.deepEqual(
        (recalls['devices'] as Array<{ deviceId: string }>).map((d) => d.deviceId),
        ['cuff-1', 'cuff-2', 'ox-1'],
      );
      const unknown = await call('GET', '/api/v1/device-models/findings?reason=broken', admin);
      assert.equal(unknown.json().error.code, 'VIGIL_ERR_API_VALIDATION');
      const csv = await call('GET', '/api/v1/device-models/findings?format=csv', admin);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>;
      assert.deepEqual(
        rows.map((r) => [r['device_id'], r['reasons'], r['advisories']]),
        [
          ['cgm-1', 'no-fda-clearance no-eu-certificate', ''],
          ['cuff-1', 'open-recall', 'recall Z-0421-2026'],
          ['cuff-2', 'open-recall', 'recall Z-0421-2026'],
          ['ox-1', 'end-of-support open-advisory', 'field-safety-notice FSN-2026-07'],
          ['unknown-1', 'no-model', ''],
        ],
      );
      // closing the recall takes the cuff off the list
      const adv = (await must('GET', '/api/v1/device-models/acme-bp-200/advisories', admin))[
        'advisories'
      ] as Array<{
        id: string;
      }>;
      const early = await call(
        'POST',
        `/api/v1/device-models/acme-bp-200/advisories/${adv[0]!.id}/close`,
        admin,
        {
          closedOn: '2026-01-01',
        },
      );
      assert.equal(early.json().error.code, 'VIGIL_ERR_DEVICE_MODEL_INVALID_ADVISORY');
      await must('POST', `/api/v1/device-models/acme-bp-200/advisories/${adv[0]!.id}/close`, admin, {
        closedOn: '2026-04-01',
      });
      const after = await must('GET', '/api/v1/device-models/findings', admin);
      assert.ok(!(after['devices'] as Array<{ deviceId: string }>).some((d) => d.deviceId === 'cuff-1'));
    });

    it('FHIR: DeviceDefinition read and search (UDI-DI, kind), Device points at it, writes refused', async () => {
      const fhir = async (method: string, url: string, token = nurse, body?: unknown) => {
        const r = await v.inject({
          method: method as 'GET',
          url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
        });
        return {
          status: r.statusCode,
          body: r.json() as Record<string, unknown> & {
            entry?: Array<{ resource: Record<string, unknown> }>;
          },
        };
      };
      const dd = await fhir('GET', '/fhir/DeviceDefinition/nova-ox-1');
      assert.equal(dd.status, 200);
      assert.deepEqual(validateFhir(dd.body as never), []);
      assert.equal(dd.body['manufacturerString'], 'Nova');
      assert.deepEqual(dd.body['udiDeviceIdentifier'], [
        {
          deviceIdentifier: '4006381333931',
          issuer: 'http://hl7.org/fhir/NamingSystem/gs1-di',
          jurisdiction: 'http://hl7.org/fhir/NamingSystem/fda-udi',
        },
      ]);
      const props = Object.fromEntries(
        (
          dd.body['property'] as Array<{
            type: { coding: Array<{ code: string }> };
            valueCode: Array<{ text: string }>;
          }>
        ).map((p) => [p.type.coding[0]!.code, p.valueCode[0]!.text]),
      );
      assert.equal(props['fda-number'], 'K190001');
      assert.equal(props['eu-mdr-class'], 'IIb');
      assert.equal(props['end-of-support'], '2001-03-31');
      assert.equal(props['open-field-safety-notice'], 'FSN-2026-07: SpO2 reads high below 80 %');
      const byUdi = await fhir(
        'GET',
        '/fhir/DeviceDefinition?identifier=http://hl7.org/fhir/NamingSystem/gs1-di|4006381333931',
      );
      assert.deepEqual(
        byUdi.body.entry?.map((e) => e.resource['id']),
        ['nova-ox-1'],
      );
      const byKind = await fhir('GET', '/fhir/DeviceDefinition?type=scale');
      assert.deepEqual(
        byKind.body.entry?.map((e) => e.resource['id']),
        ['old-scale'],
      );
      const device = await fhir('GET', '/fhir/Device/ox-1');
      assert.deepEqual(device.body['definition'], { reference: 'DeviceDefinition/nova-ox-1' });
      const write = await fhir('POST', '/fhir/DeviceDefinition', admin, { resourceType: 'DeviceDefinition' });
      assert.equal(write.status, 405);
      assert.equal(write.body['resourceType'], 'OperationOutcome');
      const missing = await fhir('GET', '/fhir/DeviceDefinition/ghost');
      assert.equal(missing.status, 404);
    });

    it('staff read, only administrators write; every write is audited', async () => {
      const writes: Array<[string, string, unknown, boolean]> = [
        ['POST', '/api/v1/device-models', { ...good, id: 'n-1', udiDi: null }, false],
        ['PUT', '/api/v1/device-models/acme-bp-200', { manufacturer: 'x', model: 'y' }, false],
        ['POST', '/api/v1/device-models/import', 'id,manufacturer,model\nn-2,a,b', true],
        ['PUT', '/api/v1/devices/cuff-1/model', { modelId: null }, false],
      ];
      for (const [m, url, body, csv] of writes) {
        const r = await call(m, url, nurse, body, csv);
        assert.equal(r.statusCode, 403, `${m} ${url}`);
      }
      assert.equal((await call('GET', '/api/v1/device-models', undefined)).statusCode, 401);
      assert.equal((await call('GET', '/api/v1/device-models', nurse)).statusCode, 200);
      await v.vigil.ctx.security.audit.flush();
      const rows = await v.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from audit_event where entity_type = 'DeviceDefinition' and subtype_code <> 'access-denied'`,
      );
      assert.ok((rows[0]?.n ?? 0) >= 5, `audited writes: ${rows[0]?.n}`);
    });
  });
}
