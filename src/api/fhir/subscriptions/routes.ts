import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { requireFhirAccess } from '../access.ts';
import { badRequest, forbidden, methodNotAllowed, notFound, notSupported } from '../outcomes.ts';
import type { FhirRequest, FhirResponse, FhirServices } from '../types.ts';
import type { PayloadContent } from './subscription-input.ts';
import { ownerKey, type Subscriptions } from './subscriptions.ts';
import { topicAsBasic, topics } from './topics.ts';

/** Most events one `$events` call returns (ask again from the next number for more). */
export const maxEventsPerCall = 100;

const isAdmin = (req: FhirRequest) => req.principal.roles.includes('admin');

function service(svc: FhirServices): Subscriptions {
  if (!svc.subscriptions) throw notSupported('Subscriptions are not enabled on this worker');
  return svc.subscriptions;
}

/** The subscription if the caller owns it (admins: any); someone else's is not found (no oracle). */
async function owned(req: FhirRequest, s: Subscriptions, id: string) {
  const row = await s.repo.get(id);
  if (!row || (!isAdmin(req) && row.ownerId !== ownerKey(req.principal)))
    throw notFound(`Subscription/${id} is not known`);
  return row;
}

function searchset(base: string, resources: readonly object[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.map((r) => ({
      fullUrl: `${base}/${(r as { resourceType: string }).resourceType}/${(r as { id: string }).id}`,
      resource: r as never,
      search: { mode: 'match' },
    })),
  };
}

function eventNumber(raw: string | null, name: string): number | null {
  if (raw === null || raw === '') return null;
  if (!/^\d{1,15}$/.test(raw)) throw badRequest(`${name} must be an event number`, name);
  return Number(raw);
}

/**
 * GET /SubscriptionTopic (the topics as R4 Basic), and on Subscription: create, read, search
 * (the caller's own), delete, `$status`, `$events`. Updates are refused: delete and create again.
 */
export async function subscriptionRoute(
  req: FhirRequest,
  svc: FhirServices,
  seg: string[],
): Promise<FhirResponse> {
  const m = req.method === 'HEAD' ? 'GET' : req.method;
  const [type, id, op] = seg;
  const none = () => methodNotAllowed(`${req.method} is not supported on /${req.path}`);
  if (req.principal.kind === 'device') throw forbidden('devices may not use Subscriptions');
  if (type === 'SubscriptionTopic') {
    if (m !== 'GET') throw none();
    const list = topics
      .filter((t) => !req.query.get('url') || t.url === req.query.get('url'))
      .map(topicAsBasic);
    if (id === undefined) return { status: 200, resource: searchset(req.baseUrl, list) };
    const one = list.find((b) => b.id === id);
    if (!one || seg.length > 2) throw notFound(`SubscriptionTopic/${id} is not known`);
    return { status: 200, resource: one };
  }
  const s = service(svc);
  // Subscriptions keep their own transactions (and PGlite has one connection): not inside a Bundle's.
  if (svc.sql !== svc.db)
    throw notSupported('Subscription interactions are not allowed in a transaction Bundle');
  if (id === undefined) {
    if (m === 'POST') {
      const spec = s.parse(req.body);
      // May the caller read the topic's resource type at all (role, SMART scopes), and the
      // filter's patient? Events are decided again per patient as they happen and at delivery.
      requireFhirAccess(req.principal, 'search', spec.topic.resourceType);
      if (spec.patientId && !(await s.mayRead(req.principal, spec.patientId, spec.topic.resourceType)))
        throw forbidden(`not allowed to read ${spec.topic.resourceType} of Patient/${spec.patientId}`);
      const row = await s.create(req.principal, req.body, spec);
      return {
        status: 201,
        resource: s.resourceOf(row),
        headers: { location: `${req.baseUrl}/Subscription/${row.id}` },
      };
    }
    if (m === 'GET') {
      for (const k of req.query.keys()) {
        if (k === 'status' || k === '_format') continue;
        if (k.startsWith('status:'))
          throw notSupported(`modifier '${k.slice(7, 71)}' is not supported on status`);
        throw badRequest(
          `search parameter '${k.slice(0, 64)}' is not supported on Subscription (status only)`,
        );
      }
      const rows = await s.repo.list(isAdmin(req) ? null : ownerKey(req.principal), 500);
      const status = req.query.get('status');
      return {
        status: 200,
        resource: searchset(
          req.baseUrl,
          rows.filter((r) => !status || status.split(',').includes(r.status)).map((r) => s.resourceOf(r)),
        ),
      };
    }
    throw none();
  }
  if (op === undefined && seg.length === 2) {
    if (m === 'GET') return { status: 200, resource: s.resourceOf(await owned(req, s, id)) };
    if (m === 'DELETE') {
      await owned(req, s, id);
      await s.delete(id);
      return { status: 204 };
    }
    throw methodNotAllowed('Subscriptions are not updated: delete it and create a new one');
  }
  if (seg.length === 3 && op === '$status') {
    if (m !== 'GET') throw none();
    const row = await owned(req, s, id);
    const b = s.bundle(row, 'query-status', [], 'empty');
    return { status: 200, resource: { ...b, type: 'searchset' } };
  }
  if (seg.length === 3 && op === '$events') {
    if (m !== 'GET') throw none();
    const row = await owned(req, s, id);
    const since = eventNumber(req.query.get('eventsSinceNumber'), 'eventsSinceNumber') ?? 1;
    const until =
      eventNumber(req.query.get('eventsUntilNumber'), 'eventsUntilNumber') ?? row.eventsSinceStart;
    const content = (req.query.get('content') ?? 'id-only') as PayloadContent;
    if (content !== 'empty' && content !== 'id-only' && content !== 'full-resource')
      throw badRequest('content is empty, id-only or full-resource', 'content');
    const events = await s.readableEvents(row, since, until, maxEventsPerCall);
    return {
      status: 200,
      resource: s.bundle(row, 'query-event', await s.withResources(events, content), content),
    };
  }
  if (seg.length === 3 && op === '$get-ws-binding-token') {
    if (m !== 'GET' && m !== 'POST') throw none();
    const row = await owned(req, s, id);
    if (s.resourceOf(row).channel?.type !== 'websocket')
      throw badRequest('$get-ws-binding-token is for Subscriptions with a websocket channel');
    const { token, expiresAtMs } = s.ws.issue(ownerKey(req.principal), isAdmin(req), row.id);
    const wsUrl = `${req.baseUrl.replace(/^http/, 'ws')}/ws`;
    const out: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'token', valueString: token },
        { name: 'expiration', valueDateTime: new Date(expiresAtMs).toISOString() },
        { name: 'subscription', valueString: row.id },
        { name: 'websocket-url', valueUrl: wsUrl },
      ],
    };
    return { status: 200, resource: out, headers: { 'cache-control': 'no-store' } };
  }
  throw notFound(`no FHIR interaction at /${req.path}`);
}
