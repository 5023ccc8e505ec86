import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/** Small seeded PRNG (mulberry32) so a failing run can be repeated with the same seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env['VIGIL_TEST_FUZZ_SEED'] ?? 20261121);
const rounds = Number(process.env['VIGIL_TEST_FUZZ_ROUNDS'] ?? 2000);

const valid = [
  { messageId: 'x', time: '2026-05-01T10:00:00Z', type: 'heart-rate', value: 70, unit: '/min' },
  {
    time: '2026-05-01T10:00:00+02:00',
    type: 'blood-pressure',
    components: { systolic: 120, diastolic: 80 },
    unit: 'mm[Hg]',
  },
  { time: '2026-05-01T10:00:00Z', type: 'spo2', value: 96, unit: '%', flags: ['low-perfusion'] },
  { time: '2026-05-01T10:00:00Z', type: 'temperature', value: 99.1, unit: '[degF]' },
  { time: '2026-05-01T10:00:00Z', type: 'weight', value: 180, unit: '[lb_av]', battery: 80 },
];
const gattVectors: Array<[string, string]> = [
  ['2A35', '1E8A0058007800000004111429 3B3C00012700'.replace(/ /g, '')],
  ['2A37', '1E55320021 00'.replace(/ /g, '')],
  ['2A1C', '06B00E00FEDC070C050B321B04'],
  ['2A5F', '1C5F005A002000000000 57F0'.replace(/ /g, '')],
];
const weird: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  Number.NaN,
  '',
  'x'.repeat(50),
  [],
  {},
  { a: { b: { c: [] } } },
  '2026-13-45T99:99:99Z',
  '١٢٣',
  '\u0000',
  -0,
];

function mutateValue(r: () => number, v: unknown, depth = 0): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.15) return weird[Math.floor(r() * weird.length)];
  if (Array.isArray(v)) return v.map((x) => mutateValue(r, x, depth + 1));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = r();
      if (p < 0.1) continue; // drop a field
      o[p < 0.15 ? `${k}_` : k] = p < 0.5 ? mutateValue(r, x, depth + 1) : x;
    }
    if (r() < 0.1) o['unexpected'] = weird[Math.floor(r() * weird.length)];
    return o;
  }
  if (typeof v === 'number') return r() < 0.5 ? v * (r() * 20 - 5) : -v;
  if (typeof v === 'string')
    return r() < 0.5
      ? v.slice(0, Math.floor(r() * v.length))
      : v + String.fromCharCode(Math.floor(r() * 0xffff));
  return v;
}

function mutateBytes(r: () => number, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const op = r();
  if (op < 0.3) return out.subarray(0, Math.floor(r() * out.length));
  if (op < 0.6) {
    for (let i = 0; i < 1 + r() * 3; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    return out;
  }
  if (op < 0.8)
    return Buffer.concat([
      out,
      Buffer.from(Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * 256))),
    ]);
  return Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
}

function randomPayload(r: () => number): { kind: 'json' | 'gatt'; characteristic?: string; body: Buffer } {
  const p = r();
  if (p < 0.45) {
    const base = valid[Math.floor(r() * valid.length)];
    const shape = r();
    const item = mutateValue(r, base);
    const json = shape < 0.5 ? item : shape < 0.8 ? { readings: [item, mutateValue(r, base)] } : [item];
    let text = JSON.stringify(json) ?? 'null';
    if (r() < 0.15) text = text.slice(0, Math.floor(r() * text.length)); // truncated JSON
    return { kind: 'json', body: Buffer.from(text) };
  }
  if (p < 0.85) {
    const [ch, hex] = gattVectors[Math.floor(r() * gattVectors.length)] as [string, string];
    return { kind: 'gatt', characteristic: ch, body: mutateBytes(r, Buffer.from(hex, 'hex')) };
  }
  return {
    kind: 'json',
    body: Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))),
  };
}

describe(`fuzz: random and mutated payloads over HTTP and MQTT (seed ${seed}, ${rounds} rounds)`, () => {
  let t: InProcess;
  let secret: string;
  before(async () => {
    t = await startInProcess({ mqtt: true, env: { VIGIL_LOG_LEVEL: 'warn' } });
    const reg = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${await t.token()}` },
      payload: { id: 'fuzz-1', kind: 'bedside-monitor' },
    });
    secret = (reg.json() as { secret: string }).secret;
  });
  after(async () => t?.stop());

  it('never crashes, answers every payload with a coded result, keeps memory bounded and stores exactly what it accepted', async () => {
    const r = rng(seed);
    const acceptedIds = new Set<string>();
    let rejected = 0;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;

    // HTTP
    for (let i = 0; i < rounds; i++) {
      const p = randomPayload(r);
      const res = await t.inject({
        method: 'POST',
        url: p.kind === 'gatt' ? `/ingest/v1/gatt/${p.characteristic}` : '/ingest/v1/readings',
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': p.kind === 'gatt' ? 'application/octet-stream' : 'application/json',
        },
        payload: p.body,
      });
      assert.ok(
        [200, 400, 413].includes(res.statusCode),
        `unexpected status ${res.statusCode} for ${p.kind} ${p.characteristic ?? ''} ${p.body.toString(p.kind === 'gatt' ? 'hex' : 'utf8').slice(0, 300)}: ${res.body.slice(0, 200)}`,
      );
      const body = res.json() as {
        results?: Array<{ status: string; ids?: string[]; reason?: string }>;
        error?: { code: string };
      };
      if (!body.results) {
        assert.match(body.error?.code ?? '', /^VIGIL_ERR_/);
        continue;
      }
      for (const x of body.results) {
        if (x.status === 'rejected') {
          rejected++;
          assert.match(x.reason ?? '', /^VIGIL_ERR_/, 'every rejection has a reason code');
        } else for (const id of x.ids ?? []) acceptedIds.add(id);
      }
    }

    // MQTT: the same kind of payloads from a real client; each QoS 1 publish returns after its PUBACK
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.vigil.mqttPort}`, {
      username: 'fuzz-1',
      password: secret,
      reconnectPeriod: 0,
    });
    const mqttRounds = Math.floor(rounds / 3);
    for (let i = 0; i < mqttRounds; i++) {
      const p = randomPayload(r);
      await client.publishAsync(
        p.kind === 'gatt' ? `devices/fuzz-1/gatt/${p.characteristic}` : 'devices/fuzz-1/readings',
        p.body,
        { qos: 1 },
      );
    }
    await client.endAsync();

    const health = await t.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200, 'still alive');

    const stored = await t.vigil.db.query<{ id: string; transport: string }>(
      `select id::text, data->>'transport' as transport from observation where device_id = 'fuzz-1'`,
    );
    const httpStored = stored.filter((s) => s.transport === 'http').map((s) => s.id);
    assert.deepEqual(
      new Set(httpStored),
      acceptedIds,
      'the store holds exactly the readings HTTP said it accepted',
    );
    const letters = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from dead_letter where device_id = 'fuzz-1'`,
    );
    assert.ok((letters[0]?.n ?? 0) >= rejected, 'every rejection was kept as a dead letter');
    assert.ok(
      rejected > rounds / 10 && acceptedIds.size > 10,
      `the fuzzer exercised both paths (accepted ${acceptedIds.size}, rejected ${rejected})`,
    );

    global.gc?.();
    const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.ok(growthMb < 200, `heap grew ${growthMb.toFixed(1)} MiB`);
  });
});
