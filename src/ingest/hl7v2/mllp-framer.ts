/**
 * MLLP framing (clinical-reference §4.1): `0x0B` + message + `0x1C 0x0D`. Bytes arrive in arbitrary
 * TCP chunks, so frames are assembled across reads: a message may span many reads and a read may
 * hold several messages. Bytes outside a frame are dropped; a frame larger than the limit is
 * reported once and its remaining bytes are skipped up to its end.
 */
export const MLLP_START = 0x0b;
export const MLLP_END = 0x1c;
export const MLLP_CR = 0x0d;

export type FrameEvent = { kind: 'message'; bytes: Buffer } | { kind: 'oversize'; head: Buffer };

export function frame(message: string | Buffer): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return Buffer.concat([Buffer.from([MLLP_START]), body, Buffer.from([MLLP_END, MLLP_CR])]);
}

export class MllpFramer {
  readonly #max: number;
  #parts: Buffer[] = [];
  #size = 0;
  #inFrame = false;
  #skipping = false;
  /** Saw 0x1C as the last byte of a read: the frame ends if the next byte is 0x0D. */
  #pendingEnd = false;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#pendingEnd) {
        this.#pendingEnd = false;
        if (chunk[i] === MLLP_CR) {
          this.#finish(out);
          i++;
          continue;
        }
        this.#append(Buffer.from([MLLP_END]), out); // a lone 0x1C belongs to the content
      }
      if (!this.#inFrame) {
        const start = chunk.indexOf(MLLP_START, i);
        if (start < 0) break;
        this.#inFrame = true;
        this.#skipping = false;
        this.#parts = [];
        this.#size = 0;
        i = start + 1;
        continue;
      }
      const end = chunk.indexOf(MLLP_END, i);
      const restart = chunk.indexOf(MLLP_START, i);
      if (restart >= 0 && (end < 0 || restart < end)) {
        // A new start block before the end: the sender gave up on the previous frame.
        this.#inFrame = false;
        i = restart;
        continue;
      }
      if (end < 0) {
        this.#append(chunk.subarray(i), out);
        break;
      }
      this.#append(chunk.subarray(i, end), out);
      if (end + 1 >= chunk.length) {
        this.#pendingEnd = true;
        break;
      }
      if (chunk[end + 1] === MLLP_CR) {
        this.#finish(out);
        i = end + 2;
      } else {
        this.#append(chunk.subarray(end, end + 1), out);
        i = end + 1;
      }
    }
    return out;
  }

  #append(part: Buffer, out: FrameEvent[]): void {
    if (this.#skipping || part.length === 0) return;
    if (this.#size + part.length > this.#max) {
      out.push({ kind: 'oversize', head: Buffer.concat([...this.#parts, part]).subarray(0, 4096) });
      this.#skipping = true;
      this.#parts = [];
      this.#size = 0;
      return;
    }
    this.#parts.push(Buffer.from(part)); // copy: the socket may reuse its buffer
    this.#size += part.length;
  }

  #finish(out: FrameEvent[]): void {
    if (!this.#skipping) out.push({ kind: 'message', bytes: Buffer.concat(this.#parts) });
    this.#inFrame = false;
    this.#skipping = false;
    this.#parts = [];
    this.#size = 0;
  }
}
