/**
 * The simulator against a real in-process Vigil: provisions patients and devices through the API,
 * then plays devices over MQTT (JSON and GATT) and HTTP batches; the readings are stored.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { DEFAULT_BEHAVIOUR } from '../../src/sim/devices/device.ts';
import { SimApiClient } from '../../src/sim/online/api-client.ts';
import { planTime, provision, runOnline } from '../../src/sim/online/run-online.ts';
import { buildPopulation } from '../../src/sim/population.ts';

let vigil: Vigil;
let dir: string;
const PASSWORD = 'a-long-test-password';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-sim-online-'));
  vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: PASSWORD,
      VIGIL_DATA_DIR: dir,
    }),
    { print: () => {} },
  );
});

after(async () => {
  await vigil?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('simulate: provisioned devices publish over MQTT and HTTP and their readings are stored', async () => {
  const api = new SimApiClient({ baseUrl: vigil.httpUrl });
  await api.signIn('admin', PASSWORD);
  const plan = planTime(Date.now(), 2 * 3600, 1200);
  const patients = buildPopulation({
    seed: 'online-test',
    patients: 3,
    scenario: 'sepsis,stable-diabetes,hypertensive-crisis',
    windowStartMs: plan.windowStartMs,
    durationS: 2 * 3600,
    align: 'critical',
    behaviour: { ...DEFAULT_BEHAVIOUR, minPeriodS: 10, malformedRate: 0.01 },
  });
  const { secrets } = await provision(api, patients, { assignFromMs: plan.windowStartMs - 2 * 3_600_000 });
  assert.equal(secrets.size, 3);
  const stats = await runOnline({
    api,
    mqttUrl: `mqtt://127.0.0.1:${vigil.mqttPort}`,
    patients,
    secrets,
    plan,
    tickMs: 100,
  });
  assert.ok(stats.messages > 100, `${stats.messages} messages`);
  assert.equal(stats.errors, 0);
  assert.ok(stats.httpAccepted > 0, 'CGM readings accepted over HTTP');

  const byModel = new Map<string, number>();
  for (const p of patients) {
    for (const d of p.devices) {
      const r = await api.request<{ readings: { patientId: string | null; code: string }[] }>(
        'GET',
        `/api/v1/devices/${d.id}/readings?limit=1000`,
      );
      byModel.set(d.model.name, r.readings.length);
      assert.ok(
        r.readings.every((x) => x.patientId === p.id),
        `${d.id} readings attributed to its patient`,
      );
    }
  }
  assert.ok(
    (byModel.get('bedside-monitor') ?? 0) > 100,
    `bedside-monitor (MQTT JSON): ${byModel.get('bedside-monitor')}`,
  );
  assert.ok((byModel.get('cgm') ?? 0) >= 10, `cgm (HTTP): ${byModel.get('cgm')}`);
  assert.ok((byModel.get('bp-cuff') ?? 0) >= 2, `bp-cuff (MQTT GATT): ${byModel.get('bp-cuff')}`);
});
