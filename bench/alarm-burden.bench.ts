import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertMetrics } from '../src/alerts/alert-metrics.ts';
import { newId } from '../src/core/ids.ts';
import { alarmBurden } from '../src/program/alarm-burden-data.ts';
import { toJsonParam } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { openDatabase } from '../src/store/open-database.ts';
import { type BenchResult, fmt, percentile } from './harness.ts';

/**
 * Alarm burden across units (docs/alarm-burden.md) on a synthetic month: patients on bedside
 * monitors spread over units and gateways, alarms at random times plus planted gateway outages (each
 * raising a gap alarm for every patient behind the gateway within 3 minutes). Measured: the query
 * time per unit, against the existing program alert metrics over the same alerts in the same run
 * (the peer), and whether flood grouping finds exactly the planted outages.
 */
export default async function run(opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const patients = opts.quick ? 100 : opts.large ? 2000 : 500;
  const units = 10;
  const gateways = 25;
  const alarmsPerPatient = 20;
  const outages = 6;
  const days = 30;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-burden-'));
  const db = await openDatabase({ dataDir: dir });
  try {
    await migrate(db);
    const until = Date.parse('2026-04-01T00:00:00Z');
    const since = until - days * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    let seed = 19;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    // zones: one site, building, floor; units with 5 rooms each
    await db.exec(`insert into location (id, name, kind, part_of) values ('s', 'Site', 'site', null),
      ('b', 'Main', 'building', 's'), ('f', 'Floor', 'floor', 'b')`);
    for (let u = 0; u < units; u++) {
      await db.query(`insert into location (id, name, kind, part_of) values ($1, $2, 'unit', 'f')`, [
        `u${u}`,
        `Unit ${u}`,
      ]);
      for (let r = 0; r < 5; r++)
        await db.query(`insert into location (id, name, kind, part_of) values ($1, $1, 'room', $2)`, [
          `u${u}-r${r}`,
          `u${u}`,
        ]);
    }
    await db.query(
      `insert into device (id, kind) select 'gw-' || g, 'gateway' from generate_series(0, $1::int - 1) g`,
      [gateways],
    );
    await db.query(
      `insert into device (id, kind) select 'mon-' || p, 'bedside-monitor' from generate_series(0, $1::int - 1) p`,
      [patients],
    );
    await db.query(
      `insert into equipment (device_id, availability, availability_since, location_id)
       select 'mon-' || p, 'in-use', now(), 'u' || (p % $2::int) || '-r' || (p % 5) from generate_series(0, $1::int - 1) p`,
      [patients, units],
    );
    // gateway g serves patients of one unit: p ≡ g (mod gateways), units = p mod 10
    await db.query(
      `insert into gateway_device (device_id, gateway_id, linked_at)
       select 'mon-' || p, 'gw-' || (p % $2::int), now() from generate_series(0, $1::int - 1) p`,
      [patients, gateways],
    );
    // one reading per patient per day: the bed-days
    await db.query(
      `insert into observation (id, patient_id, device_id, code, effective, received, value, unit, idem_key)
       select gen_random_uuid(), 'pt-' || p, 'mon-' || p, '8867-4', $2::timestamptz + (d || ' days')::interval + interval '12 hours',
         $2::timestamptz + (d || ' days')::interval + interval '12 hours', 70, '/min', 'bb-' || p || '-' || d
       from generate_series(0, $1::int - 1) p, generate_series(0, $3::int - 1) d`,
      [patients, iso(since), days],
    );
    const rules = ['threshold', 'news2', 'trend', 'signal-quality'];
    const rows: Array<Record<string, unknown>> = [];
    const add = (p: number, rule: string, key: string, at: number) => {
      const acked = rnd() < 0.6;
      const ack = acked ? at + (30 + rnd() * 600) * 1000 : null;
      const auto = rnd() < 0.5;
      const resolved = at + (60 + rnd() * 3600) * 1000;
      rows.push({
        id: newId(),
        patient_id: `pt-${p}`,
        condition_key: key,
        rule,
        state: 'resolved',
        device_id: `mon-${p}`,
        at: iso(at),
        ack: ack === null ? null : iso(Math.min(ack, resolved)),
        resolved: iso(resolved),
        resolution: auto ? 'automatic' : 'manual',
      });
    };
    for (let p = 0; p < patients; p++)
      for (let k = 0; k < alarmsPerPatient; k++) {
        const rule = rules[Math.floor(rnd() * rules.length)] as string;
        add(p, rule, `${rule}:${k}`, since + Math.floor(rnd() * (days * 86_400_000 - 7200_000)));
      }
    const behind = (g: number) =>
      Array.from({ length: patients }, (_, p) => p).filter((p) => p % gateways === g);
    for (let o = 0; o < outages; o++) {
      const g = o * 4;
      const at = since + Math.floor(((o + 0.5) / outages) * days * 86_400_000);
      for (const p of behind(g)) add(p, 'missing-data', `gap:outage-${o}`, at + Math.floor(rnd() * 180_000));
    }
    for (let i = 0; i < rows.length; i += 5000)
      await db.query(
        `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, device_id, raised_at,
           last_detection_at, created_at, updated_at, first_acknowledged_at, resolved_at, resolution)
         select x.id, x.patient_id, x.condition_key, x.rule, 'low', x.state, 'bench', x.device_id, x.at, x.at, x.at, x.at,
           x.ack, x.resolved, x.resolution
         from jsonb_to_recordset($1::jsonb) as x(id uuid, patient_id text, condition_key text, rule text, state text,
           device_id text, at timestamptz, ack timestamptz, resolved timestamptz, resolution text)`,
        [toJsonParam(rows.slice(i, i + 5000))],
      );
    const runs = opts.quick ? 3 : 7;
    const time = async (fn: () => Promise<unknown>) => {
      const t: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await fn();
        t.push(performance.now() - t0);
      }
      return t;
    };
    // interleaved: burden, peer, burden, peer… so machine load hits both alike
    const burdenMs: number[] = [];
    const peerMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      burdenMs.push(...(await time(() => alarmBurden(db, iso(since), iso(until), 'unit'))).slice(0, 1));
      peerMs.push(...(await time(() => alertMetrics(db, iso(since), iso(until)))).slice(0, 1));
    }
    const r = await alarmBurden(db, iso(since), iso(until), 'unit');
    const planted = new Set(Array.from({ length: outages }, (_, o) => `gw-${o * 4}`));
    const found = r.incidents.filter((i) => i.gatewayId && planted.has(i.gatewayId)).length;
    const spurious = r.incidents.length - found;
    const perUnit = r.groups.filter((g) => g.id !== '(none)');
    return {
      title: 'Alarm burden across units',
      method: `Embedded PGlite. ${patients} patients on bedside monitors in ${units} units (5 rooms each), behind ${gateways} gateways; ${days} days with one reading per patient per day (${patients * days} bed-days); ${alarmsPerPatient} alarms per patient at random times (4 rules, 60 % acknowledged, half of the resolutions automatic) plus ${outages} planted gateway outages, each a gap alarm for every patient behind the gateway within 3 min (${rows.length} alarms in all). Timed: \`alarmBurden\` grouped per unit (the query behind GET /api/v1/program/alarm-burden), and as its peer the existing program alert metrics (\`alertMetrics\`, behind GET /api/v1/program/metrics) over the same alerts, interleaved, ${runs} runs each; p50.`,
      figures: [
        { metric: 'alarms / bed-days', value: `${fmt(r.overall.alerts, 0)} / ${fmt(r.overall.bedDays, 0)}` },
        { metric: 'alarm-burden query per unit, p50', value: `${fmt(percentile(burdenMs, 50))} ms` },
        {
          metric: 'peer: program alert metrics, same alerts, p50',
          value: `${fmt(percentile(peerMs, 50))} ms`,
        },
        {
          metric: 'planted outages found as flood incidents',
          value: `${found} of ${outages}`,
          goal: `${outages} of ${outages}`,
          met: found === outages,
        },
        {
          metric: 'other flood incidents (coincidental bursts)',
          value: String(spurious),
          goal: '0',
          met: spurious === 0,
        },
        {
          metric: 'alarms after flood grouping',
          value: `${fmt(r.overall.afterFloodGrouping, 0)} (−${fmt(r.overall.alerts - r.overall.afterFloodGrouping, 0)})`,
        },
        {
          metric: 'alarms per bed-day, lowest / highest unit',
          value: `${fmt(Math.min(...perUnit.map((g) => g.alertsPerBedDay ?? 0)), 3)} / ${fmt(Math.max(...perUnit.map((g) => g.alertsPerBedDay ?? 0)), 3)}`,
        },
      ],
      notes:
        "The data are synthetic (uniform random alarm times), so the figures show the query cost and that flood grouping finds planted outages without grouping random alarms, not a real unit's burden. Both queries scan the alerts of the period; the alarm-burden query also walks the zone tree and joins each alert's device, gateway and zone (and, grouped per care team, its care teams), then groups in the process.",
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
