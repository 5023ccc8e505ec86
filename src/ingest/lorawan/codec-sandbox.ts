/**
 * Vendor payload codecs run off the main thread: a worker thread runs them in QuickJS
 * (codec-engine.ts, with QuickJS's own memory, stack and time limits), and this side holds a hard
 * deadline over each call — QuickJS checks its time limit only between bytecodes, so an allocation
 * storm near the memory limit could otherwise run long. A call past the deadline terminates the
 * worker (a new one serves the next call) and fails with VIGIL_ERR_LORAWAN_CODEC_FAILED. Calls are
 * served one at a time, in order.
 */
import { Worker } from 'node:worker_threads';
import { VigilError } from '../../core/errors.ts';
import { type CodecLimits, type DecodeInput, type DecodeOutput, defaultCodecLimits } from './codec-engine.ts';

export { type CodecLimits, type DecodeInput, type DecodeOutput, defaultCodecLimits };

export type CodecCall =
  | { id: number; op: 'check'; source: string; limits: CodecLimits }
  | {
      id: number;
      op: 'decode';
      source: string;
      input: { bytes: number[]; fPort: number | undefined; recvTime: number };
      limits: CodecLimits;
    };

type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; status: number } };

/** Grace over the codec's own time limit before the worker is terminated. */
const hardDeadlineMs = (limits: CodecLimits) => limits.timeoutMs * 2 + 1_000;

let worker: Promise<Worker> | undefined;
let nextId = 1;
let queue: Promise<unknown> = Promise.resolve();

function spawn(): Promise<Worker> {
  const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
  const w = new Worker(new URL('./codec-worker.ts', import.meta.url), {
    ...(inputType ? { execArgv: [] } : {}),
    resourceLimits: { maxOldGenerationSizeMb: 128 },
  });
  const ready = new Promise<Worker>((resolve, reject) => {
    w.once('message', () => resolve(w));
    w.once('error', reject);
  });
  w.on('exit', () => {
    if (worker === ready) worker = undefined;
  });
  return ready;
}

type Request = CodecCall extends infer C ? (C extends CodecCall ? Omit<C, 'id'> : never) : never;

function send(call: Request, limits: CodecLimits): Promise<unknown> {
  const run = async () => {
    worker ??= spawn();
    const w = await worker;
    const id = nextId++;
    w.ref(); // a call in flight keeps the process alive; an idle worker does not
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off('message', onMessage);
        worker = undefined;
        void w.terminate();
        reject(
          new VigilError(
            'VIGIL_ERR_LORAWAN_CODEC_FAILED',
            `the codec ran longer than ${limits.timeoutMs} ms`,
            422,
          ),
        );
      }, hardDeadlineMs(limits));
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        clearTimeout(timer);
        w.off('message', onMessage);
        w.unref();
        if (m.ok) resolve(m.result);
        else reject(new VigilError('VIGIL_ERR_LORAWAN_CODEC_FAILED', m.error.message, m.error.status));
      };
      w.on('message', onMessage);
      w.postMessage({ ...call, id });
    });
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Runs `source` and then `decodeUplink(input)`; throws VIGIL_ERR_LORAWAN_CODEC_FAILED on any failure. */
export async function runDecodeUplink(
  source: string,
  input: DecodeInput,
  limits: CodecLimits = defaultCodecLimits,
): Promise<DecodeOutput> {
  return (await send(
    {
      op: 'decode',
      source,
      input: { bytes: Array.from(input.bytes), fPort: input.fPort, recvTime: input.recvTime },
      limits,
    },
    limits,
  )) as DecodeOutput;
}

/** Checks that a codec compiles and defines decodeUplink, without running it on data. */
export async function checkCodec(source: string, limits: CodecLimits = defaultCodecLimits): Promise<void> {
  await send({ op: 'check', source, limits }, limits);
}
