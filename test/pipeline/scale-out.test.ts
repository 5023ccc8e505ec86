import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase } from '../support/databases.ts';
import { type RunningVigil, startVigilProcess } from '../support/process.ts';
import { deleteStream, lastSeqs, natsUrl, scaledOutSkip as skip, uniquePrefix } from './nats-support.ts';
import { adminPassword, call, eventually, signIn, startTestVigil } from './support.ts';

interface AlertView {
  patientId: string;
  conditionKey: string;
  severity: string;
  state: string;
}

const PATIENTS = 8;
const PARTITIONS = 16;
const DAY = 86_400_000;
const HEART_RATES_PER_DAY = 60;
/**
 * Daily weights (kg) of the heart-failure patients: the first four gain 1.3 kg on day 1 (the alert
 * opens while every worker is alive), the last four 1.3 kg on day 4 (after one worker was killed).
 * heart-failure program: gain > 1 kg within 26 h → weight-gain alert (clinical-reference §8, S).
 */
const weights = (i: number) =>
  i < PATIENTS / 2 ? [80.0, 81.3, 81.4, 81.3, 81.4, 81.3] : [80.0, 80.2, 80.1, 80.3, 81.6, 81.7];

/**
 * One deployment (fresh database, NATS prefix of its own): api and ingest workers in this process,
 * `workers` detect workers as child processes. Each reading is its own HTTP request, so its own
 * bus message. With `kill`, one detect worker is killed (SIGKILL) once the first half is sent.
 * Answers every alert, by patient index.
 */
async function run(workers: number, kill: boolean): Promise<Map<number, AlertView[]>> {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteStream(prefix));
    const db = await createFreshPostgresDatabase();
    cleanups.push(db.drop);
    const env = {
      VIGIL_DATABASE_URL: db.url,
      VIGIL_NATS_URL: natsUrl as string,
      VIGIL_NATS_PREFIX: prefix,
      VIGIL_DETECT_LEASE_MS: '2000',
    };
    const api: Vigil = await startTestVigil({ env: { ...env, VIGIL_ROLE: 'api' } });
    cleanups.push(() => api.stop());
    const ingest: Vigil = await startTestVigil({
      env: { ...env, VIGIL_ROLE: 'ingest', VIGIL_MQTT_PORT: 'off' },
    });
    cleanups.push(() => ingest.stop());
    const detect: RunningVigil[] = [];
    for (let w = 0; w < workers; w++) {
      const p = await startVigilProcess({
        env: { ...env, VIGIL_ROLE: 'detect', VIGIL_ADMIN_PASSWORD: adminPassword, VIGIL_LOG_LEVEL: 'warn' },
      });
      detect.push(p);
      cleanups.push(async () => {
        p.proc.kill('SIGKILL');
        await p.exited;
      });
    }
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const owners = async () =>
      (
        await sql<{ owner: string | null }[]>`select owner from detect_partition where prefix = ${prefix}`
      ).map((r) => r.owner);
    // Every worker holds its share before the first reading (so the readings really are spread).
    await eventually(
      `${workers} detect workers sharing the ${PARTITIONS} partitions`,
      async () => {
        const o = await owners();
        return o.length === PARTITIONS && o.every((x) => x !== null) && new Set(o).size === workers
          ? true
          : undefined;
      },
      60_000,
    );

    const token = await signIn(api.httpUrl);
    const patientIds: string[] = [];
    const secrets: string[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const p = await call<{ id: string }>(
        api.httpUrl,
        token,
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient' },
        'application/fhir+json',
      );
      assert.equal(p.status, 201, JSON.stringify(p.body));
      patientIds.push(p.body.id);
      const m = await call(api.httpUrl, token, 'PUT', `/api/v1/patients/${p.body.id}/monitoring`, {
        monitoring: { programs: ['heart-failure'] },
      });
      assert.equal(m.status, 200, JSON.stringify(m.body));
      const d = await call<{ secret: string }>(api.httpUrl, token, 'POST', '/api/v1/devices', {
        id: `scale-${i}`,
        kind: 'scale',
      });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      secrets.push(d.body.secret);
      const a = await call(api.httpUrl, token, 'POST', `/api/v1/devices/scale-${i}/assignments`, {
        patientId: p.body.id,
        start: new Date(Date.now() - 10 * DAY).toISOString(),
      });
      assert.equal(a.status, 201, JSON.stringify(a.body));
    }

    const t0 = Date.now() - 7 * DAY;
    const send = async (day: number) => {
      // Many messages per partition (heart rate every minute before the weigh-in), as a ward sends:
      // with fewer, one worker's pull could take a whole partition's backlog by chance.
      await Promise.all(
        Array.from({ length: PATIENTS }, async (_x, i) => {
          for (let k = 0; k < HEART_RATES_PER_DAY; k++) {
            const res = await fetch(`${ingest.httpUrl}/ingest/v1/readings`, {
              method: 'POST',
              headers: { authorization: `Bearer ${secrets[i]}`, 'content-type': 'application/json' },
              body: JSON.stringify([
                {
                  messageId: `hr-${i}-${day}-${k}`,
                  time: new Date(t0 + day * DAY - (k + 1) * 60_000).toISOString(),
                  type: 'heart-rate',
                  value: 70,
                  unit: '/min',
                },
              ]),
            });
            assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
          }
        }),
      );
      for (let i = 0; i < PATIENTS; i++) {
        const res = await fetch(`${ingest.httpUrl}/ingest/v1/readings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets[i]}`, 'content-type': 'application/json' },
          body: JSON.stringify([
            {
              messageId: `w-${i}-${day}`,
              time: new Date(t0 + day * DAY).toISOString(),
              type: 'weight',
              value: weights(i)[day],
              unit: 'kg',
            },
          ]),
        });
        assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
      }
    };
    for (let day = 0; day < 3; day++) await send(day);
    await ingest.pipeline.idle(); // published to the stream
    if (kill) {
      const victim = detect[0] as RunningVigil;
      victim.proc.kill('SIGKILL');
      await victim.exited;
    }
    for (let day = 3; day < 6; day++) await send(day);
    await ingest.pipeline.idle();

    // Done when every partition's checkpoint (state saved with side effects applied) reaches the
    // last message of the partition.
    const last = await lastSeqs(prefix, PARTITIONS);
    assert.ok(last.size > 0, 'readings reached the stream');
    const diagnose = async () =>
      `${JSON.stringify(await sql`select * from detect_partition where prefix = ${prefix} order by partition`)}\n${JSON.stringify([...last])}\n${detect.map((d) => d.stderr() + d.stdout()).join('\n---\n')}`;
    await eventually(
      'every partition evaluated to its last message',
      async () => {
        const rows = await sql<{ partition: number; evaluated_seq: string }[]>`
          select partition, evaluated_seq from detect_partition where prefix = ${prefix}`;
        const at = new Map(rows.map((r) => [r.partition, Number(r.evaluated_seq)]));
        return [...last].every(([p, seq]) => (at.get(p) ?? 0) >= seq) ? true : undefined;
      },
      60_000,
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await diagnose()}`);
    });
    if (kill) {
      const live = new Set(await owners());
      assert.equal(live.size, workers - 1, 'the killed worker holds no partition any more');
    }

    const out = new Map<number, AlertView[]>();
    for (let i = 0; i < PATIENTS; i++) {
      const r = await call<{ alerts: AlertView[] }>(
        api.httpUrl,
        token,
        'GET',
        `/api/v1/alerts?patient=${patientIds[i]}`,
      );
      assert.equal(r.status, 200);
      out.set(
        i,
        r.body.alerts
          .map((a) => ({
            patientId: `#${i}`,
            conditionKey: a.conditionKey,
            severity: a.severity,
            state: a.state,
          }))
          .sort((a, b) => a.conditionKey.localeCompare(b.conditionKey)),
      );
    }
    return out;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

describe('scaled out: 1, 2 and 3 detect workers on one stream raise the same alerts', { skip }, () => {
  const results = new Map<number, Map<number, AlertView[]>>();

  it('one detect worker: every heart-failure patient gets one weight-gain alert', async () => {
    const r = await run(1, false);
    results.set(1, r);
    for (const [i, alerts] of r)
      assert.equal(
        alerts.filter((a) => a.conditionKey === 'weight-gain').length,
        1,
        `patient #${i}: ${JSON.stringify(alerts)}`,
      );
  });

  for (const workers of process.env['SCALE_ONLY'] ? [Number(process.env['SCALE_ONLY'])] : [2, 3])
    it(`${workers} detect workers, one killed mid-run: the same alerts, none lost, none repeated`, async () => {
      const r = await run(workers, true);
      results.set(workers, r);
      for (const [i, alerts] of r)
        assert.equal(
          alerts.filter((a) => a.conditionKey === 'weight-gain').length,
          1,
          `patient #${i}: ${JSON.stringify(alerts)}`,
        );
      const one = results.get(1);
      if (one) assert.deepEqual(r, one, 'the same alerts as with one worker');
    });
});
