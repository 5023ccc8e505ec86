/**
 * The in-thread engine behind codec-sandbox.ts (run inside its worker thread).
 *
 * Vendor payload codecs (LoRa Alliance TS013 "Payload Codec API", the convention of The Things
 * Stack's and ChirpStack v4's codecs: `function decodeUplink(input) { return { data, warnings, errors } }`
 * with `input = { bytes, fPort, recvTime }`) run inside QuickJS compiled to WebAssembly
 * (quickjs-emscripten), never in Node's `vm` (which is not a security boundary). Each decode gets a
 * fresh runtime with a memory limit, a stack limit and a deadline, and sees no Node API, no network,
 * no clock but the `recvTime` it is given. What comes out is JSON only.
 *
 * Why a WebAssembly engine and not a hand-written interpreter: vendors publish their codecs as
 * JavaScript; running them unchanged is the point, and QuickJS is a complete, maintained engine.
 */
import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSWASMModule,
  shouldInterruptAfterDeadline,
} from 'quickjs-emscripten-core';
import { isVigilError, VigilError } from '../../core/errors.ts';

export interface CodecLimits {
  memoryBytes: number;
  stackBytes: number;
  timeoutMs: number;
}

export const defaultCodecLimits: CodecLimits = {
  memoryBytes: 16 * 1024 * 1024,
  stackBytes: 128 * 1024,
  timeoutMs: 200,
};

export interface DecodeInput {
  bytes: Uint8Array;
  fPort: number | undefined;
  recvTime: number;
}

export interface DecodeOutput {
  data: unknown;
  warnings: string[];
}

let modulePromise: Promise<QuickJSWASMModule> | undefined;
const engine = () => {
  // The variant package's types describe its CommonJS shape; its ESM default export is the variant.
  modulePromise ??= newQuickJSWASMModuleFromVariant(
    variant as unknown as Parameters<typeof newQuickJSWASMModuleFromVariant>[0],
  );
  return modulePromise;
};

/**
 * Frees a decode's runtime. QuickJS can leak objects when a script dies of a stack overflow; freeing
 * such a runtime aborts its WebAssembly instance, so that instance is dropped and the next decode gets
 * a new one (the codec's own error is what the caller sees).
 */
function release(vm: { dispose(): void }, runtime: { dispose(): void }): void {
  try {
    vm.dispose();
    runtime.dispose();
  } catch {
    modulePromise = undefined;
  }
}

const codecError = (message: string, status = 422) =>
  new VigilError('VIGIL_ERR_LORAWAN_CODEC_FAILED', message, status);

/** Runs `source` and then `decodeUplink(input)`; throws VIGIL_ERR_LORAWAN_CODEC_FAILED on any failure. */
export async function runDecodeUplink(
  source: string,
  input: DecodeInput,
  limits: CodecLimits = defaultCodecLimits,
): Promise<DecodeOutput> {
  const mod = await engine();
  const runtime = mod.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  const vm = runtime.newContext();
  try {
    const call = `${source}
;(function () {
  if (typeof decodeUplink !== 'function') throw new Error('the codec defines no decodeUplink(input) function');
  var out = decodeUplink({ bytes: ${JSON.stringify(Array.from(input.bytes))}, fPort: ${input.fPort ?? 'undefined'}, recvTime: new Date(${input.recvTime}) });
  return JSON.stringify(out === undefined ? null : out);
})()`;
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.timeoutMs));
    const result = vm.evalCode(call, 'codec.js');
    if (result.error) {
      const dumped = vm.dump(result.error) as { name?: string; message?: string } | string;
      result.error.dispose();
      const message =
        typeof dumped === 'string' ? dumped : `${dumped?.name ?? 'Error'}: ${dumped?.message ?? ''}`;
      throw codecError(
        /interrupted/.test(message)
          ? `the codec ran longer than ${limits.timeoutMs} ms`
          : /out of memory/i.test(message)
            ? `the codec needed more than ${Math.round(limits.memoryBytes / 1048576)} MiB`
            : `the codec threw ${message.slice(0, 300)}`,
      );
    }
    const text = vm.getString(result.value);
    result.value.dispose();
    const out = JSON.parse(text) as unknown;
    const o =
      out && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : undefined;
    if (!o) throw codecError('decodeUplink returned no object');
    const errors = Array.isArray(o.errors) ? o.errors.map(String) : [];
    if (errors.length > 0) throw codecError(`the codec reported: ${errors.join('; ').slice(0, 300)}`);
    if (o.data === undefined || o.data === null) throw codecError('decodeUplink returned no data');
    return { data: o.data, warnings: Array.isArray(o.warnings) ? o.warnings.map(String) : [] };
  } catch (e) {
    if (isVigilError(e)) throw e;
    throw codecError(`the codec failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300));
  } finally {
    release(vm, runtime);
  }
}

/** Checks that a codec compiles and defines decodeUplink, without running it on data. */
export async function checkCodec(source: string, limits: CodecLimits = defaultCodecLimits): Promise<void> {
  const mod = await engine();
  const runtime = mod.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  const vm = runtime.newContext();
  try {
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.timeoutMs));
    const r = vm.evalCode(`${source}\n;typeof decodeUplink`, 'codec.js');
    if (r.error) {
      const dumped = vm.dump(r.error) as { message?: string } | string;
      r.error.dispose();
      throw codecError(
        `the codec does not load: ${typeof dumped === 'string' ? dumped : (dumped?.message ?? '')}`.slice(
          0,
          300,
        ),
        400,
      );
    }
    const kind = vm.getString(r.value);
    r.value.dispose();
    if (kind !== 'function') throw codecError('the codec defines no decodeUplink(input) function', 400);
  } finally {
    release(vm, runtime);
  }
}
