import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubProvisioningTarget } from '../../src/cli/commands/edge.ts';
import { loadConfig } from '../../src/config/config.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { EdgeGateway } from '../../src/edge/edge.ts';
import type { ProvisioningDocument } from '../../src/edge/wire.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { adminPassword, call, signIn, startTestVigil } from '../pipeline/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';

const until = async (what: string, ok: () => Promise<boolean>, tries = 150) => {
  for (let i = 0; i < tries; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
};

/**
 * Provisioning from the centre, end to end: a centre (on each database) and a hub in this process.
 * Devices registered, assigned and linked at the centre send to the hub after a sync; a revocation
 * or a reassignment at the centre reaches the hub at its next sync; with the centre down the hub
 * keeps the last list, across a restart too.
 */
for (const kind of ['pglite', 'postgres'] as const)
  describe(`edge provisioning from the centre [${kind}]`, {
    skip: kind === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let centre: Vigil;
    let centreUrl: string;
    let centreToken: string;
    let dropDb: (() => Promise<void>) | undefined;
    let hub: Vigil | undefined;
    let gateway: EdgeGateway | undefined;
    let hubToken: string;
    const hubDir = mkdtempSync(join(tmpdir(), 'vigil-hub-prov-'));
    const secrets: Record<string, string> = {};
    const patients: string[] = [];
    const t0 = Date.now() - 600_000;
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    let n = 0;

    const startHub = async () => {
      const config = loadConfig({
        VIGIL_HTTP_PORT: '0',
        VIGIL_HTTP_HOST: '127.0.0.1',
        VIGIL_MQTT_PORT: 'off',
        VIGIL_LOG_LEVEL: 'silent',
        VIGIL_ADMIN_PASSWORD: adminPassword,
        VIGIL_DATA_DIR: hubDir,
        VIGIL_EDGE_CENTRE_URL: centreUrl,
        VIGIL_EDGE_GATEWAY_ID: 'hub-1',
        VIGIL_EDGE_GATEWAY_SECRET: secrets['hub-1'] as string,
        VIGIL_EDGE_HEALTH_INTERVAL_SECONDS: '1',
        VIGIL_EDGE_RETRY_MAX_SECONDS: '1',
        VIGIL_EDGE_SYNC_SECONDS: '1',
      });
      assert.ok(config.edge);
      const log = createLogger('silent');
      gateway = new EdgeGateway({ config: config.edge, log, clock: systemClock, dataDir: hubDir });
      hub = await startVigil(config, { print: () => {}, onCommit: gateway.onCommit });
      gateway.start(hub.db, { provisioning: hubProvisioningTarget(hub) });
      hubToken = await signIn(hub.httpUrl);
    };
    const stopHub = async () => {
      await gateway?.stop();
      await hub?.stop();
      gateway = undefined;
      hub = undefined;
    };
    /** A reading sent to the hub with the device's own secret (issued by the centre). */
    const sendToHub = async (deviceId: string) => {
      const res = await fetch(`${(hub as Vigil).httpUrl}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secrets[deviceId]}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ messageId: `m${++n}`, time: at(n), type: 'spo2', value: 97, unit: '%' }]),
      });
      await res.body?.cancel();
      return res.status;
    };
    const provisioned = async () => (await gateway?.status())?.provisioning;

    before(async () => {
      let env: Record<string, string> = {};
      if (kind === 'postgres') {
        const fresh = await createFreshPostgresDatabase();
        dropDb = fresh.drop;
        env = { VIGIL_DATABASE_URL: fresh.url };
      }
      centre = await startTestVigil({ env: { VIGIL_MQTT_PORT: 'off', ...env } });
      centreUrl = centre.httpUrl;
      centreToken = await signIn(centreUrl);
      for (const family of ['Lovelace', 'Hopper']) {
        const p = await call(
          centreUrl,
          centreToken,
          'POST',
          '/fhir/Patient',
          { resourceType: 'Patient', name: [{ family }] },
          'application/fhir+json',
        );
        assert.equal(p.status, 201);
        patients.push(p.body.id);
      }
      for (const [id, kind] of [
        ['hub-1', 'gateway'],
        ['oxi-1', 'pulse-oximeter'],
        ['oxi-2', 'pulse-oximeter'],
        ['oxi-elsewhere', 'pulse-oximeter'],
      ] as const) {
        const d = await call(centreUrl, centreToken, 'POST', '/api/v1/devices', { id, kind });
        assert.equal(d.status, 201);
        secrets[id] = d.body.secret;
      }
      for (const id of ['oxi-1', 'oxi-2']) {
        const a = await call(centreUrl, centreToken, 'POST', `/api/v1/devices/${id}/assignments`, {
          patientId: patients[0],
          start: at(-60),
        });
        assert.equal(a.status, 201);
        assert.equal(
          (await call(centreUrl, centreToken, 'PUT', `/api/v1/gateways/hub-1/devices/${id}`)).status,
          200,
        );
      }
      const enrol = await call(centreUrl, centreToken, 'PUT', `/api/v1/patients/${patients[0]}/monitoring`, {
        monitoring: { programs: ['post-surgical'] },
      });
      assert.equal(enrol.status, 200);
      await startHub();
    });
    after(async () => {
      await stopHub();
      await centre?.stop().catch(() => {});
      await dropDb?.();
    });

    it('gives the gateway its devices’ verifiers (never a secret), with an ETag', async () => {
      const res = await fetch(`${centreUrl}/ingest/v1/edge/provisioning`, {
        headers: { authorization: `Bearer ${secrets['hub-1']}` },
      });
      assert.equal(res.status, 200);
      const doc = (await res.json()) as ProvisioningDocument;
      assert.deepEqual(
        doc.devices.map((d) => d.id),
        ['oxi-1', 'oxi-2'],
      );
      const text = JSON.stringify(doc);
      for (const s of Object.values(secrets)) assert.ok(!text.includes(s), 'a secret was sent');
      assert.match(doc.devices[0]?.secretHash ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(
        doc.patients.map((p) => p.id),
        [patients[0]],
      );
      assert.equal(res.headers.get('etag'), doc.version);
      const again = await fetch(`${centreUrl}/ingest/v1/edge/provisioning`, {
        headers: { authorization: `Bearer ${secrets['hub-1']}`, 'if-none-match': doc.version },
      });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
      // a device that is not a gateway is not provisioned with anything
      const oxi = await fetch(`${centreUrl}/ingest/v1/edge/provisioning`, {
        headers: { authorization: `Bearer ${secrets['oxi-1']}` },
      });
      assert.equal(oxi.status, 403);
      assert.equal(
        ((await oxi.json()) as { error: { code: string } }).error.code,
        'VIGIL_ERR_EDGE_FORBIDDEN',
      );
      // audited at the centre: the gateway read the patient
      await until('the audit record', async () => {
        const rows = await centre.db.query<{ n: number }>(
          `select count(*)::int as n from audit_event where agent_id = 'hub-1' and patient_id = $1 and entity_type = 'Patient'`,
          [patients[0]],
        );
        return (rows[0]?.n ?? 0) > 0;
      });
    });

    it('a device registered and assigned at the centre sends to the hub after a sync', async () => {
      await until('the first sync', async () => ((await provisioned())?.applied ?? 0) >= 1);
      assert.equal(await sendToHub('oxi-1'), 200);
      assert.equal(await sendToHub('oxi-2'), 200);
      // a device the centre did not link to this hub is unknown here
      assert.equal(await sendToHub('oxi-elsewhere'), 401);
      const h = hub as Vigil;
      // attributed on the hub to the centre's patient, whose monitoring is the centre's
      const rows = await h.db.query<{ patient_id: string }>(
        `select patient_id from observation where device_id = 'oxi-1'`,
      );
      assert.deepEqual(
        rows.map((r) => r.patient_id),
        [patients[0]],
      );
      const mon = await call(h.httpUrl, hubToken, 'GET', `/api/v1/patients/${patients[0]}/monitoring`);
      assert.equal(mon.status, 200);
      assert.deepEqual(mon.body.monitoring?.programs, ['post-surgical']);
      const patient = await call(h.httpUrl, hubToken, 'GET', `/fhir/Patient/${patients[0]}`);
      assert.equal(patient.status, 200);
      assert.equal(patient.body.name?.[0]?.family, 'Lovelace');
      // the hub audits what the centre's list changed in its patients' records
      await until('the hub’s audit record', async () => {
        const rows = await h.db.query<{ n: number }>(
          `select count(*)::int as n from audit_event where agent_id = 'centre-provisioning' and patient_id = $1`,
          [patients[0]],
        );
        return (rows[0]?.n ?? 0) >= 2; // the Patient and the monitoring
      });
      // forwarded to the centre as usual
      await until('the reading at the centre', async () => {
        const r = await centre.db.query(`select 1 from observation where device_id = 'oxi-1'`);
        return r.length > 0;
      });
      // the centre sees which list the hub has (its health report)
      await until('the hub’s list in its health at the centre', async () => {
        const g = await call(centreUrl, centreToken, 'GET', '/api/v1/gateways');
        const hub1 = (
          g.body.gateways as Array<{ id: string; health: { provisioningVersion?: string } | null }>
        ).find((x) => x.id === 'hub-1');
        const version = (await provisioned())?.version;
        return !!version && hub1?.health?.provisioningVersion === version;
      });
      // an unchanged list costs a 304
      await until('an unchanged sync', async () => ((await provisioned())?.unchanged ?? 0) >= 1);
    });

    it('a revocation or a reassignment at the centre reaches the hub at its next sync', async () => {
      const before = (await provisioned())?.applied ?? 0;
      assert.equal((await call(centreUrl, centreToken, 'POST', '/api/v1/devices/oxi-1/revoke')).status, 200);
      const moved = await call(centreUrl, centreToken, 'POST', '/api/v1/devices/oxi-2/assignments', {
        patientId: patients[1],
        start: at(1000),
      });
      assert.equal(moved.status, 201);
      await until('the next sync', async () => ((await provisioned())?.applied ?? 0) > before);
      assert.equal(await sendToHub('oxi-1'), 401);
      assert.equal(await sendToHub('oxi-2'), 200);
      const open = await (hub as Vigil).db.query<{ patient_id: string }>(
        `select patient_id from device_assignment where device_id = 'oxi-2' and period_end is null`,
      );
      assert.deepEqual(
        open.map((r) => r.patient_id),
        [patients[1]],
      );
    });

    it('keeps its last list while the centre is down, across a restart', async () => {
      await centre.stop();
      await (gateway as EdgeGateway).syncNow();
      const status = await provisioned();
      assert.ok((status?.failures ?? 0) >= 1, JSON.stringify(status));
      assert.ok(status?.lastError);
      assert.equal(await sendToHub('oxi-2'), 200);
      assert.equal(await sendToHub('oxi-1'), 401);
      await stopHub();
      await startHub();
      await (gateway as EdgeGateway).syncNow();
      assert.ok(((await provisioned())?.failures ?? 0) >= 1);
      assert.equal(await sendToHub('oxi-2'), 200);
      assert.equal(await sendToHub('oxi-1'), 401);
    });
  });
