/**
 * LoRaWAN uplinks as the network servers deliver them to an HTTP integration, in their documented
 * JSON: ChirpStack v4 (HTTP integration, JSON encoding, `?event=up`; fields in protobuf JSON
 * camelCase: `deviceInfo.devEui`, `devAddr`, `fCnt`, `fPort`, `data` base64, `object` when the
 * device profile has a codec, `rxInfo[]`, `time`) and The Things Stack v3 (webhook `uplink_message`:
 * `end_device_ids.dev_eui`, `dev_addr`, `uplink_message.f_cnt`, `f_port`, `frm_payload` base64,
 * `decoded_payload`, `session_key_id`, `rx_metadata[]`, `received_at`).
 *
 * Pure: bytes in, a normalized uplink or a coded error out.
 */
import { VigilError } from '../../core/errors.ts';

export const LorawanNetwork = { chirpstack: 'chirpstack', tts: 'tts' } as const;
export type LorawanNetwork = (typeof LorawanNetwork)[keyof typeof LorawanNetwork];

export interface Uplink {
  network: LorawanNetwork;
  /** EUI-64, upper-case hex without separators. */
  devEui: string;
  /** The session the frame counter belongs to (TTS session key id, else the device address). */
  session: string;
  fCnt: number;
  fPort: number | undefined;
  bytes: Uint8Array;
  /** When the network server received the frame (ms since the epoch), if it says. */
  receivedAt: number | undefined;
  /** What the network server's own payload codec produced, if any. */
  decoded: Record<string, unknown> | undefined;
  /** Gateways that heard the frame (informative). */
  gateways: number;
}

export type UplinkParse = { kind: 'uplink'; uplink: Uplink } | { kind: 'other-event'; event: string };

const bad = (message: string) => new VigilError('VIGIL_ERR_LORAWAN_BAD_UPLINK', message, 400);

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function eui(v: unknown, field: string): string {
  if (typeof v !== 'string') throw bad(`${field} is missing`);
  const hex = v.replace(/[-:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{16}$/.test(hex)) throw bad(`${field} is not an EUI-64 (16 hex digits)`);
  return hex;
}

function counter(v: unknown, field: string): number {
  // Protobuf JSON writes uint32 as a number; some bridges send a decimal string.
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw bad(`${field} is not a frame counter`);
  return n;
}

function port(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
    throw bad(`${field} is not an FPort`);
  return v;
}

function base64(v: unknown, field: string): Uint8Array {
  if (v === undefined || v === null || v === '') return new Uint8Array(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
    throw bad(`${field} is not base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

export function parseUplink(network: LorawanNetwork, body: unknown, event?: string): UplinkParse {
  const root = obj(body);
  if (!root) throw bad('body is not a JSON object');
  return network === 'chirpstack' ? chirpstack(root, event) : tts(root);
}

function chirpstack(root: Record<string, unknown>, event: string | undefined): UplinkParse {
  if (event !== undefined && event !== 'up') return { kind: 'other-event', event };
  const info = obj(root.deviceInfo);
  if (!info) throw bad('deviceInfo is missing (is this a ChirpStack v4 "up" event in JSON encoding?)');
  const devEui = eui(info.devEui, 'deviceInfo.devEui');
  const devAddr = typeof root.devAddr === 'string' ? root.devAddr.toUpperCase() : 'nodevaddr';
  return {
    kind: 'uplink',
    uplink: {
      network: 'chirpstack',
      devEui,
      session: devAddr,
      fCnt: counter(root.fCnt ?? 0, 'fCnt'),
      fPort: port(root.fPort, 'fPort'),
      bytes: base64(root.data, 'data'),
      receivedAt: time(root.time),
      decoded: obj(root.object),
      gateways: Array.isArray(root.rxInfo) ? root.rxInfo.length : 0,
    },
  };
}

function tts(root: Record<string, unknown>): UplinkParse {
  const up = obj(root.uplink_message);
  if (!up) {
    const other = Object.keys(root).find((k) => k.endsWith('_message') || k === 'join_accept');
    if (other) return { kind: 'other-event', event: other };
    throw bad('uplink_message is missing (is this a The Things Stack v3 uplink webhook?)');
  }
  const ids = obj(root.end_device_ids);
  if (!ids) throw bad('end_device_ids is missing');
  const devEui = eui(ids.dev_eui, 'end_device_ids.dev_eui');
  const session =
    typeof up.session_key_id === 'string'
      ? up.session_key_id
      : typeof ids.dev_addr === 'string'
        ? ids.dev_addr.toUpperCase()
        : 'nosession';
  return {
    kind: 'uplink',
    uplink: {
      network: 'tts',
      devEui,
      session,
      fCnt: counter(up.f_cnt ?? 0, 'uplink_message.f_cnt'),
      fPort: port(up.f_port, 'uplink_message.f_port'),
      bytes: base64(up.frm_payload, 'uplink_message.frm_payload'),
      receivedAt: time(up.received_at) ?? time(root.received_at),
      decoded: obj(up.decoded_payload),
      gateways: Array.isArray(up.rx_metadata) ? up.rx_metadata.length : 0,
    },
  };
}
