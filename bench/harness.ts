import os from 'node:os';

/** One benchmark's outcome, rendered as a section of docs/benchmarks.md. */
export interface BenchResult {
  /** Section title, e.g. 'Rule evaluation per reading'. */
  title: string;
  /** How it was measured: data, sizes, concurrency, what was timed. Markdown. */
  method: string;
  /** Table rows: metric, value, goal (optional), met (optional). */
  figures: Array<{ metric: string; value: string; goal?: string; met?: boolean }>;
  /** Honest remarks: where we stand, what limits the figure. Markdown. */
  notes?: string;
}

export function machineDescription(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node.js ${process.version}`;
}

/** Percentile of an unsorted sample (nearest-rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
}
