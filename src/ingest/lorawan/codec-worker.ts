/** Worker thread that runs vendor codecs (codec-engine.ts) for codec-sandbox.ts. */
import { parentPort } from 'node:worker_threads';
import { isVigilError } from '../../core/errors.ts';
import { checkCodec, runDecodeUplink } from './codec-engine.ts';
import type { CodecCall } from './codec-sandbox.ts';

parentPort?.on('message', async (call: CodecCall) => {
  try {
    const result =
      call.op === 'check'
        ? await checkCodec(call.source, call.limits)
        : await runDecodeUplink(
            call.source,
            { ...call.input, bytes: new Uint8Array(call.input.bytes) },
            call.limits,
          );
    parentPort?.postMessage({ id: call.id, ok: true, result: result ?? null });
  } catch (e) {
    parentPort?.postMessage({
      id: call.id,
      ok: false,
      error: isVigilError(e)
        ? { message: e.message, status: e.status }
        : {
            message: `the codec failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300),
            status: 422,
          },
    });
  }
});
parentPort?.postMessage({ ready: true });
