import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  adminToken,
  api,
  freePort,
  type RunningVigil,
  startVigilProcess,
  tempDir,
} from '../support/process.ts';

/**
 * `vigil edge` end to end, as real processes on this machine: a centre and an edge gateway. The
 * link is cut (the centre stopped); during the outage the edge raises a critical alert from the
 * readings of a device near it and is killed with SIGKILL; both come back and the centre ends with
 * every reading once and the alert once, as one alert of its own alert management.
 */

interface AlertView {
  id: string;
  patientId: string;
  conditionKey: string;
  severity: string;
  state: string;
  data: { edge?: { gatewayId: string; alertId: string } };
}
interface ReadingView {
  id: string;
  value: number | null;
  effective: string;
  transport: string;
}

const password = 'edge-e2e-admin-password';
const fhirJson = 'application/fhir+json';
const t0 = Date.now() - 10 * 60_000;
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function fhirCreate(url: string, token: string, resource: object): Promise<string> {
  const res = await fetch(`${url}/fhir/${(resource as { resourceType: string }).resourceType}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': fhirJson },
    body: JSON.stringify(resource),
  });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.id;
}

describe('vigil edge: store and forward across an outage and a kill -9', () => {
  const procs: RunningVigil[] = [];
  after(async () => {
    for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  });

  const centreDir = tempDir('vigil-edge-centre-');
  const edgeDir = tempDir('vigil-edge-hub-');
  let centre: RunningVigil;
  let edge: RunningVigil;
  let centrePort: number;
  let centreToken: string;
  let edgeToken: string;
  let centrePatient: string;
  let edgePatient: string;
  let gatewaySecret: string;
  let oxiSecret: string;
  const sent: Array<{ messageId: string; time: string; value: number }> = [];

  const startCentre = async () => {
    centre = await startVigilProcess({
      dataDir: centreDir,
      httpPort: centrePort,
      env: { VIGIL_ADMIN_PASSWORD: password, VIGIL_LOG_LEVEL: 'warn' },
    });
    procs.push(centre);
  };
  const startEdge = async () => {
    edge = await startVigilProcess({
      command: 'edge',
      dataDir: edgeDir,
      env: {
        VIGIL_ADMIN_PASSWORD: password,
        VIGIL_LOG_LEVEL: 'info',
        VIGIL_EDGE_CENTRE_URL: `http://127.0.0.1:${centrePort}`,
        VIGIL_EDGE_GATEWAY_ID: 'hub-ward-7',
        VIGIL_EDGE_GATEWAY_SECRET: gatewaySecret,
        VIGIL_EDGE_RETRY_MAX_SECONDS: '1',
        VIGIL_EDGE_HEALTH_INTERVAL_SECONDS: '1',
        VIGIL_EDGE_BATCH_SIZE: '7',
      },
    });
    procs.push(edge);
  };
  const send = async (from: number, values: number[]) => {
    const items = values.map((value, i) => ({
      messageId: `spo2-${from + i}`,
      time: at(from + i),
      type: 'spo2',
      value,
      unit: '%',
    }));
    const res = await fetch(`${edge.httpUrl}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oxiSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify(items),
    });
    const body = (await res.json()) as { accepted: number };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.accepted, items.length);
    sent.push(...items);
  };
  const centreReadings = async () =>
    (
      await api<{ readings: ReadingView[] }>(
        centre.httpUrl,
        centreToken,
        'GET',
        '/api/v1/devices/oxi-7-1/readings?limit=1000',
      )
    ).body.readings;
  const alertsAt = async (url: string, token: string, patient: string) =>
    (await api<{ alerts: AlertView[] }>(url, token, 'GET', `/api/v1/alerts?patient=${patient}`)).body.alerts;

  it('provisions the centre: patient, oximeter, gateway, the oximeter behind the gateway', async () => {
    centrePort = await freePort();
    await startCentre();
    centreToken = await adminToken(centre.httpUrl, password);
    centrePatient = await fhirCreate(centre.httpUrl, centreToken, {
      resourceType: 'Patient',
      name: [{ family: 'Edge', given: ['Ward'] }],
    });
    const gw = await api<{ secret: string }>(centre.httpUrl, centreToken, 'POST', '/api/v1/devices', {
      id: 'hub-ward-7',
      kind: 'gateway',
    });
    assert.equal(gw.status, 201);
    gatewaySecret = gw.body.secret;
    const oxi = await api<{ secret: string }>(centre.httpUrl, centreToken, 'POST', '/api/v1/devices', {
      id: 'oxi-7-1',
      kind: 'pulse-oximeter',
    });
    assert.equal(oxi.status, 201);
    // one secret for the device, at the centre and at its hub (the hub gets its verifier)
    oxiSecret = oxi.body.secret;
    const assign = await api(centre.httpUrl, centreToken, 'POST', '/api/v1/devices/oxi-7-1/assignments', {
      patientId: centrePatient,
      start: at(-3600),
    });
    assert.equal(assign.status, 201, JSON.stringify(assign.body));
    const link = await api(centre.httpUrl, centreToken, 'PUT', '/api/v1/gateways/hub-ward-7/devices/oxi-7-1');
    assert.equal(link.status, 200, JSON.stringify(link.body));
    // the centre monitors the patient too: it must not raise its own copy of the edge's alert
    const enrol = await api(
      centre.httpUrl,
      centreToken,
      'PUT',
      `/api/v1/patients/${centrePatient}/monitoring`,
      {
        monitoring: { programs: ['post-surgical'], rules: { hypoxaemia: { severity: 'critical' } } },
      },
    );
    assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
  });

  it('the edge is provisioned from the centre and forwards while the link is up', async () => {
    await startEdge();
    edgeToken = await adminToken(edge.httpUrl, password);
    // the hub pulls its device, the device's assignment, the patient and the monitoring at start
    edgePatient = centrePatient;
    await eventually('the provisioning at the edge', async () => {
      const mon = await api<{ enrolled: boolean }>(
        edge.httpUrl,
        edgeToken,
        'GET',
        `/api/v1/patients/${edgePatient}/monitoring`,
      );
      const dev = await api(edge.httpUrl, edgeToken, 'GET', '/api/v1/devices/oxi-7-1');
      return mon.body.enrolled && dev.status === 200 ? true : undefined;
    });

    await send(0, [97, 97, 96, 98, 97, 96, 97, 98, 97, 96]);
    const got = await eventually('the first readings at the centre', async () => {
      const rs = await centreReadings();
      return rs.length === 10 ? rs : undefined;
    });
    assert.ok(got.every((r) => r.transport === 'edge'));
    // the hub registered its health with the centre
    const gws = await eventually('the gateway health at the centre', async () => {
      const r = await api<{
        gateways: Array<{
          id: string;
          devices: string[];
          health: { uplink: string; queueDepth: number } | null;
        }>;
      }>(centre.httpUrl, centreToken, 'GET', '/api/v1/gateways');
      const g = r.body.gateways.find((x) => x.id === 'hub-ward-7');
      return g?.health?.uplink === 'up' ? g : undefined;
    });
    assert.deepEqual(gws.devices, ['oxi-7-1']);
  });

  it('keeps watch during an outage: a critical alert at the edge, then a kill -9 of the edge', async () => {
    centre.proc.kill('SIGTERM');
    assert.equal((await centre.exited).code, 0);

    await send(10, [96, 97, 96]);
    // a gradual desaturation (not an artefact-like fall): hypoxaemia, critical at the edge, no uplink
    await send(13, [93, 91, 89, 88]);
    await eventually('the critical alert at the edge', async () => {
      const list = await alertsAt(edge.httpUrl, edgeToken, edgePatient);
      return list.find(
        (a) => a.conditionKey === 'hypoxaemia' && a.severity === 'critical' && a.state === 'open',
      );
    });
    await send(17, [88, 89, 90, 91, 92, 93]);
    await send(23, [95, 96, 97]); // recovered: the alert clears at the edge
    await eventually('the alert resolved at the edge', async () => {
      const list = await alertsAt(edge.httpUrl, edgeToken, edgePatient);
      return list.find((a) => a.conditionKey === 'hypoxaemia' && a.state === 'resolved');
    });

    edge.proc.kill('SIGKILL');
    assert.equal((await edge.exited).signal, 'SIGKILL');
    // the same data directory: the queue is on disk, and so is the device list (the centre is down)
    await startEdge();
    await send(26, [97, 96, 97, 98]);
  });

  it('after the link is back the centre has every reading once and the alert once', async () => {
    await startCentre();
    centreToken = await adminToken(centre.httpUrl, password);
    const readings = await eventually(
      'every reading at the centre',
      async () => {
        const rs = await centreReadings();
        return rs.length >= sent.length ? rs : undefined;
      },
      90_000,
    );
    // once each: one row per reading sent, none missing, none twice (same device time and value)
    assert.equal(readings.length, sent.length);
    const byTime = new Map(readings.map((r) => [r.effective, r]));
    assert.equal(byTime.size, sent.length);
    for (const s of sent) assert.equal(byTime.get(s.time)?.value, s.value, `reading ${s.messageId}`);

    const edgeAlerts = await eventually('the alert resolved at the edge', async () => {
      const list = await alertsAt(edge.httpUrl, edgeToken, edgePatient);
      return list.some((a) => a.conditionKey === 'hypoxaemia' && a.state === 'resolved') ? list : undefined;
    });
    const edgeCritical = edgeAlerts.filter((a) => a.conditionKey === 'hypoxaemia');
    assert.equal(edgeCritical.length, 1);
    assert.equal(edgeCritical[0]?.state, 'resolved');
    const centreAlerts = await eventually('the edge alert at the centre', async () => {
      const list = await alertsAt(centre.httpUrl, centreToken, centrePatient);
      return list.some((a) => a.conditionKey === 'hypoxaemia' && a.state === 'resolved') ? list : undefined;
    });
    const hypox = centreAlerts.filter((a) => a.conditionKey === 'hypoxaemia');
    assert.equal(hypox.length, 1, JSON.stringify(centreAlerts));
    assert.equal(hypox[0]?.severity, 'critical');
    assert.equal(hypox[0]?.data.edge?.alertId, edgeCritical[0]?.id);
    assert.equal(hypox[0]?.data.edge?.gatewayId, 'hub-ward-7');
    // every alert at the centre is one of the edge's (the centre did not evaluate the readings again)
    await new Promise((r) => setTimeout(r, 2000));
    const finalCentre = await alertsAt(centre.httpUrl, centreToken, centrePatient);
    const edgeIds = new Set(edgeAlerts.map((a) => a.id));
    for (const a of finalCentre)
      assert.ok(a.data.edge && edgeIds.has(a.data.edge.alertId), JSON.stringify(a));
    assert.equal(finalCentre.length, new Set(finalCentre.map((a) => a.data.edge?.alertId)).size);
  });
});
