import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import type { WebSocket } from 'ws';
import type { AlertChange } from '../../../alerts/alert-manager.ts';
import type { DeliveryResult } from '../../../alerts/notifier.ts';
import type { AuditInput } from '../../../audit/audit-event.ts';
import type { Principal } from '../../../auth/token-service.ts';
import type { Clock } from '../../../core/clock.ts';
import { errorMessage } from '../../../core/errors.ts';
import { newId } from '../../../core/ids.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Reading } from '../../../core/reading.ts';
import type { DeliveryRow } from '../../../store/alert-repository.ts';
import type { Database, Sql } from '../../../store/database.ts';
import {
  FhirSubscriptionRepository,
  type NewSubscriptionEvent,
  type SubscriptionEventRow,
  type SubscriptionRow,
} from '../../../store/fhir-subscription-repository.ts';
import type { ResourceStore } from '../resource-store.ts';
import { type NotificationType, type NotifiedEvent, notificationBundle } from './notification.ts';
import { type PayloadContent, parseSubscription, type SubscriptionSpec } from './subscription-input.ts';
import { type Topic, topicByUrl } from './topics.ts';
import { WebSocketBindings } from './websocket.ts';

/** The access policy's answers Subscriptions need (src/auth/access-policy.ts). */
export interface SubscriberAccess {
  /** May `p` read `resourceType` data of this patient now (care team, scopes, consent)? */
  mayRead(p: Principal, patientId: string, resourceType: string): Promise<boolean>;
  /** The patients `p` may read: 'all' or a set (consent is decided per patient by mayRead). */
  readable(p: Principal, resourceType: string): Promise<'all' | Set<string>>;
}

/** A live subscription as the event matchers see it (refreshed from the store). */
interface Live {
  row: SubscriptionRow;
  spec: SubscriptionSpec;
  owner: Principal;
  readable: 'all' | Set<string>;
}

/** How long a notification is retried before it expires (the event stays, for `$events`). */
export const deliveryExpiryMs = 24 * 3600_000;
/** How often the live subscriptions (and what their owners may read) are read again. */
export const refreshMs = 5_000;

const alertEvent = (c: AlertChange) =>
  c.event.type === 'raised' || c.event.type === 'acknowledged' || c.event.type === 'resolved';

/** The owner of a subscription, kept with it: what the access policy decides on (no token). */
function ownerOf(p: Principal): Record<string, unknown> {
  return {
    kind: p.kind,
    id: p.id,
    roles: p.roles,
    scopes: p.scopes,
    ...(p.username ? { username: p.username } : {}),
    ...(p.patientId ? { patientId: p.patientId } : {}),
    ...(p.practitionerId ? { practitionerId: p.practitionerId } : {}),
    ...(p.smartClientId ? { smartClientId: p.smartClientId } : {}),
    ...(p.launchPatient ? { launchPatient: p.launchPatient } : {}),
  };
}

export const ownerKey = (p: Pick<Principal, 'kind' | 'id'>) => `${p.kind}:${p.id}`;

/**
 * FHIR Subscriptions (R4 Subscriptions Backport IG, topic-based, rest-hook): stores them, records
 * numbered events in the transactions that store readings and alert changes, and sends
 * notifications as a channel of the alert outbox (the webhooks' durable queue: claim, retries with
 * backoff, attempt log, expiry). docs/fhir.md (Subscriptions), docs/adr/0017.
 */
export class Subscriptions {
  readonly repo: FhirSubscriptionRepository;
  /** The websocket channel's binding tokens and bound sockets. */
  readonly ws: WebSocketBindings;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #access: SubscriberAccess;
  readonly #store: ResourceStore;
  readonly #baseUrl: string | undefined;
  readonly #audit: ((input: AuditInput) => void) | undefined;
  /** Settings of stored subscriptions by id (they are never updated, so parsed once). */
  readonly #specs = new Map<string, SubscriptionSpec>();
  #live: Live[] = [];
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(o: {
    db: Database;
    clock: Clock;
    log: Logger;
    access: SubscriberAccess;
    store: ResourceStore;
    /** Absolute FHIR base for references in notifications (VIGIL_PUBLIC_URL + /fhir). */
    baseUrl: string | undefined;
    /** Records the disclosure of each event notification (the audit log). */
    audit?: (input: AuditInput) => void;
  }) {
    this.#audit = o.audit;
    this.repo = new FhirSubscriptionRepository(o.db);
    this.ws = new WebSocketBindings(o.clock);
    this.#clock = o.clock;
    this.#log = o.log.child({ component: 'fhir-subscriptions' });
    this.#access = o.access;
    this.#store = o.store;
    this.#baseUrl = o.baseUrl;
  }

  /** Reads the live subscriptions, then again every `refreshMs`; heartbeats are queued on the way. */
  async start(o: { heartbeats: boolean; intervalMs?: number }): Promise<void> {
    await this.refresh();
    const intervalMs = o.intervalMs ?? refreshMs;
    const tick = () => {
      this.#timer = setTimeout(async () => {
        await this.refresh();
        if (o.heartbeats) await this.#queueHeartbeats();
        if (this.#timer) tick();
      }, intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the live subscriptions and what each owner may read (never inside a transaction). */
  async refresh(): Promise<void> {
    const run = async () => {
      try {
        const rows = await this.repo.live();
        const live: Live[] = [];
        for (const row of rows) {
          const spec = this.#specOf(row);
          if (!spec) continue;
          const owner = row.owner as unknown as Principal;
          live.push({
            row,
            spec,
            owner,
            readable: await this.#access.readable(owner, spec.topic.resourceType),
          });
        }
        this.#live = live;
      } catch (e) {
        this.#log.error({ err: errorMessage(e) }, 'could not read the live subscriptions');
      }
    };
    // One refresh at a time; a call during one waits for a fresh one after it.
    const prev = this.#refreshing ?? Promise.resolve();
    const next = prev.then(run);
    this.#refreshing = next;
    await next;
  }

  #specOf(row: SubscriptionRow): SubscriptionSpec | undefined {
    const known = this.#specs.get(row.id);
    if (known) return known;
    try {
      // Stored resources were accepted: parsed again for their settings ('end' is checked at events).
      const { end: _end, ...r } = row.resource as Record<string, unknown>;
      const spec = parseSubscription({ ...r, status: 'requested' }, 0);
      const out = { ...spec, end: (row.resource['end'] as string | undefined) ?? null };
      this.#specs.set(row.id, out);
      return out;
    } catch (e) {
      this.#log.error({ subscriptionId: row.id, err: errorMessage(e) }, 'stored subscription cannot be read');
      return undefined;
    }
  }

  #matching(topic: Topic['key'], patientId: string, atMs: number): Live[] {
    return this.#live.filter(
      (l) =>
        l.spec.topic.key === topic &&
        (l.spec.patientId === null || l.spec.patientId === patientId) &&
        (l.readable === 'all' || l.readable.has(patientId)) &&
        (l.spec.end === null || Date.parse(l.spec.end) > atMs),
    );
  }

  /** In the ingest commit's transaction: an event per stored reading of a patient per matching subscription. */
  readonly onReadings = async (sql: Sql, readings: readonly Reading[]): Promise<void> => {
    if (this.#live.length === 0) return;
    const now = this.#clock.now();
    const events: NewSubscriptionEvent[] = [];
    for (const r of readings) {
      if (!r.patientId) continue;
      for (const l of this.#matching('observation', r.patientId, now))
        events.push({
          subscriptionId: l.row.id,
          focus: `Observation/${r.id}`,
          patientId: r.patientId,
          at: r.received,
        });
    }
    await this.#record(sql, events, now);
  };

  /** Whether any of these alert changes is an event of a live subscription. */
  readonly wantsAlertChanges = (changes: readonly AlertChange[]): boolean => {
    if (this.#live.length === 0) return false;
    const now = this.#clock.now();
    return changes.some((c) => alertEvent(c) && this.#matching('alert', c.alert.patientId, now).length > 0);
  };

  /** In the alert change's transaction: raised, acknowledged and resolved alerts are events. */
  readonly onAlertChanges = async (sql: Sql, changes: readonly AlertChange[]): Promise<void> => {
    if (this.#live.length === 0) return;
    const now = this.#clock.now();
    const events: NewSubscriptionEvent[] = [];
    for (const c of changes) {
      if (!alertEvent(c)) continue;
      for (const l of this.#matching('alert', c.alert.patientId, now))
        events.push({
          subscriptionId: l.row.id,
          focus: `Flag/${c.alert.id}`,
          patientId: c.alert.patientId,
          at: c.event.at,
        });
    }
    await this.#record(sql, events, now);
  };

  async #record(sql: Sql, events: NewSubscriptionEvent[], now: number): Promise<void> {
    if (events.length === 0) return;
    await this.repo.recordEvents(
      sql,
      events,
      new Date(now).toISOString(),
      new Date(now + deliveryExpiryMs).toISOString(),
    );
  }

  /** Checks a Subscription (throws 400/422 OperationOutcomes). */
  parse(body: unknown): SubscriptionSpec {
    return parseSubscription(body, this.#clock.now());
  }

  mayRead(p: Principal, patientId: string, resourceType: string): Promise<boolean> {
    return this.#access.mayRead(p, patientId, resourceType);
  }

  /** Creates a subscription for `owner` (checked by the caller); its handshake is queued with it. */
  async create(owner: Principal, body: unknown, spec: SubscriptionSpec): Promise<SubscriptionRow> {
    const now = this.#clock.now();
    const id = newId();
    const at = new Date(now).toISOString();
    const resource = {
      ...(body as Subscription),
      id,
      status: 'requested',
      meta: {
        versionId: '1',
        lastUpdated: at,
        profile: [`http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription`],
      },
    } as Record<string, unknown>;
    await this.repo.create(
      {
        id,
        resource,
        topic: spec.topic.url,
        status: 'requested',
        owner: ownerOf(owner),
        ownerId: ownerKey(owner),
        filterPatient: spec.patientId,
        createdAt: at,
        updatedAt: at,
      },
      new Date(now + deliveryExpiryMs).toISOString(),
    );
    return (await this.repo.get(id)) as SubscriptionRow;
    // Not live until the handshake succeeds (or fails: then its events wait in error).
  }

  async delete(id: string): Promise<boolean> {
    const gone = await this.repo.delete(id, new Date(this.#clock.now()).toISOString());
    this.#live = this.#live.filter((l) => l.row.id !== id);
    this.#specs.delete(id);
    this.ws.drop(id);
    return gone;
  }

  /** The Subscription resource as served: its stored body with the current status. */
  resourceOf(row: SubscriptionRow): Subscription {
    return {
      ...(row.resource as unknown as Subscription),
      status: row.status,
      ...(row.lastError ? { error: row.lastError } : {}),
      meta: { ...((row.resource['meta'] as object) ?? {}), lastUpdated: row.updatedAt },
    } as Subscription;
  }

  /** Events of a subscription between two numbers that its owner may still read (for `$events`). */
  async readableEvents(row: SubscriptionRow, since: number, until: number, limit: number) {
    const rows = await this.repo.events(row.id, since, until, limit);
    const owner = row.owner as unknown as Principal;
    const type = topicByUrl(row.topic)?.resourceType ?? 'Observation';
    const decided = new Map<string, boolean>();
    const out: SubscriptionEventRow[] = [];
    for (const e of rows) {
      if (!e.patientId) continue;
      let ok = decided.get(e.patientId);
      if (ok === undefined) {
        ok = await this.#access.mayRead(owner, e.patientId, type);
        decided.set(e.patientId, ok);
      }
      if (ok) out.push(e);
    }
    return out;
  }

  /** The focus resources of events (for full-resource content); missing ones are left out. */
  async withResources(
    events: readonly SubscriptionEventRow[],
    content: PayloadContent,
  ): Promise<NotifiedEvent[]> {
    const out: NotifiedEvent[] = [];
    for (const e of events) {
      let resource: Resource | undefined;
      if (content === 'full-resource') {
        const [type, id] = e.focus.split('/') as ['Observation' | 'Flag', string];
        const f = await this.#store.for(type).read(this.repo.db, id);
        if (f?.kind === 'found') resource = f.stored.resource;
      }
      out.push({ eventNumber: e.eventNumber, at: e.at, focus: e.focus, resource });
    }
    return out;
  }

  /** A Bundle of the subscription's status (or events) as the backport's operations answer. */
  bundle(
    row: SubscriptionRow,
    type: NotificationType,
    events: readonly NotifiedEvent[],
    content: PayloadContent,
    status = row.status,
  ): Bundle {
    return notificationBundle(
      {
        subscriptionId: row.id,
        baseUrl: this.#baseUrl,
        topic: row.topic,
        status,
        type,
        eventsSinceStart: row.eventsSinceStart,
        events,
        content,
        error: row.lastError,
      },
      new Date(this.#clock.now()).toISOString(),
    );
  }

  /**
   * `bind-with-token <token>` on the websocket: binds the socket to the token's subscription (if it
   * still exists, is a websocket one and the token's caller still owns it) and answers its handshake.
   */
  async bindWithToken(token: string, socket: WebSocket): Promise<Bundle | undefined> {
    const b = this.ws.take(token);
    if (!b) return undefined;
    const row = await this.repo.get(b.subscriptionId);
    if (!row || row.status === 'off' || (!b.anyOwner && row.ownerId !== b.ownerId)) return undefined;
    const spec = this.#specOf(row);
    if (spec?.channel !== 'websocket') return undefined;
    this.ws.bind(row.id, socket);
    return this.bundle(row, 'handshake', [], spec.content);
  }

  /** The outbox channel: sends one handshake, heartbeat or event notification. */
  readonly deliver = async (d: DeliveryRow): Promise<DeliveryResult> => {
    const row = await this.repo.get(d.target);
    if (!row || row.status === 'off')
      return { ok: false, permanent: true, error: 'subscription deleted or off' };
    const spec = this.#specOf(row);
    if (!spec) return { ok: false, permanent: true, error: 'subscription cannot be read' };
    let bundle: Bundle;
    let patientId: string | null = null;
    if (d.subscriptionKind === 'event-notification') {
      const e = d.eventNumber == null ? undefined : await this.repo.event(row.id, d.eventNumber);
      patientId = e?.patientId ?? null;
      if (!e) return { ok: false, permanent: true, error: 'event not stored' };
      // Access again at delivery: a care-team, scope or consent change since the event applies now.
      const [readable] = await this.readableEvents(row, e.eventNumber, e.eventNumber, 1);
      if (!readable) return { ok: false, permanent: true, error: 'the subscriber may not read this patient' };
      bundle = this.bundle(
        row,
        'event-notification',
        await this.withResources([e], spec.content),
        spec.content,
        'active',
      );
    } else {
      const type = d.subscriptionKind === 'heartbeat' ? 'heartbeat' : 'handshake';
      bundle = this.bundle(row, type, [], spec.content, type === 'handshake' ? 'requested' : 'active');
    }
    let result: DeliveryResult;
    if (spec.channel === 'websocket') {
      // The handshake is sent to each socket as it binds; here it only activates the subscription.
      // Nothing bound: the event stays numbered for `$events` (the client catches up after binding).
      const sent = d.subscriptionKind === 'handshake' ? 0 : this.ws.send(row.id, bundle);
      if (sent === 0) {
        if (row.status !== 'active') {
          await this.repo.setStatus(row.id, 'active', new Date(this.#clock.now()).toISOString(), null);
          await this.refresh();
        }
        return { ok: true };
      }
      result = { ok: true };
    } else result = await post(spec, bundle);
    if (d.subscriptionKind === 'event-notification' && this.#audit) {
      // Each event notification discloses the patient's data to the subscriber: one audit record.
      const owner = row.owner as unknown as Principal;
      const focus = bundle.entry?.[1]?.fullUrl?.split('/').slice(-2) ?? [];
      this.#audit({
        kind: 'rest',
        subtype: 'subscription-notification',
        action: 'R',
        outcome: result.ok ? 'success' : 'minor',
        ...(result.ok ? {} : { outcomeDesc: result.error ?? 'delivery failed' }),
        agent: { kind: owner.kind, id: owner.id, roles: owner.roles },
        patientId,
        entities: [
          { type: 'Subscription', id: row.id },
          ...(focus.length === 2 ? [{ type: focus[0] as string, id: focus[1] as string }] : []),
        ],
      });
    }
    const at = new Date(this.#clock.now()).toISOString();
    if (result.ok) {
      await this.repo.markSent(row.id, at);
      if (row.status !== 'active') {
        await this.repo.setStatus(row.id, 'active', at, null);
        await this.refresh();
      }
    } else if (row.status !== 'error') {
      await this.repo.setStatus(row.id, 'error', at, result.error ?? 'delivery failed');
      if (row.status === 'requested') await this.refresh(); // its events are recorded from now on
    }
    return result;
  };

  async #queueHeartbeats(): Promise<void> {
    try {
      const now = this.#clock.now();
      const due = await this.repo.heartbeatsDue(new Date(now).toISOString());
      for (const id of due)
        await this.repo.queue(
          this.repo.db,
          id,
          'heartbeat',
          new Date(now).toISOString(),
          new Date(now + deliveryExpiryMs).toISOString(),
        );
    } catch (e) {
      this.#log.error({ err: errorMessage(e) }, 'could not queue heartbeats');
    }
  }
}

/** POSTs a notification to a rest-hook endpoint with the subscription's headers and timeout. */
async function post(spec: SubscriptionSpec, bundle: Bundle): Promise<DeliveryResult> {
  try {
    const headers: Record<string, string> = {};
    for (const [k, v] of spec.headers) headers[k] = v;
    headers['content-type'] = spec.contentType;
    headers['user-agent'] = 'Vigil-Subscriptions/1';
    const res = await fetch(spec.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(bundle),
      redirect: 'manual',
      signal: AbortSignal.timeout(spec.timeoutSeconds * 1000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
    return { ok: false, statusCode: res.status, error: `HTTP ${res.status}` };
  } catch (e) {
    const err = e as { name?: string; cause?: { code?: string }; message?: string };
    return {
      ok: false,
      error: err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code ?? err.message ?? 'network error'),
    };
  }
}
