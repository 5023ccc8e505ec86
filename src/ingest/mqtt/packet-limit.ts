/**
 * The MQTT packet-size limit, enforced in the parser: the moment a packet's fixed header announces
 * its remaining length, before any of its body is buffered. Aedes (MQTT 3.1.1) and mqtt-packet have
 * no such option; without it a publish announcing 256 MB is read into memory in full and only then
 * refused. MQTT 3.1.1 has no "packet too large" reason code (that is MQTT 5's DISCONNECT 0x95, which
 * Aedes does not speak): the server closes the network connection, as the specification says for a
 * protocol violation. A QoS 1 publish closed this way is not acknowledged, so a device that keeps
 * resending it is refused again each time, cheaply.
 */

/** What is known of an oversized packet when it is refused (its body is never read). */
export interface OversizePacket {
  /** MQTT packet type: 'publish', 'connect', … */
  cmd: string;
  qos: number;
  /** Remaining length the fixed header announced, bytes. */
  announced: number;
  /** The topic, when its bytes arrived with the header. */
  topic: string | undefined;
  /** The first bytes of the variable header and payload that had arrived (at most 4 KiB). */
  head: Buffer;
}

interface ParserInternals {
  packet: { cmd: string; qos: number; length: number };
  _list: { length: number; slice(start: number, end: number): Buffer };
  _parseLength(): boolean;
  parse(buf: Buffer): number;
}

/** Room for the fixed header, topic (≤ 65,535 bytes by its 16-bit length) and packet id above the payload limit. */
export function packetLimitFor(maxPayloadBytes: number): number {
  return maxPayloadBytes + 2 + 65_535 + 2;
}

/**
 * Wraps the parser of one Aedes client: a packet whose remaining length exceeds `maxPacketBytes`
 * stops the parser (nothing more is read from the connection) and `onOversize` decides the rest
 * (it closes the connection).
 */
export function limitPacketSize(
  client: unknown,
  maxPacketBytes: number,
  onOversize: (p: OversizePacket) => void,
): void {
  const parser = (client as { _parser?: ParserInternals })._parser;
  if (!parser || typeof parser._parseLength !== 'function') {
    throw new Error('MQTT packet limit: the broker parser is not the expected mqtt-packet parser');
  }
  const parseLength = parser._parseLength;
  parser._parseLength = function (this: ParserInternals): boolean {
    const done = parseLength.call(this);
    if (!done || this.packet.length <= maxPacketBytes) return done;
    const head = Buffer.from(this._list.slice(0, Math.min(this._list.length, 4096)));
    let topic: string | undefined;
    if (this.packet.cmd === 'publish' && head.length >= 2) {
      const n = head.readUInt16BE(0);
      if (head.length >= 2 + n)
        topic = head
          .subarray(2, 2 + n)
          .toString('utf8')
          .toWellFormed();
    }
    const info: OversizePacket = {
      cmd: this.packet.cmd,
      qos: this.packet.qos,
      announced: this.packet.length,
      topic,
      head,
    };
    // drop what was buffered and read nothing more
    this.parse = () => 0;
    (this as unknown as { _list: unknown })._list = { length: 0, slice: () => Buffer.alloc(0) };
    onOversize(info);
    return false;
  };
}
