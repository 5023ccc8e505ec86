import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { canSeePatient } from '../../alerts/access.ts';
import type { Actor, AlertState } from '../../alerts/alert.ts';
import { alertStates } from '../../alerts/alert.ts';
import { alertMetrics, metricsCsv } from '../../alerts/alert-metrics.ts';
import { type AlertAction, alertError } from '../../alerts/alert-state.ts';
import type { Alerting } from '../../alerts/alerting.ts';
import { validatePolicy } from '../../alerts/escalation-policy.ts';
import type { Principal, Role } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId, newSecret } from '../../core/ids.ts';
import { isSeverity, type Severity } from '../../core/severity.ts';
import type { WebhookRow } from '../../store/alert-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { fhirWebSocketRoute } from '../fhir/subscriptions/ws-route.ts';

const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Note = Type.Optional(Type.String({ maxLength: 2000 }));

/** Who may do what (docs/alerts.md). Reading is for all staff; clinical actions for clinicians and nurses. */
export const alertPermissions: Record<AlertAction['type'] | 'read' | 'raise' | 'admin', readonly Role[]> = {
  read: ['admin', 'clinician', 'nurse'],
  raise: ['admin', 'clinician', 'nurse'],
  acknowledge: ['clinician', 'nurse'],
  snooze: ['clinician', 'nurse'],
  unsnooze: ['clinician', 'nurse'],
  escalate: ['clinician', 'nurse'],
  assign: ['admin', 'clinician', 'nurse'],
  resolve: ['clinician', 'nurse'],
  'snooze-end': [],
  detection: [],
  'source-cleared': [],
  admin: ['admin'],
};

function actorOf(p: Principal | undefined): Actor {
  if (!p) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'a bearer access token is required', 401);
  return { kind: 'user', id: p.id, name: p.username };
}

function csvList<T extends string>(
  raw: string | undefined,
  allowed: readonly T[],
  name: string,
): T[] | undefined {
  if (!raw) return undefined;
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items) {
    if (!(allowed as readonly string[]).includes(i)) {
      throw new VigilError(
        'VIGIL_ERR_API_VALIDATION',
        `${name}=${i} is not one of ${allowed.join(', ')}`,
        400,
      );
    }
  }
  return items as T[];
}

function publicWebhook(w: WebhookRow): Omit<WebhookRow, 'secret'> {
  const { secret: _secret, ...rest } = w;
  return rest;
}

function webhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new VigilError('VIGIL_ERR_ALERT_WEBHOOK_INVALID', 'url must be an absolute http(s) URL', 400);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new VigilError('VIGIL_ERR_ALERT_WEBHOOK_INVALID', 'url must use http or https', 400);
  if (u.username || u.password)
    throw new VigilError('VIGIL_ERR_ALERT_WEBHOOK_INVALID', 'url must not carry credentials', 400);
  return u.toString();
}

/** Access token from `Sec-WebSocket-Protocol: vigil.v1, vigil.bearer.<token>` (never from the URL). */
function protocolToken(request: FastifyRequest): string | undefined {
  const h = request.headers['sec-websocket-protocol'];
  if (typeof h !== 'string') return undefined;
  const p = h
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('vigil.bearer.'));
  return p?.slice('vigil.bearer.'.length);
}

/**
 * Alert management API: list, detail with timeline, lifecycle actions, manual raise, metrics (JSON or
 * CSV), escalation policies, webhook subscriptions with their delivery log, and the live WebSocket.
 */
export function alertRoutes(alerting: Alerting): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const m = alerting.manager;
    const repo = alerting.repo;
    const can = (action: keyof typeof alertPermissions) => requireRoles(ctx, alertPermissions[action]);

    async function visibleAlert(request: FastifyRequest, id: string) {
      const alert = await repo.get(id);
      if (!alert) throw alertError('NOT_FOUND', `no alert ${id}`, 404);
      request.auditPatientId = alert.patientId;
      if (!(await canSeePatient(request.principal as Principal, alert.patientId))) {
        throw alertError('FORBIDDEN', `you may not see the alerts of this patient`, 403);
      }
      return alert;
    }

    app.get(
      '/api/v1/alerts',
      {
        preValidation: can('read'),
        config: { audit: { entity: 'Flag' } },
        schema: {
          querystring: Type.Object({
            state: Type.Optional(Type.String({ maxLength: 200 })),
            severity: Type.Optional(Type.String({ maxLength: 200 })),
            patient: Type.Optional(Type.String({ maxLength: 64 })),
            rule: Type.Optional(Type.String({ maxLength: 64 })),
            since: Type.Optional(Type.String({ format: 'date-time' })),
            active: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
        },
      },
      async (request) => {
        const q = request.query as {
          state?: string;
          severity?: string;
          patient?: string;
          rule?: string;
          since?: string;
          active?: boolean;
          limit?: number;
          offset?: number;
        };
        let state = csvList<AlertState>(q.state, alertStates, 'state');
        if (q.active && !state) state = alertStates.filter((s) => s !== 'resolved');
        const alerts = await repo.list({
          state,
          severity: csvList<Severity>(q.severity, severities, 'severity'),
          patientId: q.patient,
          rule: q.rule,
          since: q.since,
          limit: q.limit ?? 100,
          offset: q.offset ?? 0,
        });
        const p = request.principal as Principal;
        const visible = [];
        for (const a of alerts) if (await canSeePatient(p, a.patientId)) visible.push(a);
        request.auditPatientIds = [...new Set(visible.map((a) => a.patientId))];
        return { alerts: visible };
      },
    );

    app.post(
      '/api/v1/alerts',
      {
        preValidation: can('raise'),
        config: { audit: { entity: 'Flag', action: 'C' as const, subtype: 'raise' } },
        schema: {
          body: Type.Object(
            {
              patientId: Type.String({ minLength: 1, maxLength: 64 }),
              severity: Type.Union(severities.map((s) => Type.Literal(s))),
              summary: Type.String({ minLength: 1, maxLength: 500 }),
              conditionKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const body = request.body as {
          patientId: string;
          severity: Severity;
          summary: string;
          conditionKey?: string;
        };
        request.auditPatientId = body.patientId;
        if (!(await canSeePatient(request.principal as Principal, body.patientId))) {
          throw alertError('FORBIDDEN', 'you may not raise alerts for this patient', 403);
        }
        const alert = await m.raiseManual(body, actorOf(request.principal));
        request.auditEntityId = alert.id;
        request.log.info({ alertId: alert.id, event: 'alert-raised-manually' }, 'alert raised by hand');
        return reply.status(201).send({ alert });
      },
    );

    app.get(
      '/api/v1/alerts/metrics',
      {
        preValidation: can('read'),
        schema: {
          querystring: Type.Object({
            since: Type.Optional(Type.String({ format: 'date-time' })),
            until: Type.Optional(Type.String({ format: 'date-time' })),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          }),
        },
      },
      async (request, reply) => {
        const q = request.query as { since?: string; until?: string; format?: 'json' | 'csv' };
        const now = ctx.clock.now();
        const until = q.until ? new Date(q.until).toISOString() : new Date(now + 1000).toISOString();
        const since = q.since
          ? new Date(q.since).toISOString()
          : new Date(now - 30 * 86400_000).toISOString();
        const metrics = await alertMetrics(ctx.db, since, until);
        if (q.format === 'csv') {
          return reply
            .header('content-type', 'text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="vigil-alert-metrics.csv"')
            .send(metricsCsv(metrics));
        }
        return metrics;
      },
    );

    // ── escalation policies ───────────────────────────────────────────────────────────────
    const policyAudit = { entity: 'EscalationPolicy', action: 'U' as const };
    const policyRoute = () => ({
      preValidation: can('admin'),
      config: { audit: policyAudit },
      schema: { params: Type.Object({ severity: Type.String({ maxLength: 20 }) }) },
    });
    const webhookAudit = { audit: { entity: 'WebhookSubscription' } };
    app.get('/api/v1/alerts/policies', { preValidation: can('read') }, async () => {
      const stored = new Set((await repo.policies()).map((p) => p.severity));
      const policies = [];
      for (const s of severities)
        policies.push({ ...(await m.policy(s)), source: stored.has(s) ? 'stored' : 'default' });
      return { policies };
    });

    app.put('/api/v1/alerts/policies/:severity', policyRoute(), async (request) => {
      const { severity } = request.params as { severity: string };
      const policy = validatePolicy(request.body, severity);
      await repo.putPolicy(
        severity,
        policy,
        new Date(ctx.clock.now()).toISOString(),
        (request.principal as Principal).id,
      );
      request.log.info({ severity, event: 'escalation-policy-changed' }, 'escalation policy changed');
      return { policy };
    });

    app.delete('/api/v1/alerts/policies/:severity', policyRoute(), async (request) => {
      const { severity } = request.params as { severity: string };
      if (!isSeverity(severity)) throw alertError('POLICY_INVALID', `unknown severity ${severity}`, 400);
      await repo.deletePolicy(severity);
      return { policy: await m.policy(severity), source: 'default' };
    });

    // ── webhooks ──────────────────────────────────────────────────────────────────────────
    const WebhookBody = {
      url: Type.String({ minLength: 8, maxLength: 2000 }),
      description: Type.Optional(Type.String({ maxLength: 500 })),
      severities: Type.Optional(
        Type.Array(Type.Union(severities.map((s) => Type.Literal(s))), { minItems: 1 }),
      ),
      enabled: Type.Optional(Type.Boolean()),
      expirySeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 7 * 86400 })),
    };

    app.post(
      '/api/v1/alerts/webhooks',
      {
        preValidation: can('admin'),
        config: webhookAudit,
        schema: { body: Type.Object(WebhookBody, { additionalProperties: false }) },
      },
      async (request, reply) => {
        const b = request.body as {
          url: string;
          description?: string;
          severities?: Severity[];
          enabled?: boolean;
          expirySeconds?: number;
        };
        const now = new Date(ctx.clock.now()).toISOString();
        const w: WebhookRow = {
          id: newId(),
          url: webhookUrl(b.url),
          secret: `whsec_${newSecret()}`,
          description: b.description ?? null,
          severities: b.severities ?? null,
          enabled: b.enabled ?? true,
          expirySeconds: b.expirySeconds ?? 86400,
          createdAt: now,
          updatedAt: now,
        };
        await repo.insertWebhook(w);
        request.auditEntityId = w.id;
        request.log.info({ webhookId: w.id, event: 'webhook-created' }, 'webhook subscription created');
        // The signing secret is shown once, here.
        return reply.status(201).send({ webhook: publicWebhook(w), secret: w.secret });
      },
    );

    app.get('/api/v1/alerts/webhooks', { preValidation: can('admin') }, async () => ({
      webhooks: (await repo.webhooks()).map(publicWebhook),
    }));

    async function webhookOr404(id: string): Promise<WebhookRow> {
      const w = await repo.webhook(id);
      if (!w) throw alertError('WEBHOOK_NOT_FOUND', `no webhook subscription ${id}`, 404);
      return w;
    }

    app.get(
      '/api/v1/alerts/webhooks/:id',
      { preValidation: can('admin'), config: webhookAudit, schema: { params: Id } },
      async (request) => {
        const w = await webhookOr404((request.params as { id: string }).id);
        const deliveries = await repo.deliveries({ target: w.id });
        const withAttempts = [];
        for (const d of deliveries.slice(0, 50)) withAttempts.push({ ...d, log: await repo.attempts(d.id) });
        return { webhook: publicWebhook(w), deliveries: withAttempts };
      },
    );

    app.patch(
      '/api/v1/alerts/webhooks/:id',
      {
        preValidation: can('admin'),
        config: webhookAudit,
        schema: { params: Id, body: Type.Partial(Type.Object(WebhookBody), { additionalProperties: false }) },
      },
      async (request) => {
        const w = await webhookOr404((request.params as { id: string }).id);
        const b = request.body as Partial<{
          url: string;
          description: string;
          severities: Severity[];
          enabled: boolean;
          expirySeconds: number;
        }>;
        const updated: WebhookRow = {
          ...w,
          ...(b.url !== undefined ? { url: webhookUrl(b.url) } : {}),
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.severities !== undefined ? { severities: b.severities } : {}),
          ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
          ...(b.expirySeconds !== undefined ? { expirySeconds: b.expirySeconds } : {}),
          updatedAt: new Date(ctx.clock.now()).toISOString(),
        };
        await repo.updateWebhook(updated);
        return { webhook: publicWebhook(updated) };
      },
    );

    app.delete(
      '/api/v1/alerts/webhooks/:id',
      { preValidation: can('admin'), config: webhookAudit, schema: { params: Id } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        if (!(await repo.deleteWebhook(id)))
          throw alertError('WEBHOOK_NOT_FOUND', `no webhook subscription ${id}`, 404);
        request.log.info({ webhookId: id, event: 'webhook-deleted' }, 'webhook subscription deleted');
        return reply.status(204).send();
      },
    );

    // ── one alert ─────────────────────────────────────────────────────────────────────────
    app.get(
      '/api/v1/alerts/:id',
      { preValidation: can('read'), config: { audit: { entity: 'Flag' } }, schema: { params: Id } },
      async (request) => {
        const alert = await visibleAlert(request, (request.params as { id: string }).id);
        const notifications = [];
        for (const n of await repo.notifications(alert.id)) {
          const { payload: _payload, ...rest } = n;
          notifications.push({
            ...rest,
            deliveries: await repo.deliveries({ notificationId: n.id }),
            // to people: one row per person and channel tried (docs/notifications.md)
            sends: await ctx.db.query(
              `select user_id as "userId", channel, outcome, status_code as "statusCode", error,
                      to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
                 from notification_send where notification_id = $1 order by at, id`,
              [n.id],
            ),
          });
        }
        return {
          alert,
          evidence: alert.evidence,
          timeline: await repo.events(alert.id),
          notifications,
          timers: await repo.timers(alert.id),
        };
      },
    );

    const actions: Array<{
      path: string;
      type: AlertAction['type'];
      body: Record<
        string,
        ReturnType<typeof Type.Optional> | ReturnType<typeof Type.Integer> | ReturnType<typeof Type.String>
      >;
    }> = [
      { path: 'acknowledge', type: 'acknowledge', body: { note: Note } },
      {
        path: 'snooze',
        type: 'snooze',
        body: { minutes: Type.Integer({ minimum: 1, maximum: 1440 }), note: Note },
      },
      { path: 'unsnooze', type: 'unsnooze', body: { note: Note } },
      { path: 'escalate', type: 'escalate', body: { note: Note } },
      {
        path: 'assign',
        type: 'assign',
        body: { userId: Type.String({ minLength: 1, maxLength: 64 }), note: Note },
      },
      { path: 'resolve', type: 'resolve', body: { note: Note } },
    ];
    for (const a of actions) {
      app.post(
        `/api/v1/alerts/:id/${a.path}`,
        {
          preValidation: can(a.type),
          config: { audit: { entity: 'Flag', action: 'U' as const, subtype: a.path } },
          schema: { params: Id, body: Type.Object(a.body, { additionalProperties: false }) },
        },
        async (request) => {
          const { id } = request.params as { id: string };
          await visibleAlert(request, id);
          const body = (request.body ?? {}) as { note?: string; minutes?: number; userId?: string };
          if (a.type === 'assign' && body.userId && !(await ctx.users.byId(body.userId))) {
            throw alertError('ASSIGNEE_UNKNOWN', `no user ${body.userId}`, 400);
          }
          const action = { type: a.type, ...body } as AlertAction;
          const r = await m.act(id, action, actorOf(request.principal));
          request.log.info(
            { alertId: id, action: a.type, changed: r.event !== null, event: 'alert-action' },
            'alert action',
          );
          return { alert: r.alert, changed: r.event !== null, ...(r.event ? { event: r.event } : {}) };
        },
      );
    }

    // ── live feed ─────────────────────────────────────────────────────────────────────────
    // Registered here, encapsulated: if another module needs WebSockets, move this registration to app.ts once.
    await app.register(websocket, {
      options: {
        maxPayload: 64 * 1024,
        handleProtocols: (protocols) => (protocols.has('vigil.v1') ? 'vigil.v1' : false),
      },
    });
    fhirWebSocketRoute(app, ctx); // the websocket channel of FHIR Subscriptions
    app.get('/api/v1/live', { websocket: true }, (socket, request) => {
      let authed = false;
      const authenticate = async (token: string | undefined) => {
        try {
          if (!token) throw new Error('no token');
          const p = await ctx.security.authenticate(token); // revocation-aware, current roles
          if (!p.roles.some((r) => alertPermissions.read.includes(r))) {
            socket.send(
              JSON.stringify({
                type: 'error',
                error: {
                  code: 'VIGIL_ERR_AUTH_FORBIDDEN',
                  message: 'your role does not allow the live feed',
                },
              }),
            );
            socket.close(4403, 'forbidden');
            return;
          }
          authed = true;
          await alerting.live.add(socket, p);
        } catch {
          socket.send(
            JSON.stringify({
              type: 'error',
              error: { code: 'VIGIL_ERR_AUTH_REQUIRED', message: 'a valid access token is required' },
            }),
          );
          socket.close(4401, 'unauthorized');
        }
      };
      const fromProtocol = protocolToken(request);
      if (fromProtocol) {
        void authenticate(fromProtocol);
        return;
      }
      // Otherwise the first message must be {"type":"auth","token":"…"} within 10 s.
      const timer = setTimeout(() => {
        if (!authed) socket.close(4401, 'unauthorized');
      }, 10_000);
      socket.once('message', (data) => {
        clearTimeout(timer);
        let token: string | undefined;
        try {
          const msg = JSON.parse(String(data)) as { type?: string; token?: string };
          if (msg.type === 'auth' && typeof msg.token === 'string') token = msg.token;
        } catch {
          /* not JSON: refused below */
        }
        void authenticate(token);
      });
    });
  };
}
