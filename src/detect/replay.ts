import type { Detection } from '../core/detection.ts';
import type { Severity } from '../core/severity.ts';
import { createEngine, type EngineConfig, type EngineStats } from './engine.ts';
import { parseReplayItem } from './replay-input.ts';
import type { ReadingDraft } from './rule-kind.ts';

/**
 * Replay: the same engine, in event time, over recorded readings (NDJSON lines or parsed objects,
 * formats in replay-input.ts). Before each input, `tick` is called at every `tickSeconds` step of
 * event time passed since the last one, so data gaps fire as they would have live. Event time is
 * the latest input time seen: input should be in time order (readings arriving late are still
 * evaluated, but gaps are judged against the furthest time reached). Deterministic: same input,
 * same output.
 *
 * Output events (one per engine detection): 'opened' (first 'firing' of a condition), 'updated'
 * (a later 'firing' — severity change or re-alert), 'cleared'.
 */
export interface ReplayEvent {
  event: 'opened' | 'updated' | 'cleared';
  patientId: string;
  conditionKey: string;
  rule: string;
  severity: Severity;
  at: string;
  summary: string;
  deviceId?: string;
  evidence: string[];
  data?: Record<string, unknown>;
}

export interface ReplayOptions {
  tickSeconds?: number;
  /**
   * Event time to advance the clock to after the last input (ticking every step), so that a
   * device that went silent at the end of the recording raises its gap alert.
   */
  untilMs?: number;
  onDerived?: (d: ReadingDraft) => void;
  /** Called with a bad line instead of failing the whole replay; default: throw. */
  onError?: (e: Error, line: number) => void;
}

export interface ReplaySummary {
  inputs: number;
  errors: number;
  events: number;
  stats: EngineStats;
}

export async function* replay(
  input: AsyncIterable<unknown> | Iterable<unknown>,
  config: EngineConfig,
  opts: ReplayOptions = {},
): AsyncGenerator<ReplayEvent, ReplaySummary> {
  const engine = createEngine(config, { now: () => now });
  const stepMs = (opts.tickSeconds ?? 60) * 1000;
  const open = new Set<string>();
  let now = Number.NEGATIVE_INFINITY;
  let lastTick = Number.NEGATIVE_INFINITY;
  let n = 0;
  let errors = 0;
  let events = 0;

  function* emit(ds: Detection[]): Generator<ReplayEvent> {
    for (const d of ds) {
      const k = `${d.patientId}\u0000${d.conditionKey}`;
      let event: ReplayEvent['event'];
      if (d.state === 'cleared') {
        open.delete(k);
        event = 'cleared';
      } else if (open.has(k)) event = 'updated';
      else {
        open.add(k);
        event = 'opened';
      }
      const e: ReplayEvent = {
        event,
        patientId: d.patientId,
        conditionKey: d.conditionKey,
        rule: d.rule,
        severity: d.severity,
        at: d.at,
        summary: d.summary,
        evidence: d.evidence,
      };
      if (d.deviceId !== undefined) e.deviceId = d.deviceId;
      if (d.data !== undefined) e.data = d.data;
      events++;
      yield e;
    }
  }

  for await (const raw of input) {
    n++;
    if (typeof raw === 'string' && raw.trim() === '') continue;
    let item: ReturnType<typeof parseReplayItem>;
    try {
      item = parseReplayItem(raw, n);
    } catch (e) {
      errors++;
      if (opts.onError === undefined) throw e;
      opts.onError(e as Error, n);
      continue;
    }
    const t = Date.parse(
      item.kind === 'reading'
        ? item.reading.effective
        : item.kind === 'status'
          ? item.report.effective
          : item.effective,
    );
    if (t > now) {
      yield* advance(t);
      now = t;
    }
    if (item.kind === 'enrol') {
      try {
        engine.setEnrolment(item.patientId, item.enrolment);
      } catch (e) {
        // An unknown program or a bad override: the line is refused by its path, the replay goes on.
        errors++;
        const err = new Error(`line ${n}: ${(e as Error).message}`);
        if (opts.onError === undefined) throw err;
        opts.onError(err, n);
      }
      continue;
    }
    const out = item.kind === 'reading' ? engine.onReading(item.reading) : engine.onStatus(item.report);
    for (const d of out.derived) opts.onDerived?.(d);
    yield* emit(out.detections);
  }
  if (opts.untilMs !== undefined && opts.untilMs > now && now > Number.NEGATIVE_INFINITY) {
    yield* advance(opts.untilMs);
    now = opts.untilMs;
  }
  return { inputs: n, errors, events, stats: engine.stats() };

  /** Ticks at every step of event time up to `t`. */
  function* advance(t: number): Generator<ReplayEvent> {
    if (lastTick === Number.NEGATIVE_INFINITY) lastTick = Math.floor(t / stepMs) * stepMs;
    // A very long silence (weeks between study visits) is walked for at most MAX_STEPS ticks —
    // gaps fire within the first few — then jumps to the current step.
    let steps = 0;
    while (lastTick + stepMs <= t) {
      lastTick = ++steps > MAX_STEPS ? Math.floor(t / stepMs) * stepMs : lastTick + stepMs;
      now = lastTick;
      yield* emit(engine.tick(lastTick).detections);
    }
  }
}

const MAX_STEPS = 10_000;

export function toNdjsonLine(e: ReplayEvent): string {
  return `${JSON.stringify(e)}\n`;
}
