import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { canSeePatient } from '../../alerts/access.ts';
import type { AckLinks } from '../../alerts/ack-links.ts';
import type { Alerting } from '../../alerts/alerting.ts';
import { hhmm, validTimeZone } from '../../alerts/escalation-policy.ts';
import { type PushChannel, pushEndpointAllowed } from '../../alerts/push-channel.ts';
import { type Principal, principalOfAccount, type Role } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';
import { ackDonePage, ackPage } from './ack-pages.ts';
import { pageCsp } from './smart-pages.ts';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const staff: readonly Role[] = ['admin', 'clinician', 'nurse'];
const acknowledgers: readonly Role[] = ['clinician', 'nurse'];

const Method = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('email'),
      address: Type.String({ pattern: '^[^\\s@<>,;]+@[^\\s@<>,;]+\\.[^\\s@<>,;]+$', maxLength: 254 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('sms'), address: Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' }) },
    { additionalProperties: false },
  ),
]);
const Methods = Type.Object(
  { methods: Type.Array(Method, { maxItems: 10 }) },
  { additionalProperties: false },
);

const Severity = Type.Union(['info', 'low', 'medium', 'high', 'critical'].map((s) => Type.Literal(s)));
const Settings = Type.Object(
  {
    quietHours: Type.Union([
      Type.Null(),
      Type.Object(
        {
          start: Type.String({ pattern: hhmm.source }),
          end: Type.String({ pattern: hhmm.source }),
          timeZone: Type.String({ minLength: 1, maxLength: 64 }),
          breakthroughSeverity: Type.Optional(Severity),
        },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);

const Subscription = Type.Object(
  {
    endpoint: Type.String({ minLength: 10, maxLength: 2048 }),
    expirationTime: Type.Optional(Type.Union([Type.Null(), Type.Number()])),
    keys: Type.Object(
      {
        p256dh: Type.String({ pattern: '^[A-Za-z0-9_-]{80,100}={0,2}$' }),
        auth: Type.String({ pattern: '^[A-Za-z0-9_-]{16,32}={0,2}$' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const Shift = Type.Object(
  {
    userId: Type.String({ minLength: 1, maxLength: 64 }),
    role: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9 _.-]+$' })),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

interface SettingsRow {
  quiet_start: string | null;
  quiet_end: string | null;
  time_zone: string;
  breakthrough_severity: string;
}

/**
 * How people are notified (docs/notifications.md): their contact methods (in the order they are
 * tried), Web Push subscriptions from their browsers, quiet hours, care teams' on-call shifts, and
 * acknowledging an alert from the signed link a notification carries.
 */
export function notificationRoutes(o: {
  alerting: Alerting;
  ackLinks: AckLinks;
  push: PushChannel | undefined;
}): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const admin = requireRoles(ctx, ['admin']);
    const signedInStaff = requireRoles(ctx, staff);
    const { succeeded } = requestAudit(ctx.security.audit);
    const accountChange = (subtype: string) => ({
      kind: 'user-security' as const,
      subtype,
      action: 'U' as const,
    });
    const me = (request: FastifyRequest) => (request.principal as Principal).id;
    const mustExist = async (id: string) => {
      if (!(await ctx.users.byId(id)))
        throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user ${id}`, 404);
    };

    // ── contact methods ────────────────────────────────────────────────────────────────────
    const listMethods = async (id: string) =>
      ctx.db.query<{ kind: string; address: string }>(
        `select kind, address from user_contact_method where user_id = $1 and kind <> 'push'
          order by priority, created_at, address`,
        [id],
      );
    const putMethods = async (request: FastifyRequest, id: string) => {
      const { methods } = request.body as { methods: Array<{ kind: string; address: string }> };
      await ctx.db.transaction(async (tx) => {
        // push subscriptions belong to the browsers that made them: kept, tried first
        await tx.query(`delete from user_contact_method where user_id = $1 and kind <> 'push'`, [id]);
        let priority = 1;
        for (const m of methods)
          await tx.query(
            `insert into user_contact_method (user_id, kind, address, priority) values ($1, $2, $3, $4)
             on conflict do nothing`,
            [id, m.kind, m.address, priority++],
          );
      });
      await succeeded(request, accountChange('contact-methods'), { entities: [{ type: 'User', id }] });
      return { methods: await listMethods(id) };
    };
    app.get(
      '/api/v1/users/:id/contact-methods',
      { preValidation: admin, schema: { params: Id } },
      async (request) => {
        const { id } = request.params as { id: string };
        await mustExist(id);
        return { methods: await listMethods(id) };
      },
    );
    app.put(
      '/api/v1/users/:id/contact-methods',
      { preValidation: admin, config: { auditSelf: true }, schema: { params: Id, body: Methods } },
      async (request) => {
        const { id } = request.params as { id: string };
        await mustExist(id);
        return putMethods(request, id);
      },
    );
    app.get('/api/v1/me/contact-methods', { preValidation: signedInStaff }, async (request) => ({
      methods: await listMethods(me(request)),
    }));
    app.put(
      '/api/v1/me/contact-methods',
      { preValidation: signedInStaff, config: { auditSelf: true }, schema: { body: Methods } },
      async (request) => putMethods(request, me(request)),
    );

    // ── quiet hours ────────────────────────────────────────────────────────────────────────
    const readSettings = async (id: string) => {
      const [r] = await ctx.db.query<SettingsRow>(
        'select quiet_start, quiet_end, time_zone, breakthrough_severity from user_notification_settings where user_id = $1',
        [id],
      );
      return {
        quietHours:
          r?.quiet_start && r.quiet_end
            ? {
                start: r.quiet_start,
                end: r.quiet_end,
                timeZone: r.time_zone,
                breakthroughSeverity: r.breakthrough_severity,
              }
            : null,
      };
    };
    const writeSettings = async (request: FastifyRequest, id: string) => {
      const { quietHours: q } = request.body as {
        quietHours: null | { start: string; end: string; timeZone: string; breakthroughSeverity?: string };
      };
      if (q && !validTimeZone(q.timeZone))
        throw new VigilError(
          'VIGIL_ERR_NOTIFY_SETTINGS_INVALID',
          `quietHours.timeZone: ${q.timeZone} is not an IANA time zone`,
          400,
        );
      if (q && q.start === q.end)
        throw new VigilError(
          'VIGIL_ERR_NOTIFY_SETTINGS_INVALID',
          'quietHours: start and end are the same time (for no quiet hours, send null)',
          400,
        );
      await ctx.db.query(
        `insert into user_notification_settings (user_id, quiet_start, quiet_end, time_zone, breakthrough_severity, updated_at)
         values ($1, $2, $3, $4, $5, now())
         on conflict (user_id) do update set quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
           time_zone = excluded.time_zone, breakthrough_severity = excluded.breakthrough_severity, updated_at = now()`,
        [id, q?.start ?? null, q?.end ?? null, q?.timeZone ?? 'UTC', q?.breakthroughSeverity ?? 'high'],
      );
      await succeeded(request, accountChange('notification-settings'), { entities: [{ type: 'User', id }] });
      return readSettings(id);
    };
    app.get(
      '/api/v1/users/:id/notification-settings',
      { preValidation: admin, schema: { params: Id } },
      async (request) => {
        const { id } = request.params as { id: string };
        await mustExist(id);
        return readSettings(id);
      },
    );
    app.put(
      '/api/v1/users/:id/notification-settings',
      { preValidation: admin, config: { auditSelf: true }, schema: { params: Id, body: Settings } },
      async (request) => {
        const { id } = request.params as { id: string };
        await mustExist(id);
        return writeSettings(request, id);
      },
    );
    app.get('/api/v1/me/notification-settings', { preValidation: signedInStaff }, async (request) =>
      readSettings(me(request)),
    );
    app.put(
      '/api/v1/me/notification-settings',
      { preValidation: signedInStaff, config: { auditSelf: true }, schema: { body: Settings } },
      async (request) => writeSettings(request, me(request)),
    );

    // ── Web Push ───────────────────────────────────────────────────────────────────────────
    app.get('/api/v1/push/public-key', { preValidation: signedInStaff }, async () =>
      o.push ? { enabled: true, publicKey: o.push.publicKey } : { enabled: false },
    );
    app.post(
      '/api/v1/me/push-subscriptions',
      { preValidation: signedInStaff, config: { auditSelf: true }, schema: { body: Subscription } },
      async (request, reply) => {
        if (!o.push)
          throw new VigilError(
            'VIGIL_ERR_NOTIFY_PUSH_OFF',
            'Web Push is not configured on this server (VIGIL_PUSH_SUBJECT)',
            409,
          );
        const s = request.body as { endpoint: string; keys: { p256dh: string; auth: string } };
        if (!pushEndpointAllowed(s.endpoint))
          throw new VigilError(
            'VIGIL_ERR_NOTIFY_PUSH_ENDPOINT',
            'a push subscription endpoint must be an https URL',
            400,
          );
        const id = me(request);
        await ctx.db.query(
          `insert into user_contact_method (user_id, kind, address, priority, details) values ($1, 'push', $2, 0, $3::jsonb)
           on conflict (user_id, kind, address) do update set details = excluded.details`,
          [
            id,
            s.endpoint,
            JSON.stringify({ keys: s.keys, userAgent: request.headers['user-agent']?.slice(0, 200) }),
          ],
        );
        await succeeded(request, accountChange('push-subscription'), { entities: [{ type: 'User', id }] });
        return reply.status(201).send({ subscribed: true });
      },
    );
    app.delete(
      '/api/v1/me/push-subscriptions',
      {
        preValidation: signedInStaff,
        config: { auditSelf: true },
        schema: { querystring: Type.Object({ endpoint: Type.String({ minLength: 1, maxLength: 2048 }) }) },
      },
      async (request, reply) => {
        const id = me(request);
        await ctx.db.query(
          `delete from user_contact_method where user_id = $1 and kind = 'push' and address = $2`,
          [id, (request.query as { endpoint: string }).endpoint],
        );
        await succeeded(request, accountChange('push-unsubscribe'), { entities: [{ type: 'User', id }] });
        return reply.status(204).send();
      },
    );

    // ── on-call shifts per care team ───────────────────────────────────────────────────────
    const careTeamMustExist = async (id: string) => {
      const rows = await ctx.db.query(
        `select 1 from fhir_resource where resource_type = 'CareTeam' and id = $1 and not deleted`,
        [id],
      );
      if (rows.length === 0)
        throw new VigilError('VIGIL_ERR_ONCALL_CARE_TEAM_NOT_FOUND', `no CareTeam ${id}`, 404);
    };
    const listShifts = (teamId: string, from: string) =>
      ctx.db.query<{
        id: string;
        userId: string;
        username: string;
        role: string;
        start: string;
        end: string;
      }>(
        `select s.id, s.user_id as "userId", u.username, s.role,
                to_char(s.starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as start,
                to_char(s.ends_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "end"
           from care_team_on_call s join app_user u on u.id = s.user_id
          where s.care_team_id = $1 and s.ends_at > $2 order by s.starts_at, s.id limit 500`,
        [teamId, from],
      );
    app.get(
      '/api/v1/care-teams/:id/on-call',
      {
        preValidation: signedInStaff,
        schema: {
          params: Id,
          querystring: Type.Object({ from: Type.Optional(Type.String({ format: 'date-time' })) }),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        await careTeamMustExist(id);
        const from = (request.query as { from?: string }).from ?? new Date(ctx.clock.now()).toISOString();
        return { careTeam: id, shifts: await listShifts(id, from) };
      },
    );
    app.post(
      '/api/v1/care-teams/:id/on-call',
      { preValidation: admin, config: { auditSelf: true }, schema: { params: Id, body: Shift } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const b = request.body as { userId: string; role?: string; start: string; end: string };
        await careTeamMustExist(id);
        const user = await ctx.users.byId(b.userId);
        if (!user) throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user ${b.userId}`, 404);
        if (!user.practitionerId || !user.roles.some((r) => acknowledgers.includes(r as Role)))
          throw new VigilError(
            'VIGIL_ERR_ONCALL_USER_INVALID',
            'an on-call shift is held by a clinician or nurse account linked to a Practitioner',
            400,
          );
        if (Date.parse(b.end) <= Date.parse(b.start))
          throw new VigilError('VIGIL_ERR_ONCALL_PERIOD_INVALID', 'end must be after start', 400);
        if (Date.parse(b.end) - Date.parse(b.start) > 31 * 86_400_000)
          throw new VigilError('VIGIL_ERR_ONCALL_PERIOD_INVALID', 'a shift lasts at most 31 days', 400);
        const shiftId = newId();
        await ctx.db.query(
          `insert into care_team_on_call (id, care_team_id, user_id, role, starts_at, ends_at, created_by)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [shiftId, id, b.userId, (b.role ?? 'on-call').toLowerCase(), b.start, b.end, me(request)],
        );
        await succeeded(request, accountChange('on-call-shift'), {
          entities: [
            { type: 'CareTeam', id },
            { type: 'User', id: b.userId },
          ],
        });
        const shifts = await listShifts(id, new Date(0).toISOString());
        return reply.status(201).send({ shift: shifts.find((s) => s.id === shiftId) });
      },
    );
    app.delete(
      '/api/v1/care-teams/:id/on-call/:shiftId',
      {
        preValidation: admin,
        config: { auditSelf: true },
        schema: {
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 64 }),
            shiftId: Type.String({ format: 'uuid' }),
          }),
        },
      },
      async (request, reply) => {
        const { id, shiftId } = request.params as { id: string; shiftId: string };
        const rows = await ctx.db.query(
          'delete from care_team_on_call where id = $1 and care_team_id = $2 returning id',
          [shiftId, id],
        );
        if (rows.length === 0)
          throw new VigilError('VIGIL_ERR_ONCALL_SHIFT_NOT_FOUND', `no shift ${shiftId} in ${id}`, 404);
        await succeeded(request, accountChange('on-call-shift-removed'), {
          entities: [{ type: 'CareTeam', id }],
        });
        return reply.status(204).send();
      },
    );

    // ── acknowledge from a notification ────────────────────────────────────────────────────
    /** Checks a link and who it was sent to, as for an acknowledge in the dashboard; returns the alert. */
    const grantFor = async (request: FastifyRequest, token: string) => {
      const g = await o.ackLinks.verify(token);
      const u = await ctx.users.byId(g.userId);
      if (!u || u.disabled || !u.roles.some((r) => acknowledgers.includes(r as Role)))
        throw new VigilError('VIGIL_ERR_ALERT_ACK_LINK_INVALID', 'this acknowledge link is not valid', 400);
      const principal = principalOfAccount(u);
      request.principal = principal;
      request.auditEntityId = g.alertId;
      const alert = await o.alerting.repo.get(g.alertId);
      if (!alert) throw new VigilError('VIGIL_ERR_ALERT_NOT_FOUND', `no alert ${g.alertId}`, 404);
      request.auditPatientId = alert.patientId;
      if (!(await canSeePatient(principal, alert.patientId)))
        throw new VigilError(
          'VIGIL_ERR_ALERT_FORBIDDEN',
          'you may no longer see the alerts of this patient',
          403,
        );
      return { alert, principal };
    };
    const acknowledge = async (request: FastifyRequest, token: string) => {
      const { alert, principal } = await grantFor(request, token);
      const r = await o.alerting.manager.act(
        alert.id,
        { type: 'acknowledge', note: 'acknowledged from a notification link' },
        { kind: 'user', id: principal.id, name: principal.username },
      );
      request.log.info(
        { alertId: alert.id, changed: r.event !== null, event: 'alert-action' },
        'alert acknowledged by link',
      );
      return { alert: r.alert, changed: r.event !== null };
    };
    const Token = Type.Object({ token: Type.String({ minLength: 1, maxLength: 2048 }) });
    const html = (reply: FastifyReply, status: number, body: string) =>
      reply
        .status(status)
        .header('content-security-policy', pageCsp())
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .type('text/html; charset=utf-8')
        .send(body);
    const pageError = (reply: FastifyReply, e: unknown) => {
      if (!(e instanceof VigilError)) throw e;
      return html(reply, e.status, ackDonePage({ ok: false, message: e.message }));
    };
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_req, _body, done) => done(null, {}),
    );
    // The page a link opens: it changes nothing (mail scanners and previews follow links).
    app.get(
      '/ack',
      {
        config: { audit: { entity: 'Flag', subtype: 'acknowledge-link-page' } },
        schema: { querystring: Token },
      },
      async (request, reply) => {
        try {
          const { alert } = await grantFor(request, (request.query as { token: string }).token);
          return html(reply, 200, ackPage({ alert }));
        } catch (e) {
          return pageError(reply, e);
        }
      },
    );
    app.post(
      '/ack',
      {
        config: { audit: { entity: 'Flag', action: 'U', subtype: 'acknowledge-link' } },
        schema: { querystring: Token },
      },
      async (request, reply) => {
        try {
          const r = await acknowledge(request, (request.query as { token: string }).token);
          return html(reply, 200, ackDonePage({ ok: true, alert: r.alert, changed: r.changed }));
        } catch (e) {
          return pageError(reply, e);
        }
      },
    );
    // The push notification's "Acknowledge" action (the dashboard's service worker).
    app.post(
      '/api/v1/alerts/acknowledge-with-link',
      {
        config: { audit: { entity: 'Flag', action: 'U', subtype: 'acknowledge-link' } },
        schema: { body: Token },
      },
      async (request) => acknowledge(request, (request.body as { token: string }).token),
    );
  };
}
