import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { applyCentreActions } from '../../src/edge/centre-actions.ts';
import { EdgeGateway } from '../../src/edge/edge.ts';
import type { ForwardedAlert, ForwardRequest } from '../../src/edge/wire.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { adminPassword, call, signIn } from '../pipeline/support.ts';

/**
 * The hub in process against a stand-in centre: what it ingests and the alerts it raises are
 * forwarded, and an acknowledgement made at the centre comes back to the hub's own alert.
 */
describe('hub: forwarding and acknowledgements from the centre', () => {
  let hub: Vigil;
  let gateway: EdgeGateway;
  let centre: Server;
  const forwarded: ForwardRequest[] = [];
  let ackFor: string | undefined;

  before(async () => {
    centre = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        const fr = JSON.parse(body) as ForwardRequest;
        forwarded.push(fr);
        const alert = fr.records.find((r) => r.kind === 'alert');
        if (alert?.kind === 'alert' && alert.alert.state === 'open') ackFor ??= alert.alert.id;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            receivedAt: new Date().toISOString(),
            results: fr.records.map((r) => ({ seq: r.seq, status: 'stored' })),
            actions: ackFor ? [{ alertId: ackFor, type: 'acknowledge', by: 'nurse-7', at: null }] : [],
          }),
        );
      });
    });
    await new Promise<void>((r) => centre.listen(0, '127.0.0.1', r));
    const env = {
      VIGIL_HTTP_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: 'off',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-hub-')),
      VIGIL_EDGE_CENTRE_URL: `http://127.0.0.1:${(centre.address() as { port: number }).port}`,
      VIGIL_EDGE_GATEWAY_ID: 'hub-1',
      VIGIL_EDGE_GATEWAY_SECRET: 'a-gateway-secret-of-some-length',
      VIGIL_EDGE_HEALTH_INTERVAL_SECONDS: '1',
    };
    const config = loadConfig(env);
    assert.ok(config.edge);
    const log = createLogger('silent');
    gateway = new EdgeGateway({ config: config.edge, log, clock: systemClock });
    hub = await startVigil(config, { print: () => {}, onCommit: gateway.onCommit });
    gateway.start(hub.db, {
      onCentreActions: async (as) => void (await applyCentreActions(hub.alerts.manager, as, log)),
    });
  });
  after(async () => {
    await gateway?.stop();
    await hub?.stop();
    await new Promise((r) => centre?.close(r));
  });

  it('forwards readings and the alert; the centre’s acknowledgement reaches the hub’s alert', async () => {
    const url = hub.httpUrl;
    const token = await signIn(url);
    const p = await call(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    const d = await call(url, token, 'POST', '/api/v1/devices', { id: 'oxi-1', kind: 'pulse-oximeter' });
    const t0 = Date.now() - 600_000;
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    await call(url, token, 'POST', '/api/v1/devices/oxi-1/assignments', {
      patientId: p.body.id,
      start: at(-60),
    });
    await call(url, token, 'PUT', `/api/v1/patients/${p.body.id}/monitoring`, {
      monitoring: { programs: ['post-surgical'] },
    });
    const values = [96, 94, 92, 90, 89];
    const res = await fetch(`${url}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.body.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(
        values.map((value, i) => ({ messageId: `m${i}`, time: at(i), type: 'spo2', value, unit: '%' })),
      ),
    });
    assert.equal(res.status, 200);

    let hubAlert: { id: string; state: string } | undefined;
    for (let i = 0; i < 200; i++) {
      const list = (await call(url, token, 'GET', `/api/v1/alerts?patient=${p.body.id}`)).body
        .alerts as Array<{
        id: string;
        state: string;
        conditionKey: string;
      }>;
      hubAlert = list.find((a) => a.conditionKey === 'hypoxaemia');
      if (hubAlert?.state === 'acknowledged') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(hubAlert?.state, 'acknowledged');
    assert.equal(ackFor, hubAlert?.id);

    const records = forwarded.flatMap((f) => f.records);
    const readings = records.flatMap((r) => (r.kind === 'reading' ? [r.reading] : []));
    assert.deepEqual(
      readings.map((r) => r.value),
      values,
    );
    // the acknowledged version goes up too, so the centre stops asking
    for (let i = 0; i < 50; i++) {
      const versions = forwarded
        .flatMap((f) => f.records)
        .flatMap((r) => (r.kind === 'alert' ? [r.alert as ForwardedAlert] : []));
      if (versions.some((v) => v.state === 'acknowledged')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const states = forwarded
      .flatMap((f) => f.records)
      .flatMap((r) => (r.kind === 'alert' ? [r.alert.state] : []));
    assert.equal(states[0], 'open');
    assert.ok(states.includes('acknowledged'), states.join(','));
    assert.equal(forwarded.at(-1)?.health.uplink, 'up');
  });
});
