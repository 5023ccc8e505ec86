/**
 * Progress of a long run on a stream (stderr): one line rewritten in place on a terminal, a line
 * every `everyMs` otherwise. Counts and times only, never patient data.
 */
export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

export function progressReporter(stream: ProgressStream, everyMs = 10_000, now: () => number = Date.now) {
  let last = Number.NEGATIVE_INFINITY;
  let width = 0;
  return {
    update(line: string, force = false) {
      const t = now();
      if (stream.isTTY) {
        if (!force && t - last < 200) return;
        last = t;
        const pad = Math.max(0, width - line.length);
        width = line.length;
        stream.write(`\r${line}${' '.repeat(pad)}`);
      } else if (force || t - last >= everyMs) {
        last = t;
        stream.write(`${line}\n`);
      }
    },
    done(line: string) {
      if (stream.isTTY) stream.write(`\r${line}${' '.repeat(Math.max(0, width - line.length))}\n`);
      else stream.write(`${line}\n`);
    },
  };
}

/** `90`, `90s`, `15m`, `6h`, `3d` → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a duration: ${JSON.stringify(text)} (e.g. 90s, 15m, 6h, 3d)`);
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (!(n > 0)) throw new RangeError('duration must be positive');
  return n * unit;
}

export function formatDuration(s: number): string {
  if (s >= 86_400) return `${(s / 86_400).toFixed(1)}d`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)}h`;
  if (s >= 60) return `${Math.round(s / 60)}m`;
  return `${Math.round(s)}s`;
}
