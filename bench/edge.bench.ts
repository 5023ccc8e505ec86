import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { EdgeGateway } from '../src/edge/edge.ts';
import { startVigil, type Vigil } from '../src/server.ts';
import { type BenchResult, fmt, percentile } from './harness.ts';

/**
 * An uplink outage at ward load (`npm run bench -- edge`): a centre and an edge gateway (each a full
 * Vigil on its own PGlite, in this process), 20 beds behind the hub, each with a monitor sending 5
 * vitals (SpO2, heart rate, respiratory rate, temperature, blood pressure) per second of event time,
 * enrolled at the hub in the inpatient-continuous program. The uplink goes through a proxy here
 * that refuses every connection during the outage; the readings of the outage's event time are
 * posted to the hub as fast as it takes them (not in real time), then the link is restored and the
 * drain is timed. Counted at the centre afterwards: readings stored, missing, duplicated.
 */
const password = 'edge-bench-admin-password';
const beds = 20;

async function start(env: Record<string, string>, onCommit?: EdgeGateway['onCommit']): Promise<Vigil> {
  return startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: 'off',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: password,
      VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-bench-edge-')),
      ...env,
    }),
    { print: () => {}, ...(onCommit ? { onCommit } : {}) },
  );
}

async function token(v: Vigil): Promise<string> {
  const r = await fetch(`${v.httpUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

async function call(
  v: Vigil,
  tok: string,
  method: string,
  path: string,
  body?: unknown,
  type = 'application/json',
) {
  const r = await fetch(`${v.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A patient and a monitor per bed; returns the monitors' secrets. */
async function provision(v: Vigil, tok: string, since: string, enrol: boolean): Promise<string[]> {
  const secrets: string[] = [];
  for (let b = 0; b < beds; b++) {
    const p = await call(
      v,
      tok,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    const d = await call(v, tok, 'POST', '/api/v1/devices', { id: `monitor-${b}`, kind: 'bedside-monitor' });
    await call(v, tok, 'POST', `/api/v1/devices/monitor-${b}/assignments`, { patientId: p.id, start: since });
    if (enrol)
      await call(v, tok, 'PUT', `/api/v1/patients/${p.id}/monitoring`, {
        monitoring: { programs: ['inpatient-continuous'] },
      });
    secrets.push(d.secret);
  }
  return secrets;
}

interface Outcome {
  sent: number;
  lost: number;
  duplicated: number;
  summarised: number;
  /** NEWS2 scores the hub derived, stored at the centre. */
  derived: number;
  ingestSeconds: number;
  ingestCores: number;
  queued: number;
  drainSeconds: number;
  upstreamBytes: number;
  rss0: number;
  rss: number;
  batchSize: number;
  /** Device message → alert on the live feed, ms: at the hub with the uplink down, at the centre. */
  hubMs: number[];
  centreMs: number[];
}

const probeRules = {
  'hr-high': { persistSeconds: 0, clearSeconds: 0, confirmAcrossSources: false, realertMinutes: 0 },
};

/** A patient and a probe device enrolled with the heart-rate rule at once (no persistence). */
async function probeBed(v: Vigil, tok: string, id: string, since: string) {
  const p = await call(v, tok, 'POST', '/fhir/Patient', { resourceType: 'Patient' }, 'application/fhir+json');
  const d = await call(v, tok, 'POST', '/api/v1/devices', { id, kind: 'bedside-monitor' });
  await call(v, tok, 'POST', `/api/v1/devices/${id}/assignments`, { patientId: p.id, start: since });
  await call(v, tok, 'PUT', `/api/v1/patients/${p.id}/monitoring`, {
    monitoring: { programs: ['inpatient-continuous'], rules: probeRules },
  });
  return { patientId: p.id as string, secret: d.secret as string };
}

/**
 * Device message → alert on the instance's own live feed: heart rate 160/min (opens), then 70/min
 * (clears), `n` times; the time from the POST to the `open` alert message.
 */
async function probeLatency(v: Vigil, tok: string, bed: { patientId: string; secret: string }, n: number) {
  const ws = new WebSocket(`${v.httpUrl.replace('http', 'ws')}/api/v1/live`, [
    'vigil.v1',
    `vigil.bearer.${tok}`,
  ]);
  let waiting: { state: string; resolve: () => void } | undefined;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; alert?: { patientId: string; state: string } };
      if (m.type === 'ready') resolve();
      if (m.type === 'alert' && m.alert?.patientId === bed.patientId && m.alert.state === waiting?.state)
        waiting.resolve();
    });
  });
  const post = (value: number) =>
    fetch(`${v.httpUrl}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bed.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ time: new Date().toISOString(), type: 'heart-rate', value, unit: '/min' }),
    });
  const until = (state: string) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${state} alert within 10 s`)), 10_000);
      waiting = {
        state,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const open = until('open');
    const t0 = performance.now();
    await post(160);
    await open;
    ms.push(performance.now() - t0);
    const resolved = until('resolved');
    await post(70);
    await resolved;
    await new Promise((r) => setTimeout(r, 20));
  }
  ws.close();
  return ms;
}

async function outage(outageSeconds: number, summaryAfterMinutes: number): Promise<Outcome> {
  const t0 = Date.now() - outageSeconds * 1000 - 60_000;
  const since = new Date(t0 - 3600_000).toISOString();

  const centre = await start({});
  const centreToken = await token(centre);
  await provision(centre, centreToken, since, false);
  const gw = await call(centre, centreToken, 'POST', '/api/v1/devices', { id: 'hub-bench', kind: 'gateway' });
  for (let b = 0; b < beds; b++)
    await call(centre, centreToken, 'PUT', `/api/v1/gateways/hub-bench/devices/monitor-${b}`);

  // the uplink: a proxy that counts the bytes sent up and refuses connections while "down"
  let down = true;
  let upstreamBytes = 0;
  const proxy = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      upstreamBytes += body.length;
      fetch(`${centre.httpUrl}${req.url}`, {
        method: req.method ?? 'POST',
        headers: {
          authorization: String(req.headers.authorization ?? ''),
          'content-type': String(req.headers['content-type'] ?? 'application/json'),
        },
        body,
      }).then(
        async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        },
        () => req.socket.destroy(),
      );
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as { port: number }).port;

  const edgeEnv = {
    VIGIL_EDGE_CENTRE_URL: `http://127.0.0.1:${proxyPort}`,
    VIGIL_EDGE_GATEWAY_ID: 'hub-bench',
    VIGIL_EDGE_GATEWAY_SECRET: gw.secret as string,
    VIGIL_EDGE_RETRY_MAX_SECONDS: '1',
    VIGIL_EDGE_SUMMARY_AFTER_MINUTES: String(summaryAfterMinutes),
    VIGIL_EDGE_ALERT_WINDOW_MINUTES: '0',
  };
  const edgeConfig = loadConfig({ ...edgeEnv, VIGIL_ADMIN_PASSWORD: password }).edge;
  if (!edgeConfig) throw new Error('edge configuration');
  const gateway = new EdgeGateway({ config: edgeConfig, log: createLogger('silent'), clock: systemClock });
  const edge = await start(edgeEnv, gateway.onCommit);
  gateway.start(edge.db);
  const edgeToken = await token(edge);
  const secrets = await provision(edge, edgeToken, since, true);
  const probes = summaryAfterMinutes === 0;
  const hubProbe = probes ? await probeBed(edge, edgeToken, 'probe-hub', since) : undefined;
  const centreProbe = probes ? await probeBed(centre, centreToken, 'probe-centre', since) : undefined;
  if (probes) {
    // the hub's probe device is behind the hub at the centre too (its readings and alerts go up)
    const p = await call(
      centre,
      centreToken,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    await call(centre, centreToken, 'POST', '/api/v1/devices', { id: 'probe-hub', kind: 'bedside-monitor' });
    await call(centre, centreToken, 'POST', '/api/v1/devices/probe-hub/assignments', {
      patientId: p.id,
      start: since,
    });
    await call(centre, centreToken, 'PUT', '/api/v1/gateways/hub-bench/devices/probe-hub');
  }

  // the outage: every bed's monitor posts its 5 vitals of each second of event time
  const rss0 = process.memoryUsage().rss;
  const ingestStart = performance.now();
  let sent = 0;
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < outageSeconds; s++) {
    const at = new Date(t0 + s * 1000).toISOString();
    await Promise.all(
      secrets.map(async (secret, b) => {
        const items: object[] = [
          { messageId: `${s}-spo2`, time: at, type: 'spo2', value: 96 + ((s + b) % 3), unit: '%' },
          {
            messageId: `${s}-hr`,
            time: at,
            type: 'heart-rate',
            value: 70 + ((s * 7 + b) % 11),
            unit: '/min',
          },
          { messageId: `${s}-rr`, time: at, type: 'respiratory-rate', value: 14 + (s % 3), unit: '/min' },
          { messageId: `${s}-temp`, time: at, type: 'temperature', value: 36.8, unit: 'Cel' },
        ];
        // non-invasive blood pressure: a spot reading every minute, not a stream
        if (s % 60 === 0)
          items.push({
            messageId: `${s}-bp`,
            time: at,
            type: 'blood-pressure',
            unit: 'mmHg',
            components: { systolic: 120 + (s % 5), diastolic: 75 },
          });
        const r = await fetch(`${edge.httpUrl}/ingest/v1/readings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(items),
        });
        const out = (await r.json()) as { accepted: number };
        if (r.status !== 200 || out.accepted !== items.length) throw new Error(`ingest ${r.status}`);
        sent += items.length;
      }),
    );
  }
  await edge.pipeline.idle();
  const ingestSeconds = (performance.now() - ingestStart) / 1000;
  const ingestCpu = process.cpuUsage(cpu0);
  const queued = (await gateway.status()).queueDepth;
  // with the uplink still down: the hub's own alert latency, then the centre's for a device of its own
  const hubMs = hubProbe ? await probeLatency(edge, edgeToken, hubProbe, 50) : [];
  const centreMs = centreProbe ? await probeLatency(centre, centreToken, centreProbe, 50) : [];

  // the link is back: time to drain (with summaries: once the hold is over)
  down = false;
  const drainStart = performance.now();
  let depth = queued;
  while (depth > 0) {
    await new Promise((r) => setTimeout(r, 200));
    depth = (await gateway.status()).queueDepth;
  }
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const rss = process.memoryUsage().rss;

  const [counts] = await centre.db.query<{ n: number; keys: number; derived: number }>(
    `select count(*) filter (where idem_key not like 'edge:%')::int as n,
            count(distinct idem_key) filter (where idem_key not like 'edge:%')::int as keys,
            count(*) filter (where idem_key like 'edge:%')::int as derived
     from observation where device_id like 'monitor-%'`,
  );
  const [sums] = await centre.db.query<{ n: number }>(
    'select coalesce(sum(n), 0)::int as n from edge_summary',
  );
  const stored = counts?.n ?? 0;
  const summarised = sums?.n ?? 0;
  await gateway.stop();
  await edge.stop();
  await centre.stop();
  await new Promise((r) => proxy.close(r));
  return {
    sent,
    lost: sent - (counts?.keys ?? 0) - summarised,
    duplicated: stored - (counts?.keys ?? 0),
    summarised,
    derived: counts?.derived ?? 0,
    ingestSeconds,
    ingestCores: (ingestCpu.user + ingestCpu.system) / 1e6 / ingestSeconds,
    queued,
    drainSeconds,
    upstreamBytes,
    rss0,
    rss,
    batchSize: edgeConfig.batchSize,
    hubMs,
    centreMs,
  };
}

export default async function run(opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const outageSeconds = opts.large ? 3600 : opts.quick ? 60 : 600;
  const full = await outage(outageSeconds, 0);
  const summ = await outage(outageSeconds, 1);
  const bedDays = (beds * outageSeconds) / 86_400;
  const perBedDay = (o: Outcome) => o.upstreamBytes / bedDays / 2 ** 20;
  const ratio = full.upstreamBytes / Math.max(1, summ.upstreamBytes);
  return {
    title: 'Edge gateway: uplink outage at ward load',
    method: `${beds} beds × 1 Hz SpO2, heart rate, respiratory rate and temperature of event time plus a blood pressure a minute, ${outageSeconds} s of outage (${fmt(full.sent)} readings; event time compressed: posted to the hub over HTTP as fast as it takes them, one request per bed-second). Centre and hub are two Vigil instances (each on its own PGlite) in one process, the uplink a local proxy that refuses connections during the outage and counts the bytes sent up; the hub evaluates with the inpatient-continuous program. Drain = link restored → the hub's queue empty (batches of ${full.batchSize}). Run twice: full resolution, and with summaries (\`VIGIL_EDGE_SUMMARY_AFTER_MINUTES=1\`: continuous readings held a minute, then sent as per-minute min/mean/max; no alert in this run, so no window is kept). Counted at the centre: rows and distinct idempotency keys of the beds' devices, plus the readings the summaries stand for.`,
    figures: [
      {
        metric: 'readings lost at the centre (full / summaries)',
        value: `${full.lost} / ${summ.lost}`,
        goal: '0',
        met: full.lost === 0 && summ.lost === 0,
      },
      {
        metric: 'readings duplicated at the centre',
        value: `${full.duplicated} / ${summ.duplicated}`,
        goal: '0',
        met: full.duplicated === 0 && summ.duplicated === 0,
      },
      {
        metric: 'hub ingest + evaluation during the outage',
        value: `${fmt(full.sent / full.ingestSeconds)} readings/s (${fmt(full.ingestSeconds)} s for ${fmt(full.sent)}; ${fmt(full.ingestCores, 2)} cores for both instances)`,
      },
      { metric: 'NEWS2 scores derived at the hub and stored at the centre', value: fmt(full.derived) },
      {
        metric: 'device message → alert on the live feed p50 / p99: hub (uplink down) vs centre',
        value: `${fmt(percentile(full.hubMs, 50))} / ${fmt(percentile(full.hubMs, 99))} ms vs ${fmt(percentile(full.centreMs, 50))} / ${fmt(percentile(full.centreMs, 99))} ms`,
        goal: 'hub p99 ≤ 1× centre p99',
        met: percentile(full.hubMs, 99) <= percentile(full.centreMs, 99),
      },
      {
        metric: 'time to drain after the link is back (full resolution)',
        value: `${fmt(full.drainSeconds)} s (${fmt(full.queued / full.drainSeconds)} records/s)`,
      },
      {
        metric: 'upstream bytes per bed-day, full resolution',
        value: `${fmt(perBedDay(full))} MiB (${fmt(full.upstreamBytes / Math.max(1, full.sent))} B per reading)`,
      },
      {
        metric: 'upstream bytes per bed-day, summaries',
        value: `${fmt(perBedDay(summ), 2)} MiB (${fmt(ratio)}× fewer; ${fmt(summ.summarised)} readings in summaries)`,
        goal: '≥ 10× fewer',
        met: ratio >= 10,
      },
      {
        metric: 'process RSS after the drain (hub and centre together)',
        value: `${fmt(full.rss / 2 ** 20)} MiB (${fmt(full.rss0 / 2 ** 20)} MiB before the outage)`,
      },
    ],
    notes:
      "Alert latency: after the bulk ingest, with the uplink still down, 50 probes at the hub (a device behind it) and then 50 at the centre (a device of its own, the same rule: heart rate above 150 with no persistence, then back to 70 to clear), each timed from the POST to the `open` alert on that instance's live feed. With summaries the drain waits for the hold (a minute) to end. The hub alone under `MemoryMax=512M` is not measured here (both instances share this process).",
  };
}
