import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { parseCsv, toCsv } from '../../core/csv.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import {
  type Advisory,
  advisoryCsvColumns,
  CSV_INVALID,
  csvRecords,
  type DeviceModel,
  type FindingReason,
  findingReasons,
  fleetFindings,
  modelCsvColumns,
  modelIdPattern,
  parseAdvisory,
  parseDeviceModel,
  type RowProblem,
  refuse,
} from '../../devices/device-models.ts';
import type { DeviceModelRepository } from '../../store/device-model-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Opt = (maxLength: number, description?: string) =>
  Type.Optional(
    Type.Union([Type.String({ maxLength, ...(description ? { description } : {}) }), Type.Null()]),
  );

/** A model as the API takes it; values are checked by parseDeviceModel (coded errors per field). */
const ModelFields = {
  manufacturer: Type.String({ minLength: 1, maxLength: 200 }),
  model: Type.String({ minLength: 1, maxLength: 200 }),
  deviceKind: Opt(200, 'the kind of device (as in the device registry: pulse-oximeter, scale, …)'),
  udiDi: Opt(70, 'UDI device identifier: a GS1 GTIN (check digit verified), HIBCC or ICCBBA'),
  fdaClass: Opt(3, 'I, II or III'),
  fdaPathway: Opt(10, '510k, de-novo, pma or exempt'),
  fdaNumber: Opt(20, '510(k) K123456, De Novo DEN123456, PMA P123456[/S001]'),
  euMdrClass: Opt(3, 'I, IIa, IIb or III (EU MDR Annex VIII)'),
  ceNotifiedBody: Opt(4, 'four-digit notified body number'),
  softwareVersion: Opt(200),
  sbomUrl: Opt(2000, 'where the manufacturer publishes the SBOM'),
  endOfSupport: Opt(10, 'YYYY-MM-DD: the manufacturer ends security updates'),
  notes: Opt(2000, 'cybersecurity and other notes'),
};
const ModelBody = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), ...ModelFields },
  { additionalProperties: false },
);
const ModelPut = Type.Object(ModelFields, { additionalProperties: false });
const AdvisoryBody = Type.Object(
  {
    kind: Type.String({ maxLength: 30, description: 'recall, advisory or field-safety-notice' }),
    reference: Type.String({ minLength: 1, maxLength: 100, description: 'the issuer’s number' }),
    title: Type.String({ minLength: 1, maxLength: 500 }),
    issuedOn: Type.String({ maxLength: 10, description: 'YYYY-MM-DD' }),
    status: Type.Optional(Type.String({ maxLength: 10, description: 'open (default) or closed' })),
    closedOn: Opt(10),
    url: Opt(2000),
    affectedVersions: Opt(500),
  },
  { additionalProperties: false },
);
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const CsvBody = Type.String({ description: 'text/csv, header line first (docs/device-models.md)' });

const entity = 'DeviceDefinition';

/** The CSV import's all-or-nothing refusal: every bad row with its number and reason. */
function refuseRows(problems: RowProblem[]): never {
  const first = problems[0]!;
  throw new VigilError(
    CSV_INVALID,
    `row ${first.row}: ${first.field} ${first.reason}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; nothing was imported`,
    400,
    { rows: problems.map((p) => ({ row: p.row, field: p.field, code: p.code, reason: p.reason })) },
  );
}

/** An API field name as the CSV column a spreadsheet user sees (udiDi → udi_di). */
const columnOf = (columns: Record<string, string>) => {
  const back = new Map(Object.entries(columns).map(([col, field]) => [field, col]));
  return (field: string) => back.get(field) ?? field;
};
const modelColumn = columnOf(modelCsvColumns);
const advisoryColumn = columnOf(advisoryCsvColumns);

const today = (ctx: ApiContext) => new Date(ctx.clock.now()).toISOString().slice(0, 10);

/**
 * The device-model catalogue (docs/device-models.md): models with their regulatory record, recalls
 * and advisories (by hand or CSV import), the model of each registered device, and the fleet
 * findings — devices whose model lacks a clearance, has reached end of support, or has an open
 * recall or advisory. Staff read; administrators write (each write audited).
 */
export function deviceModelRoutes(repo: DeviceModelRepository): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext): Promise<void> => {
    const admin = requireRoles(ctx, ['admin']);
    const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
    app.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: ctx.maxPayloadBytes },
      (_r, body, done) => done(null, body),
    );

    const mustModel = async (id: string) => {
      const m = await repo.get(id);
      if (!m) throw new VigilError('VIGIL_ERR_DEVICE_MODEL_NOT_FOUND', `no device model ${id}`, 404);
      return m;
    };
    const parseModel = (input: Record<string, unknown>): DeviceModel => {
      const r = parseDeviceModel(input);
      if (!r.model) refuse(r.problems);
      return r.model;
    };
    const udiTaken = async (m: DeviceModel) => {
      if (!m.udiDi) return;
      const holder = await repo.byUdiDi(m.udiDi);
      if (holder && holder.id !== m.id)
        throw new VigilError(
          'VIGIL_ERR_DEVICE_MODEL_UDI_TAKEN',
          `UDI-DI ${m.udiDi} belongs to model ${holder.id}`,
          409,
        );
    };

    app.get(
      '/api/v1/device-models',
      {
        preValidation: staff,
        schema: {
          querystring: Type.Object({
            manufacturer: Type.Optional(Type.String({ maxLength: 200 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
        },
      },
      async (request) => {
        const q = request.query as { manufacturer?: string; limit?: number; offset?: number };
        return { models: await repo.list(q) };
      },
    );

    app.post(
      '/api/v1/device-models',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'C' as const } },
        schema: { body: ModelBody },
      },
      async (request, reply) => {
        const m = parseModel(request.body as Record<string, unknown>);
        if (await repo.get(m.id))
          throw new VigilError(
            'VIGIL_ERR_DEVICE_MODEL_EXISTS',
            `device model ${m.id} exists; PUT replaces it`,
            409,
          );
        await udiTaken(m);
        const { model } = await repo.upsert(m);
        return reply.status(201).header('location', `/api/v1/device-models/${model.id}`).send({ model });
      },
    );

    app.put(
      '/api/v1/device-models/:id',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'U' as const } },
        schema: { params: Id, body: ModelPut },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const m = parseModel({ ...(request.body as Record<string, unknown>), id });
        await udiTaken(m);
        const { model, created } = await repo.upsert(m);
        return reply.status(created ? 201 : 200).send({ model });
      },
    );

    app.get(
      '/api/v1/device-models/:id',
      { preValidation: staff, schema: { params: Id } },
      async (request) => {
        const { id } = request.params as { id: string };
        const model = await mustModel(id);
        return { model, advisories: await repo.advisories(id), devices: await repo.devicesOf(id) };
      },
    );

    app.post(
      '/api/v1/device-models/import',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'U' as const, subtype: 'import' } },
        schema: { body: CsvBody, consumes: ['text/csv'] },
      },
      async (request) => {
        const { rows, problems } = csvRecords(parseCsv(request.body as string), modelCsvColumns, [
          'id',
          'manufacturer',
          'model',
        ]);
        const models: Array<{ row: number; model: DeviceModel }> = [];
        for (const r of rows) {
          const parsed = parseDeviceModel(r.values);
          if (parsed.model) models.push({ row: r.row, model: parsed.model });
          else
            for (const p of parsed.problems) problems.push({ row: r.row, ...p, field: modelColumn(p.field) });
        }
        // one model per id and per UDI-DI within the file, and no UDI-DI held by another model
        const seenId = new Map<string, number>();
        const seenUdi = new Map<string, number>();
        for (const { row, model } of models) {
          const idRow = seenId.get(model.id);
          if (idRow)
            problems.push({
              row,
              field: 'id',
              code: CSV_INVALID,
              reason: `${model.id} is also on row ${idRow}`,
            });
          else seenId.set(model.id, row);
          if (!model.udiDi) continue;
          const udiRow = seenUdi.get(model.udiDi);
          if (udiRow)
            problems.push({
              row,
              field: 'udi_di',
              code: CSV_INVALID,
              reason: `${model.udiDi} is also on row ${udiRow}`,
            });
          else seenUdi.set(model.udiDi, row);
          const holder = await repo.byUdiDi(model.udiDi);
          if (holder && holder.id !== model.id)
            problems.push({
              row,
              field: 'udi_di',
              code: 'VIGIL_ERR_DEVICE_MODEL_UDI_TAKEN',
              reason: `${model.udiDi} belongs to model ${holder.id}`,
            });
        }
        if (problems.length) refuseRows(problems.sort((a, b) => a.row - b.row));
        const counts = { created: 0, updated: 0, unchanged: 0 };
        await ctx.db.transaction(async (sql) => {
          for (const { model } of models) {
            const before = await repo.get(model.id, sql);
            const { model: after, created } = await repo.upsert(model, sql);
            if (created) counts.created++;
            else if (before && after.version !== before.version) counts.updated++;
            else counts.unchanged++;
          }
        });
        request.log.info({ event: 'device-models-imported', ...counts }, 'device models imported');
        return { ...counts, models: models.map((m) => m.model.id) };
      },
    );

    // ── recalls and advisories ───────────────────────────────────────────────────────────────
    app.get(
      '/api/v1/device-models/:id/advisories',
      { preValidation: staff, schema: { params: Id } },
      async (request) => {
        const { id } = request.params as { id: string };
        await mustModel(id);
        return { advisories: await repo.advisories(id) };
      },
    );

    app.post(
      '/api/v1/device-models/:id/advisories',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'C' as const, subtype: 'advisory' } },
        schema: { params: Id, body: AdvisoryBody },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        await mustModel(id);
        const r = parseAdvisory({ ...(request.body as Record<string, unknown>), modelId: id });
        if (!r.advisory) refuse(r.problems);
        const { advisory, created } = await repo.upsertAdvisory(r.advisory, newId(), 'manual');
        return reply.status(created ? 201 : 200).send({ advisory });
      },
    );

    app.post(
      '/api/v1/device-models/:id/advisories/:advisoryId/close',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'U' as const, subtype: 'advisory-close' } },
        schema: {
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 64 }),
            advisoryId: Type.String({ format: 'uuid' }),
          }),
          body: Type.Optional(
            Type.Object(
              { closedOn: Type.Optional(Type.String({ maxLength: 10 })) },
              { additionalProperties: false },
            ),
          ),
        },
      },
      async (request) => {
        const { id, advisoryId } = request.params as { id: string; advisoryId: string };
        const closedOn = (request.body as { closedOn?: string } | undefined)?.closedOn ?? today(ctx);
        if (!/^\d{4}-\d{2}-\d{2}$/.test(closedOn) || Number.isNaN(Date.parse(`${closedOn}T00:00:00Z`)))
          throw new VigilError(
            'VIGIL_ERR_DEVICE_MODEL_INVALID_ADVISORY',
            'closedOn must be a date YYYY-MM-DD',
            400,
          );
        const current = (await repo.advisories(id)).find((a) => a.id === advisoryId);
        if (!current)
          throw new VigilError(
            'VIGIL_ERR_DEVICE_MODEL_NOT_FOUND',
            `no advisory ${advisoryId} of model ${id}`,
            404,
          );
        if (closedOn < current.issuedOn)
          throw new VigilError(
            'VIGIL_ERR_DEVICE_MODEL_INVALID_ADVISORY',
            'closedOn is before the advisory was issued',
            400,
          );
        return { advisory: await repo.closeAdvisory(id, advisoryId, closedOn) };
      },
    );

    app.post(
      '/api/v1/device-models/advisories/import',
      {
        preValidation: admin,
        config: { audit: { entity, action: 'U' as const, subtype: 'advisory-import' } },
        schema: { body: CsvBody, consumes: ['text/csv'] },
      },
      async (request) => {
        const { rows, problems } = csvRecords(parseCsv(request.body as string), advisoryCsvColumns, [
          'kind',
          'reference',
          'title',
          'issued_on',
        ]);
        const advisories: Array<{ row: number; advisory: Advisory }> = [];
        for (const r of rows) {
          const v: Record<string, unknown> = { ...r.values };
          // the model by its id, or by its UDI-DI (as recall notices name devices)
          const byId = r.values['modelId']?.trim();
          const byUdi = r.values['udiDi']?.trim();
          if (!byId && !byUdi) {
            problems.push({
              row: r.row,
              field: 'model_id',
              code: CSV_INVALID,
              reason: 'give model_id or udi_di',
            });
            continue;
          }
          const model = byId ? await repo.get(byId) : await repo.byUdiDi(byUdi!);
          if (!model) {
            problems.push({
              row: r.row,
              field: byId ? 'model_id' : 'udi_di',
              code: 'VIGIL_ERR_DEVICE_MODEL_NOT_FOUND',
              reason: `no device model ${byId ? byId : `with UDI-DI ${byUdi}`}`,
            });
            continue;
          }
          if (byId && byUdi && model.udiDi !== byUdi) {
            problems.push({
              row: r.row,
              field: 'udi_di',
              code: CSV_INVALID,
              reason: `${byUdi} is not the UDI-DI of model ${model.id}`,
            });
            continue;
          }
          v['modelId'] = model.id;
          const parsed = parseAdvisory(v);
          if (parsed.advisory) advisories.push({ row: r.row, advisory: parsed.advisory });
          else
            for (const p of parsed.problems)
              problems.push({ row: r.row, ...p, field: advisoryColumn(p.field) });
        }
        const seen = new Map<string, number>();
        for (const { row, advisory } of advisories) {
          const key = `${advisory.modelId}\u0000${advisory.reference}`;
          const first = seen.get(key);
          if (first)
            problems.push({
              row,
              field: 'reference',
              code: CSV_INVALID,
              reason: `${advisory.reference} is also on row ${first}`,
            });
          else seen.set(key, row);
        }
        if (problems.length) refuseRows(problems.sort((a, b) => a.row - b.row));
        const counts = { created: 0, updated: 0 };
        await ctx.db.transaction(async (sql) => {
          for (const { advisory } of advisories) {
            const { created } = await repo.upsertAdvisory(advisory, newId(), 'csv', sql);
            if (created) counts.created++;
            else counts.updated++;
          }
        });
        return counts;
      },
    );

    // ── devices and their models ─────────────────────────────────────────────────────────────
    app.put(
      '/api/v1/devices/:id/model',
      {
        preValidation: admin,
        config: { audit: { entity: 'Device', action: 'U' as const, subtype: 'device-model' } },
        schema: {
          params: Id,
          body: Type.Object(
            { modelId: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { modelId } = request.body as { modelId: string | null };
        if (modelId !== null) {
          if (!modelIdPattern.test(modelId))
            throw new VigilError('VIGIL_ERR_DEVICE_MODEL_INVALID', 'modelId is not a model id', 400);
          await mustModel(modelId);
        }
        if (!(await repo.setDeviceModel(id, modelId)))
          throw new VigilError('VIGIL_ERR_DEVICE_NOT_FOUND', `no device ${id}`, 404);
        return { deviceId: id, modelId };
      },
    );

    // ── findings ─────────────────────────────────────────────────────────────────────────────
    app.get(
      '/api/v1/device-models/findings',
      {
        preValidation: staff,
        schema: {
          querystring: Type.Object({
            reason: Type.Optional(
              Type.String({ maxLength: 200, description: `comma list of: ${findingReasons.join(', ')}` }),
            ),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          }),
        },
      },
      async (request: FastifyRequest, reply) => {
        const q = request.query as { reason?: string; format?: 'json' | 'csv' };
        const only = new Set<FindingReason>();
        for (const r of (q.reason ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          if (!(findingReasons as readonly string[]).includes(r))
            throw new VigilError(
              'VIGIL_ERR_API_VALIDATION',
              `unknown reason ${r}; reasons are ${findingReasons.join(', ')}`,
              400,
            );
          only.add(r as FindingReason);
        }
        const fleet = await repo.fleet();
        const ids = [...new Set(fleet.map((d) => d.modelId).filter((m): m is string => m !== null))];
        const models = new Map((await repo.getMany(ids)).map((m) => [m.id, m]));
        const asOf = today(ctx);
        const devices = fleetFindings(fleet, models, await repo.openAdvisories(), asOf, only);
        if (q.format === 'csv') {
          return reply
            .header('content-type', 'text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="device-findings-${asOf}.csv"`)
            .send(
              toCsv(
                [
                  'device_id',
                  'kind',
                  'model_id',
                  'manufacturer',
                  'model',
                  'reasons',
                  'end_of_support',
                  'advisories',
                ],
                devices.map((d) => [
                  d.deviceId,
                  d.kind,
                  d.modelId,
                  d.manufacturer,
                  d.model,
                  d.reasons.join(' '),
                  d.endOfSupport,
                  d.advisories.map((a) => `${a.kind} ${a.reference}`).join('; '),
                ]),
              ),
            );
        }
        const counts = Object.fromEntries(
          findingReasons.map((r) => [r, devices.filter((d) => d.reasons.includes(r)).length]),
        );
        return { asOf, devices, counts, devicesChecked: fleet.filter((d) => !d.revoked).length };
      },
    );
  };
}
