import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Alerting } from '../../alerts/alerting.ts';
import { agentOf } from '../../audit/audit-event.ts';
import { VigilError } from '../../core/errors.ts';
import type { Reading } from '../../core/reading.ts';
import { isSeverity } from '../../core/severity.ts';
import type {
  CentreAction,
  ForwardedAlert,
  ForwardedSummary,
  ForwardRecord,
  ForwardRequest,
  GatewayHealth,
  ProvisioningDocument,
  RecordResult,
} from '../../edge/wire.ts';
import { toJsonParam } from '../../store/database.ts';
import type { RoutePlugin } from '../app.ts';
import { requireDevice, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const maxRecords = 5000;

const Health = Type.Object({
  queueDepth: Type.Integer({ minimum: 0 }),
  oldestQueuedAt: Type.Union([Type.String({ maxLength: 40 }), Type.Null()]),
  uplink: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('starting')]),
  clockOffsetSeconds: Type.Union([Type.Number(), Type.Null()]),
  summarisedReadings: Type.Integer({ minimum: 0 }),
  droppedReadings: Type.Integer({ minimum: 0 }),
  rejectedRecords: Type.Integer({ minimum: 0 }),
  diskFreeBytes: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  diskTotalBytes: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  provisioningVersion: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
  provisionedAt: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
});
const ForwardBody = Type.Object({
  sentAt: Type.String({ minLength: 10, maxLength: 40 }),
  health: Health,
  records: Type.Array(
    Type.Object({
      seq: Type.Integer({ minimum: 1 }),
      kind: Type.Union([Type.Literal('reading'), Type.Literal('alert'), Type.Literal('summary')]),
      reading: Type.Optional(Type.Object({}, { additionalProperties: true })),
      alert: Type.Optional(Type.Object({}, { additionalProperties: true })),
      summary: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
    { maxItems: maxRecords },
  ),
});

const refuse = (seq: number, code: string, message: string): RecordResult => ({
  seq,
  status: 'rejected',
  code,
  message,
});

/**
 * The centre's side of edge gateways (docs/edge.md):
 * - `POST /ingest/v1/edge/forward` — a gateway (a device of kind `gateway`, its own secret as
 *   bearer) forwards what its hub committed: readings (stored with the hub's ids and the centre's
 *   idempotency keys, marked `edge`: evaluated at the hub, not again here), alert versions (one
 *   alert at the centre per hub alert), per-minute summaries, and its health.
 * - `GET /ingest/v1/edge/provisioning` — a gateway pulls its devices (credential verifiers), their
 *   assignments, patients and monitoring enrolment (ETag; 304 when unchanged).
 * - `PUT /api/v1/gateways/:id/devices/:deviceId` — an administrator links a device behind a gateway.
 * - `GET /api/v1/gateways` — gateways with their health and the devices behind them.
 */
export function edgeGatewayRoutes(alerting: Alerting): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    // One forward at a time per gateway: a retry that overtakes a slow first attempt waits for it.
    const chains = new Map<string, Promise<unknown>>();
    const serialized = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      const prev = chains.get(key) ?? Promise.resolve();
      const next = prev.then(fn, fn);
      const tail = next.catch(() => {});
      chains.set(key, tail);
      void tail.then(() => {
        if (chains.get(key) === tail) chains.delete(key);
      });
      return next;
    };

    await app.register(async (a) => {
      a.addHook('onRequest', requireDevice(ctx));
      a.post(
        '/ingest/v1/edge/forward',
        {
          bodyLimit: 32 * 1024 * 1024,
          config: { audit: { entity: 'Observation', action: 'C' as const } },
          schema: { body: ForwardBody },
        },
        async (request, reply) => {
          const gatewayId = (request.principal as { id: string }).id;
          const gateway = await ctx.devices.get(gatewayId);
          if (gateway.kind !== 'gateway')
            throw new VigilError(
              'VIGIL_ERR_EDGE_FORBIDDEN',
              'only a device of kind gateway may forward for other devices',
              403,
            );
          const body = request.body as ForwardRequest;
          const receivedAt = new Date(ctx.clock.now()).toISOString();
          const out = await serialized(gatewayId, () => forward(ctx, alerting, request, gatewayId, body));
          await recordHealth(ctx, gatewayId, body.health, receivedAt);
          return reply.send({ receivedAt, results: out, actions: await pendingActions(ctx, gatewayId) });
        },
      );

      a.get(
        '/ingest/v1/edge/provisioning',
        { config: { audit: { entity: 'Patient', action: 'R' as const } } },
        async (request, reply) => {
          const gatewayId = (request.principal as { id: string }).id;
          const gateway = await ctx.devices.get(gatewayId);
          if (gateway.kind !== 'gateway')
            throw new VigilError(
              'VIGIL_ERR_EDGE_FORBIDDEN',
              'only a device of kind gateway is provisioned with other devices',
              403,
            );
          const doc = await provisioning(ctx, gatewayId);
          reply.header('etag', doc.version);
          reply.header('cache-control', 'no-store');
          if (request.headers['if-none-match'] === doc.version) {
            // nothing of the patients is sent: the access is the gateway's, audited without them
            request.auditPatientIds = [];
            return reply.code(304).send();
          }
          request.auditPatientIds = doc.patients.map((p) => p.id);
          return reply.send(doc);
        },
      );
    });

    app.put(
      '/api/v1/gateways/:id/devices/:deviceId',
      {
        preValidation: requireRoles(ctx, ['admin']),
        schema: {
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 64 }),
            deviceId: Type.String({ minLength: 1, maxLength: 64 }),
          }),
        },
      },
      async (request) => {
        const { id, deviceId } = request.params as { id: string; deviceId: string };
        const gateway = await ctx.devices.get(id);
        if (gateway.kind !== 'gateway')
          throw new VigilError('VIGIL_ERR_EDGE_NOT_GATEWAY', `device ${id} is not of kind gateway`, 400);
        const device = await ctx.devices.get(deviceId);
        if (device.kind === 'gateway')
          throw new VigilError('VIGIL_ERR_EDGE_NOT_GATEWAY', 'a gateway cannot be behind a gateway', 400);
        await ctx.db.query(
          `insert into gateway_device (device_id, gateway_id, linked_at) values ($1, $2, $3)
           on conflict (device_id) do update set gateway_id = excluded.gateway_id, linked_at = excluded.linked_at`,
          [deviceId, id, new Date(ctx.clock.now()).toISOString()],
        );
        request.log.info(
          { gatewayId: id, deviceId, event: 'gateway-device-linked' },
          'device linked to gateway',
        );
        // who may forward a device's readings is a security setting, like its credential
        await ctx.security.audit.record({
          kind: 'object-security',
          subtype: 'gateway-device-link',
          action: 'U',
          outcome: 'success',
          agent: agentOf(request.principal, request.ip),
          entities: [
            { type: 'Device', id: deviceId },
            { type: 'Device', id },
          ],
          requestId: request.id,
        });
        return { gatewayId: id, deviceId };
      },
    );

    app.get(
      '/api/v1/gateways',
      { preValidation: requireRoles(ctx, ['admin', 'clinician', 'nurse']) },
      async () => {
        const rows = await ctx.db.query<{
          id: string;
          last_seen: Date | string | null;
          clock_offset_seconds: number | null;
          status: Record<string, unknown>;
          devices: string[];
        }>(
          `select d.id, d.last_seen, d.clock_offset_seconds, d.status,
                coalesce((select jsonb_agg(g.device_id order by g.device_id) from gateway_device g
                          where g.gateway_id = d.id), '[]'::jsonb) as devices
         from device d where d.kind = 'gateway' order by d.id`,
        );
        return {
          gateways: rows.map((r) => ({
            id: r.id,
            lastSeen: r.last_seen instanceof Date ? r.last_seen.toISOString() : r.last_seen,
            clockOffsetSeconds: r.clock_offset_seconds,
            health: (r.status as { edge?: unknown }).edge ?? null,
            devices: r.devices,
          })),
        };
      },
    );
  };
}

/** Assignments ended longer ago than this are not provisioned (the hub attributes new readings). */
const endedAssignmentsKeptMs = 24 * 3600_000;

/**
 * What a hub is provisioned with: the devices linked to it (credential verifiers only: the
 * SHA-256 the centre itself stores, ADR 0003), their assignments in force or ended in the last
 * day, those patients' FHIR Patient resources and monitoring enrolment in force. The version is a
 * digest of the content: unchanged content, same ETag.
 */
async function provisioning(ctx: ApiContext, gatewayId: string): Promise<ProvisioningDocument> {
  const devices = await ctx.db.query<{
    id: string;
    kind: string;
    identifier: string | null;
    manufacturer: string | null;
    model: string | null;
    serial: string | null;
    secret_hash: string | null;
    revoked: boolean;
  }>(
    `select d.id, d.kind, d.identifier, d.manufacturer, d.model, d.serial, d.secret_hash,
            d.revoked_at is not null as revoked
     from gateway_device g join device d on d.id = g.device_id where g.gateway_id = $1 order by d.id`,
    [gatewayId],
  );
  const since = new Date(ctx.clock.now() - endedAssignmentsKeptMs).toISOString();
  const assignments = await ctx.db.query<{
    id: string;
    device_id: string;
    patient_id: string;
    period_start: Date | string;
    period_end: Date | string | null;
  }>(
    `select a.id, a.device_id, a.patient_id, a.period_start, a.period_end
     from device_assignment a join gateway_device g on g.device_id = a.device_id and g.gateway_id = $1
     where a.period_end is null or a.period_end > $2::timestamptz
     order by a.device_id, a.period_start, a.id`,
    [gatewayId, since],
  );
  const patientIds = [...new Set(assignments.map((a) => a.patient_id))].sort();
  const patients = patientIds.length
    ? await ctx.db.query<{ id: string; content: Record<string, unknown> }>(
        `select id, content from fhir_resource where resource_type = 'Patient' and not deleted
         and id in (select jsonb_array_elements_text($1::jsonb)) order by id`,
        [toJsonParam(patientIds)],
      )
    : [];
  const monitoring = patientIds.length
    ? await ctx.db.query<{ patient_id: string; version: number; enrolment: Record<string, unknown> | null }>(
        `select distinct on (patient_id) patient_id, version, enrolment from monitoring_config
         where patient_id in (select jsonb_array_elements_text($1::jsonb)) order by patient_id, version desc`,
        [toJsonParam(patientIds)],
      )
    : [];
  const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);
  const content = {
    devices: devices.map((d) => ({
      id: d.id,
      kind: d.kind,
      identifier: d.identifier,
      manufacturer: d.manufacturer,
      model: d.model,
      serial: d.serial,
      secretHash: d.revoked ? null : d.secret_hash,
      revoked: d.revoked,
    })),
    assignments: assignments.map((a) => ({
      id: a.id,
      deviceId: a.device_id,
      patientId: a.patient_id,
      periodStart: iso(a.period_start) as string,
      periodEnd: iso(a.period_end),
    })),
    patients: patients.map((p) => ({ id: p.id, resource: p.content })),
    monitoring: monitoring.map((m) => ({
      patientId: m.patient_id,
      version: Number(m.version),
      enrolment: m.enrolment,
    })),
  };
  const digest = createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 32);
  return { gatewayId, version: `"${digest}"`, ...content };
}

/** How far along an alert is: an action at the centre goes back to the hub only when it is further. */
const stateRank = (state: string) => (state === 'resolved' ? 2 : state === 'acknowledged' ? 1 : 0);

/** Acknowledgements and resolutions made at the centre that the hub has not reported yet. */
async function pendingActions(ctx: ApiContext, gatewayId: string): Promise<CentreAction[]> {
  const rows = await ctx.db.query<{
    edge_alert_id: string;
    state: string;
    edge_state: string;
    acknowledged_by: string | null;
    acknowledged_at: Date | string | null;
    resolved_by: string | null;
    resolved_at: Date | string | null;
  }>(
    `select e.edge_alert_id, a.state, e.edge_state, a.acknowledged_by, a.acknowledged_at, a.resolved_by, a.resolved_at
     from edge_alert e join alert a on a.id = e.alert_id
     where e.gateway_id = $1 and a.state in ('acknowledged', 'resolved') and e.edge_state <> 'resolved'
     order by a.updated_at limit 200`,
    [gatewayId],
  );
  const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);
  return rows
    .filter((r) => stateRank(r.state) > stateRank(r.edge_state))
    .map((r) =>
      r.state === 'resolved'
        ? { alertId: r.edge_alert_id, type: 'resolve' as const, by: r.resolved_by, at: iso(r.resolved_at) }
        : {
            alertId: r.edge_alert_id,
            type: 'acknowledge' as const,
            by: r.acknowledged_by,
            at: iso(r.acknowledged_at),
          },
    );
}

async function recordHealth(ctx: ApiContext, gatewayId: string, health: GatewayHealth, receivedAt: string) {
  await ctx.db.query(
    `update device set last_seen = $2::timestamptz, clock_offset_seconds = $3,
       status = status || jsonb_build_object('edge', $4::jsonb), updated_at = now()
     where id = $1`,
    [gatewayId, receivedAt, health.clockOffsetSeconds, toJsonParam({ ...health, reportedAt: receivedAt })],
  );
}

function readingProblem(r: Partial<Reading>, linked: Set<string>): string | undefined {
  if (typeof r.id !== 'string' || !uuid.test(r.id)) return 'id must be a UUID';
  if (typeof r.deviceId !== 'string' || !linked.has(r.deviceId))
    return 'device is not linked to this gateway';
  if (typeof r.code !== 'string' || r.code.length === 0 || r.code.length > 64) return 'code is required';
  if (typeof r.effective !== 'string' || !iso.test(r.effective)) return 'effective must be an ISO time';
  if (typeof r.received !== 'string' || !iso.test(r.received)) return 'received must be an ISO time';
  // the centre's key for a device's reading starts with the device id: a gateway cannot take (or
  // block) a key of a device that is not behind it; the hub's own derived readings (NEWS2 scores)
  // get keys in the gateway's namespace (see forward)
  if (
    typeof r.idempotencyKey !== 'string' ||
    r.idempotencyKey.length > 300 ||
    !(r.idempotencyKey.startsWith(`${r.deviceId}|`) || r.transport === 'derived')
  )
    return 'idempotencyKey must be the device’s key';
  if (r.value !== null && r.value !== undefined && typeof r.value !== 'number')
    return 'value must be a number';
  if (!Array.isArray(r.components ?? []) || !Array.isArray(r.codings ?? []) || !Array.isArray(r.flags ?? []))
    return 'components, codings and flags must be lists';
  return undefined;
}

async function forward(
  ctx: ApiContext,
  alerting: Alerting,
  request: FastifyRequest,
  gatewayId: string,
  body: ForwardRequest,
): Promise<RecordResult[]> {
  const linked = new Set(
    (
      await ctx.db.query<{ device_id: string }>(
        'select device_id from gateway_device where gateway_id = $1',
        [gatewayId],
      )
    ).map((r) => r.device_id),
  );
  const results = new Map<number, RecordResult>();
  const patients = new Set<string | null>();

  // Readings first: an alert in the same request cites them as evidence.
  const readings: Array<{ seq: number; reading: Reading }> = [];
  for (const rec of body.records as ForwardRecord[]) {
    if (rec.kind !== 'reading') continue;
    const r = (rec.reading ?? {}) as Partial<Reading>;
    const problem = readingProblem(r, linked);
    if (problem) {
      results.set(rec.seq, refuse(rec.seq, 'VIGIL_ERR_EDGE_BAD_RECORD', problem));
      continue;
    }
    const full = r as Reading;
    const patientId =
      ctx.devices.patientAtCached(full.deviceId, full.effective) ??
      (await ctx.devices.patientAt(full.deviceId, full.effective));
    patients.add(patientId);
    readings.push({
      seq: rec.seq,
      reading: {
        ...full,
        codings: full.codings ?? [],
        components: full.components ?? [],
        flags: full.flags ?? [],
        category: full.category ?? 'vital-signs',
        value: full.value ?? null,
        unit: full.unit ?? null,
        profile: full.profile ?? 'edge',
        patientId,
        transport: 'edge',
        idempotencyKey: full.idempotencyKey.startsWith(`${full.deviceId}|`)
          ? full.idempotencyKey
          : `edge:${gatewayId}|${full.idempotencyKey}`,
      },
    });
  }
  if (readings.length > 0) {
    const inserted = await ctx.ingest.writeNormalized(readings.map((x) => x.reading));
    for (const x of readings)
      results.set(x.seq, { seq: x.seq, status: inserted.has(x.reading.id) ? 'stored' : 'duplicate' });
    // the devices behind the hub were heard (fleet view): their last contact is the hub's receive time
    const last = new Map<string, string>();
    for (const { reading } of readings) {
      const prev = last.get(reading.deviceId);
      if (!prev || reading.received > prev) last.set(reading.deviceId, reading.received);
    }
    await ctx.db.query(
      `update device d set last_seen = greatest(d.last_seen, x.at)
       from jsonb_to_recordset($1::jsonb) as x(id text, at timestamptz) where d.id = x.id`,
      [toJsonParam([...last].map(([id, at]) => ({ id, at })))],
    );
  }

  for (const rec of body.records as ForwardRecord[]) {
    if (rec.kind === 'summary')
      results.set(rec.seq, await storeSummary(ctx, gatewayId, linked, rec.seq, rec.summary));
  }
  for (const rec of body.records as ForwardRecord[]) {
    if (rec.kind !== 'alert') continue;
    const r = await applyAlert(
      ctx,
      alerting,
      gatewayId,
      linked,
      rec.seq,
      (rec.alert ?? {}) as ForwardedAlert,
    );
    if (r.patientId) patients.add(r.patientId);
    results.set(rec.seq, r.result);
  }
  for (const rec of body.records)
    if (!results.has(rec.seq))
      results.set(rec.seq, refuse(rec.seq, 'VIGIL_ERR_EDGE_BAD_RECORD', 'record has no content'));
  request.auditPatientIds = [...patients];
  return (body.records as ForwardRecord[]).map((r) => results.get(r.seq) as RecordResult);
}

async function storeSummary(
  ctx: ApiContext,
  gatewayId: string,
  linked: Set<string>,
  seq: number,
  s: Partial<ForwardedSummary> | undefined,
): Promise<RecordResult> {
  if (
    !s ||
    typeof s.id !== 'string' ||
    !uuid.test(s.id) ||
    typeof s.deviceId !== 'string' ||
    !linked.has(s.deviceId) ||
    typeof s.code !== 'string' ||
    typeof s.minute !== 'string' ||
    !iso.test(s.minute) ||
    ![s.n, s.min, s.mean, s.max].every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    return refuse(
      seq,
      'VIGIL_ERR_EDGE_BAD_RECORD',
      'summary needs id, a linked deviceId, code, minute, n, min, mean, max',
    );
  const patientId = await ctx.devices.patientAt(s.deviceId, s.minute);
  const rows = await ctx.db.query(
    `insert into edge_summary (id, gateway_id, device_id, patient_id, code, unit, minute, n, min, mean, max, received)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (id) do nothing returning id`,
    [
      s.id,
      gatewayId,
      s.deviceId,
      patientId,
      s.code,
      s.unit ?? null,
      s.minute,
      s.n,
      s.min,
      s.mean,
      s.max,
      new Date(ctx.clock.now()).toISOString(),
    ],
  );
  return { seq, status: rows.length > 0 ? 'stored' : 'duplicate' };
}

/**
 * One hub alert → one centre alert. The first version seen raises it through the centre's alert
 * manager (idempotent per patient and condition, so a condition the centre raised too is the same
 * alert); later versions update it (severity) or clear it (resolved at the hub); a resend of a
 * version already applied changes nothing.
 */
async function applyAlert(
  ctx: ApiContext,
  alerting: Alerting,
  gatewayId: string,
  linked: Set<string>,
  seq: number,
  a: ForwardedAlert,
): Promise<{ result: RecordResult; patientId?: string }> {
  if (
    typeof a.id !== 'string' ||
    a.id.length > 64 ||
    typeof a.version !== 'number' ||
    typeof a.conditionKey !== 'string' ||
    typeof a.rule !== 'string' ||
    !isSeverity(a.severity) ||
    typeof a.state !== 'string' ||
    typeof a.summary !== 'string' ||
    !Array.isArray(a.evidence) ||
    typeof a.raisedAt !== 'string'
  )
    return {
      result: refuse(
        seq,
        'VIGIL_ERR_EDGE_BAD_RECORD',
        'alert needs id, version, conditionKey, rule, severity, state, summary, evidence, raisedAt',
      ),
    };
  const link = (
    await ctx.db.query<{
      alert_id: string;
      edge_version: number;
      patient_id: string;
      state: string;
      severity: string;
    }>(
      `select e.alert_id, e.edge_version, a.patient_id, a.state, a.severity from edge_alert e join alert a on a.id = e.alert_id
       where e.gateway_id = $1 and e.edge_alert_id = $2`,
      [gatewayId, a.id],
    )
  )[0];
  if (link && link.edge_version >= a.version)
    return { result: { seq, status: 'duplicate' }, patientId: link.patient_id };

  let patientId = link?.patient_id;
  if (!patientId) {
    // the patient at the centre: that of the evidence the hub forwarded (same ids), else that of the
    // alert's device at the time it was raised; only through devices behind this gateway
    const evidence = a.evidence.filter((e): e is string => typeof e === 'string' && uuid.test(e));
    const byEvidence = await ctx.db.query<{ patient_id: string }>(
      `select o.patient_id from observation o join gateway_device g on g.device_id = o.device_id and g.gateway_id = $2
       where o.id::text in (select jsonb_array_elements_text($1::jsonb)) and o.patient_id is not null
       order by o.effective limit 1`,
      [toJsonParam(evidence), gatewayId],
    );
    patientId = byEvidence[0]?.patient_id;
    if (!patientId && a.deviceId && linked.has(a.deviceId))
      patientId = (await ctx.devices.patientAt(a.deviceId, a.raisedAt)) ?? undefined;
    if (!patientId)
      return {
        result: refuse(
          seq,
          'VIGIL_ERR_EDGE_ALERT_UNATTRIBUTED',
          'no patient at the centre for this alert: its evidence and device are not attributed here',
        ),
      };
  }
  const detection = {
    patientId,
    conditionKey: a.conditionKey,
    rule: a.rule,
    severity: a.severity,
    at: typeof a.lastDetectionAt === 'string' ? a.lastDetectionAt : a.raisedAt,
    summary: a.summary,
    evidence: a.evidence.filter((e): e is string => typeof e === 'string').slice(0, 200),
    data: { ...(a.data ?? {}), edge: { gatewayId, alertId: a.id, version: a.version } },
    ...(a.deviceId ? { deviceId: a.deviceId } : {}),
  };
  let alertId = link?.alert_id;
  // raised once; a later version fires again only to carry a changed severity
  if (!link || (link.state !== 'resolved' && a.state !== 'resolved' && link.severity !== a.severity)) {
    const [raised] = await alerting.onDetections([{ ...detection, state: 'firing' }]);
    if (!raised && !link)
      throw new VigilError('VIGIL_ERR_STORE_UNAVAILABLE', 'the alert could not be applied; retry', 503);
    alertId = raised?.id ?? alertId;
  }
  if (!alertId)
    throw new VigilError('VIGIL_ERR_STORE_UNAVAILABLE', 'the alert could not be applied; retry', 503);
  const centreState = link?.state ?? 'open';
  if (a.state === 'resolved' && centreState !== 'resolved') {
    await alerting.onDetections([{ ...detection, state: 'cleared', at: a.resolvedAt ?? detection.at }]);
  } else if (a.state === 'acknowledged' && stateRank(centreState) === 0) {
    // acknowledged at the hub (a nurse at the ward): the centre's alert too
    await alerting.manager
      .act(
        alertId,
        { type: 'acknowledge', note: 'acknowledged at the hub' },
        { kind: 'system', id: `gateway:${gatewayId}` },
      )
      .catch((e) => ctx.log.warn({ err: String(e), gatewayId }, 'hub acknowledgement not applied'));
  }
  await ctx.db.query(
    `insert into edge_alert (gateway_id, edge_alert_id, alert_id, edge_version, edge_state) values ($1, $2, $3, $4, $5)
     on conflict (gateway_id, edge_alert_id) do update set edge_version = excluded.edge_version, edge_state = excluded.edge_state
     where edge_alert.edge_version < excluded.edge_version`,
    [gatewayId, a.id, alertId, a.version, a.state],
  );
  return { result: { seq, status: 'stored' }, patientId };
}
