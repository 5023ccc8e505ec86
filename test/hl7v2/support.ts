import { connect, type Socket } from 'node:net';

export const corpusDir = new URL('../../test/corpora/hl7v2/ipf/', import.meta.url);

/** Corpus files store segments with CRLF; MLLP traffic uses CR alone. */
export function asWire(text: string): string {
  return text.replace(/\r\n/g, '\r').replace(/\n/g, '\r');
}

export const frameOf = (text: string) =>
  Buffer.concat([Buffer.from([0x0b]), Buffer.from(text, 'latin1'), Buffer.from([0x1c, 0x0d])]);

/** An MLLP client that collects acknowledgement frames. */
export class MllpClient {
  readonly socket: Socket;
  readonly acks: string[] = [];
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      for (;;) {
        const start = this.#buf.indexOf(0x0b);
        const end = this.#buf.indexOf(0x1c);
        if (start < 0 || end < 0 || end + 1 >= this.#buf.length) break;
        this.acks.push(this.#buf.subarray(start + 1, end).toString('latin1'));
        this.#buf = this.#buf.subarray(end + 2);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static open(port: number): Promise<MllpClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new MllpClient(s)));
      s.once('error', reject);
    });
  }

  /** Waits until `n` acknowledgements arrived in total (or the connection closed). */
  async waitFor(n: number): Promise<string[]> {
    while (this.acks.length < n && !this.closed) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    return this.acks.slice(0, n);
  }

  async send(text: string): Promise<string> {
    const n = this.acks.length + 1;
    this.socket.write(frameOf(text));
    const acks = await this.waitFor(n);
    const ack = acks[n - 1];
    if (ack === undefined) throw new Error('connection closed before the acknowledgement');
    return ack;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface ParsedAck {
  type: string;
  code: string;
  controlId: string;
  ackId: string;
  err: string[] | undefined;
}

export function parseAck(ack: string): ParsedAck {
  const segs = ack.split('\r').filter(Boolean);
  const msh = (segs.find((s) => s.startsWith('MSH')) ?? '').split('|');
  const msa = (segs.find((s) => s.startsWith('MSA')) ?? '').split('|');
  const err = segs.find((s) => s.startsWith('ERR'))?.split('|');
  return { type: msh[8] ?? '', ackId: msh[9] ?? '', code: msa[1] ?? '', controlId: msa[2] ?? '', err };
}
