import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import type { Json } from './harness.ts';

/**
 * FHIR Subscriptions (R4 Subscriptions Backport IG) end to end, on PGlite and PostgreSQL: a local
 * rest-hook receiver gets the handshake and notifications for a new Observation (posted through
 * ingest) and an alert; events raised while the receiver is down survive a restart of Vigil;
 * `$events` replays a missed one; a subscriber without access to the patient gets nothing; invalid
 * Subscriptions are refused with OperationOutcomes.
 */

const backport = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const observationTopic = 'https://vigil.example.org/fhir/SubscriptionTopic/patient-observation';
const alertTopic = 'https://vigil.example.org/fhir/SubscriptionTopic/patient-alert';
const adminPassword = 'subscriptions-test-password';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Json;
}

/** A rest-hook endpoint: records every POST; answers 503 while `down`. */
class Receiver {
  readonly got: Received[] = [];
  down = false;
  readonly #server: Server;
  url = '';
  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (this.down) {
          res.writeHead(503).end();
          return;
        }
        this.got.push({
          path: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        });
        res.writeHead(200).end();
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
  at(path: string): Received[] {
    return this.got.filter((g) => g.path === path);
  }
}

/** The SubscriptionStatus parameters of a notification, by name. */
function status(bundle: Json): Record<string, Json> {
  const p = bundle.entry[0].resource;
  assert.equal(p.resourceType, 'Parameters');
  const events: Json[] = [];
  const out: Record<string, Json> = { events };
  for (const x of p.parameter) {
    if (x.name === 'notification-event') events.push(x.part);
    else out[x.name] = x.valueCode ?? x.valueString ?? x.valueCanonical ?? x.valueReference;
  }
  return out;
}

const part = (parts: Json[], name: string) => {
  const p = parts.find((x: Json) => x.name === name);
  return p?.valueString ?? p?.valueReference?.reference ?? p?.valueInstant;
};

async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  // Polls until the condition holds; the bound only stops a broken run from hanging.
  for (let i = 0; i < 400; i++) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function subscription(o: {
  topic: string;
  endpoint: string;
  filter?: string;
  content?: string;
  headers?: string[];
  heartbeat?: number;
}): Json {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria: o.topic,
    ...(o.filter
      ? { _criteria: { extension: [{ url: `${backport}/backport-filter-criteria`, valueString: o.filter }] } }
      : {}),
    channel: {
      type: 'rest-hook',
      endpoint: o.endpoint,
      payload: 'application/fhir+json',
      _payload: {
        extension: [{ url: `${backport}/backport-payload-content`, valueCode: o.content ?? 'id-only' }],
      },
      ...(o.headers ? { header: o.headers } : {}),
      ...(o.heartbeat
        ? { extension: [{ url: `${backport}/backport-heartbeat-period`, valueUnsignedInt: o.heartbeat }] }
        : {}),
    },
  };
}

for (const kind of ['pglite', 'postgres'] as const) {
  const skip =
    kind === 'postgres' && !testDatabaseUrl
      ? 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL run skipped'
      : false;
  describe(`FHIR Subscriptions [${kind}]`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-subs-'));
    let dbUrl: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    let vigil: Vigil;
    let admin = '';
    let nurse = '';
    let clinician = '';
    let teamId = '';
    let secret = '';
    let patientA = '';
    let patientB = '';
    let obsSub = '';
    let alertSub = '';
    let nurseSub = '';
    let alertId = '';
    const rx = new Receiver();

    const start = async () => {
      vigil = await startVigil(
        loadConfig({
          VIGIL_HTTP_PORT: '0',
          VIGIL_MQTT_PORT: '0',
          VIGIL_HTTP_HOST: '127.0.0.1',
          VIGIL_LOG_LEVEL: 'silent',
          VIGIL_ADMIN_PASSWORD: adminPassword,
          VIGIL_DATA_DIR: dir,
          ...(dbUrl ? { VIGIL_DATABASE_URL: dbUrl } : {}),
        }),
        { print: () => {} },
      );
      admin = await signIn('admin', adminPassword);
    };
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${vigil.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined
            ? { 'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }
            : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
    };
    const signIn = async (username: string, password: string) => {
      const r = await fetch(`${vigil.httpUrl}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      return ((await r.json()) as { access_token: string }).access_token;
    };
    const ingest = async (tag: string, systolic: number) => {
      const res = await fetch(`${vigil.httpUrl}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            messageId: tag,
            time: new Date().toISOString(),
            type: 'blood-pressure',
            unit: 'mmHg',
            components: { systolic, diastolic: 80 },
          },
        ]),
      });
      assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
    };
    /** Handshake delivered and recorded (the subscription is live once its attempt is logged). */
    const handshaken = async (id: string) => {
      await waitFor(`handshake of ${id}`, async () => {
        const rows = await vigil.db.query(
          `select 1 from alert_delivery where target = $1 and subscription_kind = 'handshake' and status = 'delivered'`,
          [id],
        );
        return rows.length > 0 || undefined;
      });
    };

    before(async () => {
      if (kind === 'postgres') {
        const fresh = await createFreshPostgresDatabase();
        dbUrl = fresh.url;
        drop = fresh.drop;
      }
      await rx.listen();
      await start();
      const mk = async () =>
        (await call(admin, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Sub' }] }))
          .json.id;
      patientA = await mk();
      patientB = await mk();
      const reg = await call(admin, 'POST', '/api/v1/devices', {
        id: 'cuff-subs',
        kind: 'blood-pressure-cuff',
      });
      assert.equal(reg.status, 201, reg.text);
      secret = reg.json.secret;
      const asg = await call(admin, 'POST', '/api/v1/devices/cuff-subs/assignments', {
        patientId: patientA,
        start: new Date(Date.now() - 3600_000).toISOString(),
      });
      assert.equal(asg.status, 201, asg.text);
      // A nurse in no care team: may subscribe, may read no patient.
      const pr = await call(admin, 'POST', '/fhir/Practitioner', {
        resourceType: 'Practitioner',
        name: [{ family: 'N' }],
      });
      const u = await call(admin, 'POST', '/api/v1/users', {
        username: 'subs-nurse',
        roles: ['nurse'],
        practitionerId: pr.json.id,
      });
      assert.equal(u.status, 201, u.text);
      nurse = await signIn('subs-nurse', u.json.password);
      // A clinician in patient A's care team (alerts are acknowledged by clinical staff).
      const doc = await call(admin, 'POST', '/fhir/Practitioner', {
        resourceType: 'Practitioner',
        name: [{ family: 'D' }],
      });
      const team = await call(admin, 'POST', '/fhir/CareTeam', {
        resourceType: 'CareTeam',
        status: 'active',
        subject: { reference: `Patient/${patientA}` },
        participant: [
          { role: [{ text: 'Clinician' }], member: { reference: `Practitioner/${doc.json.id}` } },
        ],
      });
      assert.equal(team.status, 201, team.text);
      teamId = team.json.id;
      const cu = await call(admin, 'POST', '/api/v1/users', {
        username: 'subs-doc',
        roles: ['clinician'],
        practitionerId: doc.json.id,
      });
      assert.equal(cu.status, 201, cu.text);
      clinician = await signIn('subs-doc', cu.json.password);
    });
    after(async () => {
      await vigil?.stop();
      await rx.close();
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('offers its topics as Basic and in the CapabilityStatement', async () => {
      const t = await call(admin, 'GET', '/fhir/SubscriptionTopic');
      assert.equal(t.status, 200);
      const urls = t.json.entry.map(
        (e: Json) => e.resource.extension.find((x: Json) => x.url.endsWith('.url')).valueUri,
      );
      assert.deepEqual(urls.sort(), [alertTopic, observationTopic].sort());
      const cs = await call(admin, 'GET', '/fhir/metadata');
      const sub = cs.json.rest[0].resource.find((r: Json) => r.type === 'Subscription');
      assert.deepEqual(
        sub.extension.map((e: Json) => e.valueCanonical).sort(),
        [alertTopic, observationTopic].sort(),
      );
      assert.deepEqual(sub.operation.map((o: Json) => o.name).sort(), ['events', 'status']);
    });

    it('handshakes a new rest-hook subscription and activates it', async () => {
      const c = await call(
        admin,
        'POST',
        '/fhir/Subscription',
        subscription({
          topic: observationTopic,
          endpoint: `${rx.url}/obs`,
          filter: `Observation?patient=Patient/${patientA}`,
          content: 'full-resource',
          headers: ['Authorization: Bearer receiver-secret'],
        }),
      );
      assert.equal(c.status, 201, c.text);
      assert.equal(c.json.status, 'requested');
      obsSub = c.json.id;
      await handshaken(obsSub);
      const [hs] = rx.at('/obs');
      assert.equal(hs?.headers['authorization'], 'Bearer receiver-secret');
      assert.equal(hs?.headers['content-type'], 'application/fhir+json');
      assert.equal(hs?.body.type, 'history');
      const st = status(hs?.body);
      assert.equal(st['type'], 'handshake');
      assert.equal(st['topic'], observationTopic);
      assert.equal(st['events-since-subscription-start'], '0');
      const r = await call(admin, 'GET', `/fhir/Subscription/${obsSub}`);
      assert.equal(r.json.status, 'active');
      // The nurse's subscription (no filter): handshaken too, but no patient is readable to her.
      const n = await call(
        nurse,
        'POST',
        '/fhir/Subscription',
        subscription({ topic: observationTopic, endpoint: `${rx.url}/nurse` }),
      );
      assert.equal(n.status, 201, n.text);
      nurseSub = n.json.id;
      await handshaken(nurseSub);
    });

    it('notifies a new Observation of the patient (ingest), numbered from 1, with the resource', async () => {
      await ingest('subs-1', 128);
      const got = await waitFor('observation notification', () =>
        rx.at('/obs').find((g) => status(g.body)['type'] === 'event-notification'),
      );
      const st = status(got.body);
      assert.equal(st['status'], 'active');
      assert.equal(st['events-since-subscription-start'], '1');
      assert.equal(st['events'].length, 1);
      assert.equal(part(st['events'][0], 'event-number'), '1');
      const obs = got.body.entry[1].resource;
      assert.equal(obs.resourceType, 'Observation');
      assert.equal(obs.subject.reference, `Patient/${patientA}`);
      assert.match(part(st['events'][0], 'focus'), new RegExp(`Observation/${obs.id}$`));
      // The disclosure to the subscriber is on the audit trail (who: the admin; what: the Observation).
      await waitFor('the audit record of the notification', async () => {
        const rows = await vigil.db.query(
          `select agent_id, entity_type from audit_event where subtype_code = 'subscription-notification'`,
        );
        return rows.length > 0 ? rows : undefined;
      });
    });

    it('notifies an alert raised and acknowledged (Flag focus)', async () => {
      const c = await call(
        admin,
        'POST',
        '/fhir/Subscription',
        subscription({
          topic: alertTopic,
          endpoint: `${rx.url}/alerts`,
          filter: `Flag?patient=Patient/${patientA}`,
        }),
      );
      assert.equal(c.status, 201, c.text);
      alertSub = c.json.id;
      await handshaken(alertSub);
      const raised = await call(admin, 'POST', '/api/v1/alerts', {
        patientId: patientA,
        severity: 'high',
        summary: 'concern raised by hand',
      });
      assert.equal(raised.status, 201, raised.text);
      alertId = raised.json.alert.id;
      // An alert of another patient is not this subscription's.
      await call(admin, 'POST', '/api/v1/alerts', {
        patientId: patientB,
        severity: 'high',
        summary: 'other',
      });
      const ack = await call(clinician, 'POST', `/api/v1/alerts/${alertId}/acknowledge`, {});
      assert.equal(ack.status, 200, ack.text);
      const events = await waitFor('two alert notifications', () => {
        const n = rx.at('/alerts').filter((g) => status(g.body)['type'] === 'event-notification');
        return n.length >= 2 ? n : undefined;
      });
      const numbers = events.map((g) => part(status(g.body)['events'][0], 'event-number')).sort();
      assert.deepEqual(numbers, ['1', '2']);
      for (const g of events) {
        assert.match(part(status(g.body)['events'][0], 'focus'), new RegExp(`Flag/${alertId}$`));
        assert.equal(g.body.entry[1].resource, undefined, 'id-only carries no resource');
        assert.match(g.body.entry[1].fullUrl, new RegExp(`Flag/${alertId}$`));
      }
    });

    it('keeps events raised while the receiver is down across a restart, and delivers them after', async () => {
      rx.down = true;
      await ingest('subs-2', 131);
      // The failed attempt is recorded (the subscription is in error) before Vigil stops.
      await waitFor('a failed attempt for event 2', async () => {
        const rows = await vigil.db.query(
          `select 1 from alert_delivery_attempt a join alert_delivery d on d.id = a.delivery_id
           where d.target = $1 and d.event_number = 2 and not a.ok`,
          [obsSub],
        );
        return rows.length > 0 || undefined;
      });
      assert.equal((await call(admin, 'GET', `/fhir/Subscription/${obsSub}`)).json.status, 'error');
      await vigil.stop();
      rx.down = false;
      await start();
      const got = await waitFor('event 2 after the restart', () =>
        rx
          .at('/obs')
          .find((g) => status(g.body)['events'].some((e: Json) => part(e, 'event-number') === '2')),
      );
      assert.equal(status(got.body)['events-since-subscription-start'], '2');
      await waitFor('active again', async () =>
        (await call(admin, 'GET', `/fhir/Subscription/${obsSub}`)).json.status === 'active'
          ? true
          : undefined,
      );
    });

    it('$status and $events: replays a missed event by number', async () => {
      const s = await call(admin, 'GET', `/fhir/Subscription/${obsSub}/$status`);
      assert.equal(s.status, 200, s.text);
      assert.equal(s.json.type, 'searchset');
      assert.equal(status(s.json)['type'], 'query-status');
      assert.equal(status(s.json)['events-since-subscription-start'], '2');
      const e = await call(
        admin,
        'GET',
        `/fhir/Subscription/${obsSub}/$events?eventsSinceNumber=1&eventsUntilNumber=1&content=full-resource`,
      );
      assert.equal(e.status, 200, e.text);
      const st = status(e.json);
      assert.equal(st['type'], 'query-event');
      assert.deepEqual(
        st['events'].map((x: Json) => part(x, 'event-number')),
        ['1'],
      );
      assert.equal(e.json.entry[1].resource.resourceType, 'Observation');
      assert.equal(e.json.entry[1].resource.subject.reference, `Patient/${patientA}`);
      const all = await call(admin, 'GET', `/fhir/Subscription/${obsSub}/$events`);
      assert.deepEqual(
        status(all.json)['events'].map((x: Json) => part(x, 'event-number')),
        ['1', '2'],
      );
      const bad = await call(admin, 'GET', `/fhir/Subscription/${obsSub}/$events?eventsSinceNumber=one`);
      assert.equal(bad.status, 400);
      assert.equal(bad.json.resourceType, 'OperationOutcome');
    });

    it('a subscriber without access to the patient gets nothing, and cannot see others’ subscriptions', async () => {
      // Both readings of patient A were delivered to the admin's subscription by now (tests above).
      assert.deepEqual(
        rx.at('/nurse').map((g) => status(g.body)['type']),
        ['handshake'],
      );
      const st = await call(nurse, 'GET', `/fhir/Subscription/${nurseSub}/$status`);
      assert.equal(status(st.json)['events-since-subscription-start'], '0');
      assert.equal((await call(nurse, 'GET', `/fhir/Subscription/${obsSub}`)).status, 404);
      assert.equal((await call(nurse, 'GET', `/fhir/Subscription/${obsSub}/$events`)).status, 404);
      const mine = await call(nurse, 'GET', '/fhir/Subscription');
      assert.deepEqual(
        mine.json.entry.map((e: Json) => e.resource.id),
        [nurseSub],
      );
      // Filtering on a patient she may not read is refused.
      const f = await call(
        nurse,
        'POST',
        '/fhir/Subscription',
        subscription({
          topic: observationTopic,
          endpoint: `${rx.url}/nurse`,
          filter: `Observation?patient=${patientA}`,
        }),
      );
      assert.equal(f.status, 403, f.text);
      assert.equal(f.json.resourceType, 'OperationOutcome');
    });

    it('notifies an Observation written through the FHIR API too', async () => {
      const w = await call(admin, 'POST', '/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${patientA}` },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
      });
      assert.equal(w.status, 201, w.text);
      const got = await waitFor('event 3', () =>
        rx
          .at('/obs')
          .find((g) => status(g.body)['events'].some((e: Json) => part(e, 'event-number') === '3')),
      );
      assert.equal(got.body.entry[1].resource.id, w.json.id);
    });

    it('decides access again at delivery: a clinician taken off the care team gets nothing more', async () => {
      const c = await call(
        clinician,
        'POST',
        '/fhir/Subscription',
        subscription({ topic: observationTopic, endpoint: `${rx.url}/doc` }),
      );
      assert.equal(c.status, 201, c.text);
      const docSub = c.json.id;
      await handshaken(docSub);
      await ingest('subs-3', 126);
      await waitFor('the clinician’s event 1', () =>
        rx
          .at('/doc')
          .find((g) => status(g.body)['events'].some((e: Json) => part(e, 'event-number') === '1')),
      );
      assert.equal((await call(admin, 'DELETE', `/fhir/CareTeam/${teamId}`)).status < 300, true);
      await ingest('subs-4', 127);
      // The admin's subscription got this reading (event 5); the clinician's has nothing pending.
      await waitFor('the admin’s event 5', () =>
        rx
          .at('/obs')
          .find((g) => status(g.body)['events'].some((e: Json) => part(e, 'event-number') === '5')),
      );
      await waitFor('no pending delivery for the clinician', async () => {
        const rows = await vigil.db.query(
          `select 1 from alert_delivery where target = $1 and status = 'pending'`,
          [docSub],
        );
        return rows.length === 0 || undefined;
      });
      assert.deepEqual(
        rx.at('/doc').flatMap((g) => status(g.body)['events'].map((e: Json) => part(e, 'event-number'))),
        ['1'],
      );
      const ev = await call(clinician, 'GET', `/fhir/Subscription/${docSub}/$events`);
      assert.equal(ev.status, 200, ev.text);
      assert.deepEqual(
        status(ev.json)['events'],
        [],
        'her replay shows nothing of a patient she may no longer read',
      );
    });

    it('refuses invalid Subscriptions with OperationOutcomes, never a 500', async () => {
      const ok = subscription({ topic: observationTopic, endpoint: `${rx.url}/x` });
      const cases: Array<[string, unknown, number]> = [
        ['not JSON', '{', 400],
        ['not a Subscription', { resourceType: 'Patient' }, 400],
        ['an array', [ok], 400],
        ['unknown topic', { ...ok, criteria: 'https://example.org/topic/other' }, 422],
        ['R4 criteria query', { ...ok, criteria: 'Observation?patient=Patient/x' }, 422],
        ['no channel', { ...ok, channel: undefined }, 400],
        ['websocket channel', { ...ok, channel: { ...ok.channel, type: 'websocket' } }, 400],
        ['email channel', { ...ok, channel: { ...ok.channel, type: 'email' } }, 400],
        ['endpoint not http', { ...ok, channel: { ...ok.channel, endpoint: 'ftp://example.org/' } }, 400],
        [
          'endpoint with credentials',
          { ...ok, channel: { ...ok.channel, endpoint: 'http://u:p@example.org/' } },
          400,
        ],
        ['status off', { ...ok, status: 'off' }, 400],
        [
          'filter on another type',
          subscription({ topic: observationTopic, endpoint: rx.url, filter: 'Flag?patient=x' }),
          400,
        ],
        [
          'filter on another parameter',
          subscription({ topic: observationTopic, endpoint: rx.url, filter: 'Observation?code=1' }),
          400,
        ],
        [
          'payload content unknown',
          subscription({ topic: observationTopic, endpoint: rx.url, content: 'everything' }),
          400,
        ],
        [
          'heartbeat too short',
          subscription({ topic: observationTopic, endpoint: rx.url, heartbeat: 1 }),
          400,
        ],
        [
          'header without colon',
          subscription({ topic: observationTopic, endpoint: rx.url, headers: ['nope'] }),
          400,
        ],
        [
          'header setting content-type',
          subscription({ topic: observationTopic, endpoint: rx.url, headers: ['Content-Type: text/plain'] }),
          400,
        ],
        ['end in the past', { ...ok, end: '2001-01-01T00:00:00Z' }, 400],
      ];
      for (const [what, body, code] of cases) {
        const r = await call(admin, 'POST', '/fhir/Subscription', body);
        assert.equal(r.status, code, `${what}: ${r.text}`);
        assert.equal(r.json?.resourceType, 'OperationOutcome', what);
      }
      assert.equal(
        (await call(admin, 'PUT', `/fhir/Subscription/${obsSub}`, { ...ok, id: obsSub })).status,
        405,
      );
      assert.equal((await call(admin, 'GET', '/fhir/Subscription/not-a-uuid')).status, 404);
      // Not inside a transaction Bundle (its entry fails, the Bundle answers an OperationOutcome).
      const tx = await call(admin, 'POST', '/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: ok, request: { method: 'POST', url: 'Subscription' } }],
      });
      assert.equal(tx.status, 400, tx.text);
      assert.equal(tx.json.resourceType, 'OperationOutcome');
    });

    it('sends heartbeats to an active subscription that has been quiet for its period', async () => {
      const c = await call(
        admin,
        'POST',
        '/fhir/Subscription',
        subscription({
          topic: alertTopic,
          endpoint: `${rx.url}/beat`,
          heartbeat: 10,
          filter: `Flag?patient=${patientB}`,
        }),
      );
      assert.equal(c.status, 201, c.text);
      const beat = await waitFor('a heartbeat', () =>
        rx.at('/beat').find((g) => status(g.body)['type'] === 'heartbeat'),
      );
      const st = status(beat.body);
      assert.equal(st['status'], 'active');
      assert.equal(st['events-since-subscription-start'], '0');
      assert.equal(beat.body.entry.length, 1);
      assert.equal(rx.at('/beat')[0]?.body && status(rx.at('/beat')[0]?.body)['type'], 'handshake');
      assert.equal((await call(admin, 'DELETE', `/fhir/Subscription/${c.json.id}`)).status, 204);
    });

    it('deletes a subscription: gone, and no further events', async () => {
      assert.equal((await call(admin, 'DELETE', `/fhir/Subscription/${alertSub}`)).status, 204);
      assert.equal((await call(admin, 'GET', `/fhir/Subscription/${alertSub}`)).status, 404);
      const rows = await vigil.db.query(
        'select count(*)::int as n from fhir_subscription_event where subscription_id = $1',
        [alertSub],
      );
      assert.equal(rows[0]?.['n'], 0);
    });
  });
}
