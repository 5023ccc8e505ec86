import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../core/errors.ts';
import { builtInProgram, builtInPrograms } from '../../detect/programs/index.ts';
import { replay, toNdjsonLine } from '../../detect/replay.ts';
import type { Command } from '../command.ts';

/**
 * `vigil replay FILE [--program NAME[,NAME…]] [--out FILE] [--tick-seconds N] [--until TIME]`: runs
 * the detection engine over recorded readings (native NDJSON or FHIR Observations, one per line;
 * see src/detect/replay-input.ts) in event time and writes alert events as NDJSON. Every patient in
 * the file is enrolled in the named programs (default inpatient-continuous) unless an enrolment line
 * of the file enrols them (programs, SpO2 scale, rule overrides; from its time on). `--until`
 * advances event time to TIME after the last line, so a device silent at the end raises its gap.
 * No server, deterministic.
 */
export const command: Command = {
  name: 'replay',
  summary: 'Replay recorded readings through the detection rules and print the alerts (NDJSON)',
  usage: `vigil replay FILE [--program NAME[,NAME…]] [--out FILE] [--tick-seconds N] [--until TIME]
  FILE            NDJSON: native lines {"patient","device","time","code","value","unit",…},
                  device status lines {"type":"status",…}, enrolment lines
                  {"type":"enrol","patient","time","programs":[…],"spo2Scale"?,"rules"?,"disable"?},
                  or FHIR R4 Observations
  --program       monitoring programs to enrol patients without an enrolment line in (default
                  inpatient-continuous); built in: ${builtInPrograms.map((p) => p.name).join(', ')}
  --until TIME    advance event time to TIME (ISO 8601) after the last line (gap alerts)
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
    const { file, programs, out, tickSeconds, untilMs } = parsed;
    for (const name of programs) {
      const p = builtInProgram(name);
      if (p === undefined) {
        process.stderr.write(
          `vigil replay: unknown program '${name}' (built in: ${builtInPrograms.map((x) => x.name).join(', ')})\n`,
        );
        return 2;
      }
    }
    const sink = out === undefined ? process.stdout : createWriteStream(out);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    try {
      const it = replay(
        lines,
        // Every built-in program, so that enrolment lines may name any of them.
        { programs: builtInPrograms, patients: {}, defaultEnrolment: { programs } },
        {
          tickSeconds,
          ...(untilMs === undefined ? {} : { untilMs }),
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
  untilMs: number | undefined;
} {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      out: { type: 'string' },
      'tick-seconds': { type: 'string' },
      until: { type: 'string' },
    },
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
  let untilMs: number | undefined;
  if (values.until !== undefined) {
    untilMs = /^\d{4}-\d{2}-\d{2}T/.test(values.until) ? Date.parse(values.until) : Number.NaN;
    if (Number.isNaN(untilMs))
      throw new Error('--until must be an ISO 8601 date-time, e.g. 2026-03-02T00:00:00Z');
  }
  return { file, programs, out: values.out, tickSeconds, untilMs };
}
