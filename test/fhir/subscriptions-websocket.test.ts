import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import type { Json } from './harness.ts';

/**
 * The websocket channel of FHIR Subscriptions (R4 Backport IG), on PGlite and PostgreSQL, with a
 * real websocket client: `$get-ws-binding-token`, `bind-with-token` answered by the handshake, an
 * event-notification Bundle for a new Observation, refusal of a used or foreign token, and nothing
 * sent to a subscriber who may not read the patient.
 */

const backport = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const observationTopic = 'https://vigil.example.org/fhir/SubscriptionTopic/patient-observation';
const adminPassword = 'subscriptions-ws-test-password';

async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  // Polls until the condition holds; the bound only stops a broken run from hanging.
  for (let i = 0; i < 400; i++) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A websocket client that records every message (parsed JSON) and its close code. */
class Client {
  readonly got: Json[] = [];
  closed: number | undefined;
  readonly socket: WebSocket;
  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (d) => this.got.push(JSON.parse(String(d))));
    this.socket.on('close', (code) => {
      this.closed = code;
    });
  }
  open(): Promise<void> {
    return new Promise((r, j) => {
      this.socket.once('open', () => r());
      this.socket.once('error', j);
    });
  }
  bundles(type: string): Json[] {
    return this.got.filter(
      (m) =>
        m.resourceType === 'Bundle' &&
        m.entry[0].resource.parameter.find((p: Json) => p.name === 'type')?.valueCode === type,
    );
  }
}

const wsSubscription = (filter?: string): Json => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'test',
  criteria: observationTopic,
  ...(filter
    ? { _criteria: { extension: [{ url: `${backport}/backport-filter-criteria`, valueString: filter }] } }
    : {}),
  channel: {
    type: 'websocket',
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: `${backport}/backport-payload-content`, valueCode: 'id-only' }] },
  },
});

for (const kind of ['pglite', 'postgres'] as const) {
  const skip =
    kind === 'postgres' && !testDatabaseUrl
      ? 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL run skipped'
      : false;
  describe(`FHIR Subscriptions websocket channel [${kind}]`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-subs-ws-'));
    let drop: (() => Promise<void>) | undefined;
    let vigil: Vigil;
    let admin = '';
    let nurse = '';
    let secret = '';
    let patient = '';
    const clients: Client[] = [];

    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${vigil.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined
            ? { 'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }
            : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
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
    const ingest = async (tag: string) => {
      const res = await fetch(`${vigil.httpUrl}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            messageId: tag,
            time: new Date().toISOString(),
            type: 'blood-pressure',
            unit: 'mmHg',
            components: { systolic: 120, diastolic: 80 },
          },
        ]),
      });
      assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
    };
    const token = async (caller: string, id: string) => {
      const r = await call(caller, 'POST', `/fhir/Subscription/${id}/$get-ws-binding-token`);
      return r;
    };
    const connect = async (url: string) => {
      const c = new Client(url);
      clients.push(c);
      await c.open();
      return c;
    };
    const param = (r: Json, name: string) => r.parameter.find((p: Json) => p.name === name);

    before(async () => {
      let dbUrl: string | undefined;
      if (kind === 'postgres') {
        const fresh = await createFreshPostgresDatabase();
        dbUrl = fresh.url;
        drop = fresh.drop;
      }
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
      patient = (
        await call(admin, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Ws' }] })
      ).json.id;
      const reg = await call(admin, 'POST', '/api/v1/devices', {
        id: 'cuff-ws',
        kind: 'blood-pressure-cuff',
      });
      assert.equal(reg.status, 201, reg.text);
      secret = reg.json.secret;
      const asg = await call(admin, 'POST', '/api/v1/devices/cuff-ws/assignments', {
        patientId: patient,
        start: new Date(Date.now() - 3600_000).toISOString(),
      });
      assert.equal(asg.status, 201, asg.text);
      const pr = await call(admin, 'POST', '/fhir/Practitioner', {
        resourceType: 'Practitioner',
        name: [{ family: 'N' }],
      });
      const u = await call(admin, 'POST', '/api/v1/users', {
        username: 'ws-nurse',
        roles: ['nurse'],
        practitionerId: pr.json.id,
      });
      assert.equal(u.status, 201, u.text);
      nurse = await signIn('ws-nurse', u.json.password);
    });
    after(async () => {
      for (const c of clients) c.socket.terminate();
      await vigil?.stop();
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('binds with a token and receives the handshake and an event notification', async () => {
      const sub = await call(admin, 'POST', '/fhir/Subscription', wsSubscription());
      assert.equal(sub.status, 201, sub.text);
      const t = await token(admin, sub.json.id);
      assert.equal(t.status, 200, t.text);
      assert.equal(t.json.resourceType, 'Parameters');
      const wsUrl = param(t.json, 'websocket-url').valueUrl as string;
      assert.match(wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/fhir\/ws$/);
      assert.ok(!wsUrl.includes(param(t.json, 'token').valueString), 'no token in the URL');
      assert.equal(param(t.json, 'subscription').valueString, sub.json.id);
      assert.ok(Date.parse(param(t.json, 'expiration').valueDateTime) > Date.now() - 60_000);

      const c = await connect(wsUrl);
      c.socket.send(`bind-with-token ${param(t.json, 'token').valueString}`);
      const [hs] = await waitFor('handshake', () =>
        c.bundles('handshake').length > 0 ? c.bundles('handshake') : undefined,
      );
      const ref = hs.entry[0].resource.parameter.find((p: Json) => p.name === 'subscription').valueReference;
      assert.ok(ref.reference.endsWith(`Subscription/${sub.json.id}`));
      await waitFor('active', async () => {
        const s = await call(admin, 'GET', `/fhir/Subscription/${sub.json.id}`);
        return s.json.status === 'active' || undefined;
      });
      await ingest('ws-1');
      const [ev] = await waitFor('event', () =>
        c.bundles('event-notification').length > 0 ? c.bundles('event-notification') : undefined,
      );
      assert.equal(ev.type, 'history');
      assert.match(ev.entry[1].fullUrl, /Observation\//);

      // The token binds once.
      const again = await connect(wsUrl);
      again.socket.send(`bind-with-token ${param(t.json, 'token').valueString}`);
      await waitFor('refusal', () => again.closed);
      assert.equal(again.closed, 4401);
      assert.equal(again.got[0].resourceType, 'OperationOutcome');
    });

    it('refuses a token for someone else, and sends nothing the subscriber may not read', async () => {
      const adminSub = await call(admin, 'POST', '/fhir/Subscription', wsSubscription());
      // Someone else's subscription is not found: no token.
      assert.equal((await token(nurse, adminSub.json.id)).status, 404);
      // The nurse (in no care team) binds her own subscription: it is live, but carries no event.
      const nurseSub = await call(nurse, 'POST', '/fhir/Subscription', wsSubscription());
      assert.equal(nurseSub.status, 201, nurseSub.text);
      const t = await token(nurse, nurseSub.json.id);
      assert.equal(t.status, 200, t.text);
      const c = await connect(param(t.json, 'websocket-url').valueUrl);
      c.socket.send(`bind-with-token ${param(t.json, 'token').valueString}`);
      await waitFor('handshake', () => c.bundles('handshake').length > 0);
      await waitFor('active', async () => {
        const s = await call(nurse, 'GET', `/fhir/Subscription/${nurseSub.json.id}`);
        return s.json.status === 'active' || undefined;
      });
      // A watcher bound to the admin's subscription tells when the event has been delivered.
      const at = await token(admin, adminSub.json.id);
      const w = await connect(param(at.json, 'websocket-url').valueUrl);
      w.socket.send(`bind-with-token ${param(at.json, 'token').valueString}`);
      await waitFor('handshake', () => w.bundles('handshake').length > 0);
      await waitFor('active', async () => {
        const s = await call(admin, 'GET', `/fhir/Subscription/${adminSub.json.id}`);
        return s.json.status === 'active' || undefined;
      });
      await ingest('ws-2');
      await waitFor('admin event', () => w.bundles('event-notification').length > 0);
      assert.equal(c.bundles('event-notification').length, 0, 'the nurse reads no patient');
      // Garbage is refused; an unbound socket is closed.
      const g = await connect(param(t.json, 'websocket-url').valueUrl);
      g.socket.send('bind-with-token not-a-token');
      await waitFor('close', () => g.closed);
      assert.equal(g.closed, 4401);
    });
  });
}
