import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../core/errors.ts';
import { builtInProgram, builtInPrograms } from '../../detect/programs/index.ts';
import { replay, toNdjsonLine } from '../../detect/replay.ts';
import type { Command } from '../command.ts';

/**
 * `vigil replay FILE [--program NAME[,NAME…]] [--out FILE] [--tick-seconds N]`: runs the detection
 * engine over recorded readings (native NDJSON or FHIR Observations, one per line; see
 * src/detect/replay-input.ts) in event time and writes alert events as NDJSON. Every patient in the
 * file is enrolled in the named programs (default inpatient-continuous). No server, deterministic.
 */
export const command: Command = {
  name: 'replay',
  summary: 'Replay recorded readings through the detection rules and print the alerts (NDJSON)',
  usage: `vigil replay FILE [--program NAME[,NAME…]] [--out FILE] [--tick-seconds N]
  FILE            NDJSON: native lines {"patient","device","time","code","value","unit",…},
                  device status lines {"type":"status",…}, or FHIR R4 Observations
  --program       monitoring programs to enrol every patient in (default inpatient-continuous);
                  built in: ${builtInPrograms.map((p) => p.name).join(', ')}
  --out FILE      write events there instead of stdout
  --tick-seconds  event-time step for data-gap checks (default 60)`,
  async run(args) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (e) {
      process.stderr.write(`vigil replay: ${errorMessage(e)}\n${this.usage}\n`);
      return 2;
    }
    const { file, programs, out, tickSeconds } = parsed;
    const defs = [];
    for (const name of programs) {
      const p = builtInProgram(name);
      if (p === undefined) {
        process.stderr.write(
          `vigil replay: unknown program '${name}' (built in: ${builtInPrograms.map((x) => x.name).join(', ')})\n`,
        );
        return 2;
      }
      defs.push(p);
    }
    const sink = out === undefined ? process.stdout : createWriteStream(out);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    try {
      const it = replay(
        lines,
        { programs: defs, patients: {}, defaultEnrolment: { programs } },
        {
          tickSeconds,
          onError: (e) => process.stderr.write(`vigil replay: skipped ${e.message}\n`),
        },
      );
      let r = await it.next();
      while (!r.done) {
        if (!sink.write(toNdjsonLine(r.value)))
          await new Promise<void>((ok) => sink.once('drain', () => ok()));
        r = await it.next();
      }
      const s = r.value;
      process.stderr.write(
        `vigil replay: ${s.inputs} lines, ${s.errors} skipped, ${s.events} alert events\n`,
      );
      return s.errors > 0 ? 1 : 0;
    } catch (e) {
      process.stderr.write(`vigil replay: ${errorMessage(e)}\n`);
      return 1;
    } finally {
      if (sink !== process.stdout)
        await new Promise<void>((ok) => (sink as NodeJS.WritableStream).end(() => ok()));
    }
  },
};

function parse(args: string[]): {
  file: string;
  programs: string[];
  out: string | undefined;
  tickSeconds: number;
} {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { program: { type: 'string' }, out: { type: 'string' }, 'tick-seconds': { type: 'string' } },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new Error('expected exactly one FILE');
  const tickSeconds = values['tick-seconds'] === undefined ? 60 : Number(values['tick-seconds']);
  if (!Number.isFinite(tickSeconds) || tickSeconds <= 0)
    throw new Error('--tick-seconds must be a positive number');
  const programs = (values.program ?? 'inpatient-continuous')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { file, programs, out: values.out, tickSeconds };
}
