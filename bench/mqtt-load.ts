/**
 * MQTT load generator for the ingest benchmarks, run as its own process (`fork`) so the parent can
 * read the server's memory while the devices are connected. It speaks MQTT 3.1.1 directly over
 * `net` sockets (CONNECT, PUBLISH QoS 1, PUBACK; a few hundred bytes of state per device) instead of
 * a full client library, so that as little as possible of the two shared cores goes to the load.
 *
 * Messages (IPC): {cmd:'connect', port, devices:[{id,secret}], keepalive} → {connected}
 *                 {cmd:'run', rate?, window?, warmupS, seconds} → {result}
 *                 {cmd:'close'} → exits.
 * `rate`: open loop, readings/s spread over all devices (latency from the scheduled send time, so a
 * server that falls behind shows it in the latency); `window`: closed loop, each device keeps that
 * many publishes in flight (the saturation throughput).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

interface Device {
  id: string;
  secret: string;
  sock: Socket;
  topic: Buffer;
  nextPid: number;
  seq: number;
  inflight: Map<number, number>; // packet id → scheduled send time (performance.now())
  backlog: number[]; // scheduled times not yet sent (per-device in-flight cap reached)
  buf: Buffer;
}

// like an MQTT 5 receive maximum: beyond it the device queues (the wait counts in the latency)
let maxInflightPerDevice = 4;

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    bytes.push(d);
  } while (n > 0);
  return Buffer.from(bytes);
}

function connectPacket(clientId: string, username: string, password: string, keepalive: number): Buffer {
  const vh = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, keepalive >> 8, keepalive & 0xff]);
  const body = Buffer.concat([vh, str(clientId), str(username), str(password)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

function publishPacket(topic: Buffer, pid: number, payload: Buffer): Buffer {
  const len = topic.length + 2 + payload.length;
  const rl = remainingLength(len);
  const out = Buffer.allocUnsafe(1 + rl.length + len);
  out[0] = 0x32; // PUBLISH, QoS 1
  rl.copy(out, 1);
  let o = 1 + rl.length;
  topic.copy(out, o);
  o += topic.length;
  out.writeUInt16BE(pid, o);
  payload.copy(out, o + 2);
  return out;
}

const devices: Device[] = [];
// each load process its own message ids: a rerun against the same database is new readings, not
// duplicates of the last run's (which would be acknowledged without an insert and flatter the figure)
const runId = randomBytes(4).toString('hex');
const base = Date.now() - 24 * 3600_000;
let measuring = false;
let latencies: number[] = [];
let acked = 0;
let ackedTotal = 0;
let refused = 0;
let onAck: ((d: Device) => void) | undefined;

function payloadFor(di: number, n: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      messageId: `${runId}-m${n}`,
      time: new Date(base + n * 1000 + (di % 1000)).toISOString(),
      type: 'heart-rate',
      value: 60 + (n % 40),
      unit: '/min',
    }),
  );
}

function send(d: Device, di: number, scheduled: number): void {
  let pid = d.nextPid;
  d.nextPid = pid >= 65535 ? 1 : pid + 1;
  while (d.inflight.has(pid)) pid = pid >= 65535 ? 1 : pid + 1;
  d.inflight.set(pid, scheduled);
  d.sock.write(publishPacket(d.topic, pid, payloadFor(di, d.seq++)));
}

function onData(d: Device, chunk: Buffer, connack: (rc: number) => void): void {
  let buf = d.buf.length ? Buffer.concat([d.buf, chunk]) : chunk;
  let o = 0;
  while (buf.length - o >= 2) {
    const type = (buf[o] as number) >> 4;
    let len = 0;
    let mult = 1;
    let i = o + 1;
    let b: number;
    do {
      if (i >= buf.length) {
        d.buf = buf.subarray(o);
        return;
      }
      b = buf[i++] as number;
      len += (b & 0x7f) * mult;
      mult *= 128;
    } while (b & 0x80);
    if (buf.length - i < len) break;
    if (type === 2) connack(buf[i + 1] as number);
    else if (type === 4) {
      const pid = buf.readUInt16BE(i);
      const t = d.inflight.get(pid);
      if (t !== undefined) {
        d.inflight.delete(pid);
        ackedTotal++;
        if (measuring) {
          acked++;
          latencies.push(performance.now() - t);
        }
        onAck?.(d);
      }
    }
    o = i + len;
  }
  d.buf = o < buf.length ? Buffer.from(buf.subarray(o)) : Buffer.alloc(0);
  buf = d.buf;
}

async function connectAll(port: number, list: Array<{ id: string; secret: string }>, keepalive: number) {
  const one = (x: { id: string; secret: string }) =>
    new Promise<void>((resolve, reject) => {
      const sock = connect({ port, host: '127.0.0.1', noDelay: true });
      const d: Device = {
        id: x.id,
        secret: x.secret,
        sock,
        topic: str(`devices/${x.id}/readings`),
        nextPid: 1,
        seq: 0,
        inflight: new Map(),
        backlog: [],
        buf: Buffer.alloc(0),
      };
      sock.on('data', (c: Buffer) =>
        onData(d, c, (rc) => (rc === 0 ? resolve() : reject(new Error(`CONNACK ${rc} for ${x.id}`)))),
      );
      sock.on('error', reject);
      sock.on('close', () => {
        if (d.inflight.size > 0) refused += d.inflight.size;
      });
      sock.write(connectPacket(x.id, x.id, x.secret, keepalive));
      devices.push(d);
    });
  for (let i = 0; i < list.length; i += 200) await Promise.all(list.slice(i, i + 200).map(one));
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function run(opts: {
  rate?: number;
  window?: number;
  maxInflight?: number;
  warmupS: number;
  seconds: number;
}) {
  maxInflightPerDevice = opts.maxInflight ?? 4;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const index = new Map(devices.map((d, i) => [d, i]));
  let stop = false;
  let timer: NodeJS.Timeout | undefined;
  if (opts.window) {
    const w = opts.window;
    onAck = (d) => {
      if (!stop) send(d, index.get(d) as number, performance.now());
    };
    for (const [i, d] of devices.entries()) for (let k = 0; k < w; k++) send(d, i, performance.now());
  } else {
    const rate = opts.rate ?? 1000;
    const t0 = performance.now();
    let scheduled = 0;
    let next = 0;
    onAck = (d) => {
      const due = d.backlog.shift();
      if (due !== undefined && !stop) send(d, index.get(d) as number, due);
    };
    const tick = () => {
      if (stop) return;
      const now = performance.now();
      const due = Math.floor(((now - t0) / 1000) * rate);
      for (; scheduled < due; scheduled++) {
        const di = next;
        next = (next + 1) % devices.length;
        const d = devices[di] as Device;
        // the intended send time of this message (spread evenly), not the tick time
        const at = t0 + (scheduled / rate) * 1000;
        if (d.inflight.size >= maxInflightPerDevice) d.backlog.push(at);
        else send(d, di, at);
      }
      timer = setTimeout(tick, 2);
    };
    tick();
  }
  await sleep(opts.warmupS * 1000);
  latencies = [];
  acked = 0;
  measuring = true;
  const cpu0 = process.cpuUsage();
  const m0 = performance.now();
  await sleep(opts.seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - m0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  if (timer) clearTimeout(timer);
  // let what is in flight finish (not measured), so the next run starts clean
  const deadline = performance.now() + 60_000;
  while (devices.some((d) => d.inflight.size > 0) && performance.now() < deadline) await sleep(50);
  for (const d of devices) d.backlog = [];
  onAck = undefined;
  const sorted = Float64Array.from(latencies).sort();
  return {
    acked,
    rate: acked / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    loadCpuPercent: ((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100,
    unacked: devices.reduce((n, d) => n + d.inflight.size, 0),
    refused,
    ackedTotal,
  };
}

process.on('message', (m: { cmd: string } & Record<string, unknown>) => {
  const reply = (x: unknown) => process.send?.(x);
  if (m.cmd === 'connect') {
    connectAll(
      m['port'] as number,
      m['devices'] as Array<{ id: string; secret: string }>,
      (m['keepalive'] as number) ?? 300,
    ).then(
      () => reply({ connected: devices.length }),
      (e: Error) => reply({ error: e.message }),
    );
  } else if (m.cmd === 'run') {
    run(m as unknown as { rate?: number; window?: number; warmupS: number; seconds: number }).then(
      (result) => reply({ result }),
      (e: Error) => reply({ error: e.message }),
    );
  } else if (m.cmd === 'close') {
    for (const d of devices) d.sock.end(Buffer.from([0xe0, 0])); // DISCONNECT
    setTimeout(() => process.exit(0), 200);
  }
});
