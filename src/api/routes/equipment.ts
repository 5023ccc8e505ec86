import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import { availabilities, type EquipmentService, type RawSighting } from '../../devices/equipment-service.ts';
import { ancestry, locationKinds, toFhirLocation } from '../../devices/locations.ts';
import { utilisation } from '../../devices/utilisation.ts';
import type { RoutePlugin } from '../app.ts';
import { requireDevice, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const LocationFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: Type.Union(
    locationKinds.map((k) => Type.Literal(k)),
    {
      description:
        'site, building, floor, unit or room (each part of the level above; a room of a unit or a floor)',
    },
  ),
  partOf: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
  exit: Type.Optional(
    Type.Boolean({ description: 'a zone at a building exit (raises left-building for tagged equipment)' }),
  ),
  rtlsZone: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], {
      description: 'the name a vendor RTLS system gives this zone',
    }),
  ),
};
const LocationBody = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), ...LocationFields },
  { additionalProperties: false },
);
const LocationPut = Type.Object(LocationFields, { additionalProperties: false });
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const AlertId = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Availability = Type.Union(availabilities.map((a) => Type.Literal(a)));
const MAX_SIGHTINGS = 5000;

const DAY = 86_400_000;

/** ISO time with an explicit offset, or a coded 400. */
function instant(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const t = Date.parse(v);
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(t))
    throw new VigilError(
      'VIGIL_ERR_EQUIPMENT_INVALID_RANGE',
      `${name} must be an ISO 8601 time with Z or an offset`,
      400,
    );
  return t;
}

/**
 * Equipment and asset tracking (docs/equipment.md): zones (FHIR Location), RTLS receivers and tags,
 * finding equipment by kind, availability and zone, utilisation, operational alerts, and the two
 * RTLS ingest routes (BLE sightings from gateways; a vendor RTLS webhook). Staff read and set
 * availability; administrators manage zones, receivers and tags; gateways post sightings. No
 * patient data: devices and zones only.
 */
export function equipmentRoutes(service: EquipmentService): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext): Promise<void> => {
    const admin = requireRoles(ctx, ['admin']);
    const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
    const who = (r: FastifyRequest) => (r.principal as { id: string }).id;

    // ── zones ──
    app.get('/api/v1/locations', { preValidation: staff }, async () => {
      const all = await service.repo.locations();
      const byId = new Map(all.map((l) => [l.id, l]));
      return {
        locations: all.map((l) => ({ ...l, path: ancestry(l.id, byId).map((a) => a.name) })),
      };
    });
    app.post(
      '/api/v1/locations',
      {
        preValidation: admin,
        config: { audit: { entity: 'Location', action: 'C' as const } },
        schema: { body: LocationBody },
      },
      async (request, reply) => {
        const body = request.body as { id: string; name: string; kind: string };
        if (await service.repo.location(body.id))
          throw new VigilError(
            'VIGIL_ERR_EQUIPMENT_LOCATION_EXISTS',
            `location ${body.id} exists; PUT replaces it`,
            409,
          );
        const { location } = await service.saveLocation(body);
        return reply.status(201).header('location', `/api/v1/locations/${location.id}`).send({ location });
      },
    );
    app.put(
      '/api/v1/locations/:id',
      {
        preValidation: admin,
        config: { audit: { entity: 'Location', action: 'U' as const } },
        schema: { params: Id, body: LocationPut },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const { location, created } = await service.saveLocation({
          ...(request.body as { name: string; kind: string }),
          id,
        });
        return reply.status(created ? 201 : 200).send({ location });
      },
    );
    app.get('/api/v1/locations/:id', { preValidation: staff, schema: { params: Id } }, async (request) => {
      const { id } = request.params as { id: string };
      const location = await service.mustLocation(id);
      const all = await service.repo.locations();
      return {
        location,
        path: ancestry(id, new Map(all.map((l) => [l.id, l]))).map((a) => a.name),
        children: all.filter((l) => l.partOf === id).map((l) => l.id),
      };
    });
    app.get(
      '/api/v1/locations/:id/fhir',
      { preValidation: staff, schema: { params: Id } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        return reply.type('application/fhir+json').send(toFhirLocation(await service.mustLocation(id)));
      },
    );
    app.delete(
      '/api/v1/locations/:id',
      {
        preValidation: admin,
        config: { audit: { entity: 'Location', action: 'D' as const } },
        schema: { params: Id },
      },
      async (request, reply) => {
        await service.deleteLocation((request.params as { id: string }).id);
        return reply.status(204).send();
      },
    );

    // ── receivers and tags ──
    app.get('/api/v1/rtls/receivers', { preValidation: staff }, async () => ({
      receivers: await service.repo.receivers(),
    }));
    app.put(
      '/api/v1/rtls/receivers/:id',
      {
        preValidation: admin,
        config: { audit: { entity: 'Device', action: 'U' as const, subtype: 'rtls-receiver' } },
        schema: {
          params: Id,
          body: Type.Object(
            { locationId: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { locationId } = request.body as { locationId: string | null };
        await service.placeReceiver(id, locationId);
        return { gatewayId: id, locationId };
      },
    );
    app.put(
      '/api/v1/equipment/:id/tag',
      {
        preValidation: admin,
        config: { audit: { entity: 'Device', action: 'U' as const, subtype: 'equipment-tag' } },
        schema: {
          params: Id,
          body: Type.Object(
            { tagId: Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()]) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        return { equipment: await service.setTag(id, (request.body as { tagId: string | null }).tagId) };
      },
    );

    // ── finding equipment ──
    app.get(
      '/api/v1/equipment',
      {
        preValidation: staff,
        schema: {
          querystring: Type.Object({
            kind: Type.Optional(Type.String({ maxLength: 64 })),
            availability: Type.Optional(Availability),
            locationId: Type.Optional(
              Type.String({ maxLength: 64, description: 'this zone and every zone below it' }),
            ),
            q: Type.Optional(
              Type.String({
                maxLength: 100,
                description: 'device id, serial, model, manufacturer or tag contains',
              }),
            ),
          }),
        },
      },
      async (request) => {
        const q = request.query as { kind?: string; availability?: string; locationId?: string; q?: string };
        const equipment = await service.find({
          ...(q.kind ? { kind: q.kind } : {}),
          ...(q.availability ? { availability: q.availability } : {}),
          ...(q.locationId ? { locationId: q.locationId } : {}),
          ...(q.q ? { text: q.q } : {}),
        });
        const counts: Record<string, number> = { 'in-use': 0, free: 0, cleaning: 0, maintenance: 0 };
        for (const e of equipment) counts[e.availability] = (counts[e.availability] ?? 0) + 1;
        return { equipment, counts };
      },
    );
    app.get(
      '/api/v1/equipment/utilisation',
      {
        preValidation: staff,
        schema: {
          querystring: Type.Object({
            since: Type.Optional(Type.String({ maxLength: 40, description: 'default: 7 days before until' })),
            until: Type.Optional(Type.String({ maxLength: 40, description: 'default: now' })),
            kind: Type.Optional(Type.String({ maxLength: 64 })),
          }),
        },
      },
      async (request) => {
        const q = request.query as { since?: string; until?: string; kind?: string };
        const now = ctx.clock.now();
        const until = instant('until', q.until, now);
        const since = instant('since', q.since, until - 7 * DAY);
        if (since >= until || until - since > 366 * DAY)
          throw new VigilError(
            'VIGIL_ERR_EQUIPMENT_INVALID_RANGE',
            'since must be before until, at most 366 days apart',
            400,
          );
        const intervals = await service.utilisationIntervals(since, until, q.kind);
        const names = new Map((await service.repo.locations()).map((l) => [l.id, l.name]));
        return {
          since: new Date(since).toISOString(),
          until: new Date(until).toISOString(),
          rows: utilisation(intervals, since, until, now).map((r) => ({
            ...r,
            unitName: r.unitId ? (names.get(r.unitId) ?? null) : null,
          })),
        };
      },
    );
    app.get(
      '/api/v1/equipment/alerts',
      {
        preValidation: staff,
        schema: {
          querystring: Type.Object({
            state: Type.Optional(
              Type.Union(['active', 'open', 'acknowledged', 'resolved'].map((s) => Type.Literal(s))),
            ),
          }),
        },
      },
      async (request) => {
        const { state } = request.query as { state?: string };
        return { alerts: await service.repo.alerts({ state: state ?? 'active' }) };
      },
    );
    for (const action of ['acknowledge', 'resolve'] as const)
      app.post(
        `/api/v1/equipment/alerts/:id/${action}`,
        {
          preValidation: staff,
          config: { audit: { entity: 'Flag', action: 'U' as const, subtype: `equipment-${action}` } },
          schema: { params: AlertId },
        },
        async (request) => {
          const { id } = request.params as { id: string };
          const alert =
            action === 'acknowledge'
              ? await service.acknowledgeAlert(id, who(request))
              : await service.resolveAlert(id, who(request));
          return { alert };
        },
      );
    app.get('/api/v1/equipment/:id', { preValidation: staff, schema: { params: Id } }, async (request) => ({
      equipment: await service.view((request.params as { id: string }).id),
    }));
    app.put(
      '/api/v1/equipment/:id/availability',
      {
        preValidation: staff,
        config: { audit: { entity: 'Device', action: 'U' as const, subtype: 'equipment-availability' } },
        schema: {
          params: Id,
          body: Type.Object({ availability: Availability }, { additionalProperties: false }),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { availability } = request.body as { availability: (typeof availabilities)[number] };
        return { equipment: await service.setAvailability(id, availability) };
      },
    );
    app.put(
      '/api/v1/equipment/:id/location',
      {
        preValidation: staff,
        config: { audit: { entity: 'Device', action: 'U' as const, subtype: 'equipment-location' } },
        schema: {
          params: Id,
          body: Type.Object(
            { locationId: Type.String({ minLength: 1, maxLength: 64 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        return { equipment: await service.place(id, (request.body as { locationId: string }).locationId) };
      },
    );

    // ── RTLS ingest (gateways; a vendor RTLS server registered as a gateway) ──
    await app.register(async (ingest) => {
      // The raw bytes: an unreadable body is kept as a dead letter, as on the reading routes.
      ingest.removeAllContentTypeParsers();
      ingest.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: ctx.maxPayloadBytes },
        (_r, body, done) => done(null, body),
      );
      const device = requireDevice(ctx);
      const gateway = async (request: FastifyRequest) => {
        await device(request, undefined as never);
        const id = who(request);
        const kind = (await ctx.devices.get(id))?.kind;
        if (kind !== 'gateway')
          throw new VigilError(
            'VIGIL_ERR_EQUIPMENT_FORBIDDEN',
            'RTLS sightings come from a device of kind gateway',
            403,
          );
      };
      const run = async (
        request: FastifyRequest,
        source: 'ble' | 'vendor',
        field: 'sightings' | 'events',
      ) => {
        const reporter = who(request);
        const payload = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const raw = { payload, contentType: request.headers['content-type'] ?? null };
        let items: RawSighting[];
        try {
          const parsed = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
          const list = parsed?.[field];
          if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SIGHTINGS)
            throw new Error('shape');
          items = list as RawSighting[];
        } catch {
          const message = `the body must be JSON {"${field}": [...]} with 1 to ${MAX_SIGHTINGS} items`;
          await service.refuse(reporter, source, raw, 'VIGIL_ERR_EQUIPMENT_MALFORMED', message);
          throw new VigilError('VIGIL_ERR_EQUIPMENT_MALFORMED', message, 400);
        }
        const { results, moved } = await service.ingest(reporter, source, items, raw);
        const n = (s: string) => results.filter((r) => r.status === s).length;
        return { accepted: n('accepted'), ignored: n('ignored'), rejected: n('rejected'), moved, results };
      };
      ingest.post('/ingest/v1/rtls/sightings', { onRequest: gateway }, (request) =>
        run(request, 'ble', 'sightings'),
      );
      ingest.post('/ingest/v1/rtls/vendor', { onRequest: gateway }, (request) =>
        run(request, 'vendor', 'events'),
      );
    });
  };
}
