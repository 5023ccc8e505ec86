import { useCallback, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AgpSlot, Series, Threshold } from './api.ts';
import { timeZone } from './format.ts';

export const palette = {
  ink: '#1b2430',
  grid: '#e3e8ee',
  axis: '#4a5563',
  line: '#0b5cad',
  line2: '#7a3fb0',
  band: 'rgba(11, 92, 173, 0.12)',
  critical: '#b3261e',
  high: '#c2410c',
  medium: '#a16207',
  low: '#1d6f42',
  target: 'rgba(29, 111, 66, 0.10)',
};

const severityColour = (s: string) =>
  s === 'critical'
    ? palette.critical
    : s === 'high'
      ? palette.high
      : s === 'medium'
        ? palette.medium
        : palette.axis;

/** Sparkline for the worklist: plain SVG (500 rows of uPlot instances would be wasteful). */
export function Sparkline({
  points,
  label,
  unit,
  width = 96,
  height = 26,
}: {
  points: Array<[number, number]> | undefined;
  label: string;
  unit: string;
  width?: number;
  height?: number;
}) {
  if (!points || points.length < 2) return <span className="spark-empty" aria-hidden="true" />;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  const px = (x: number) => ((x - x0) / (x1 - x0 || 1)) * (width - 4) + 2;
  const py = (y: number) => height - 3 - ((y - y0) / (y1 - y0)) * (height - 6);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('');
  const last = points[points.length - 1] as [number, number];
  const first = points[0] as [number, number];
  return (
    <svg
      className="spark"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${label} trend over 24 h: ${first[1]} to ${last[1]} ${unit}`}
    >
      <path d={d} fill="none" stroke={palette.line} strokeWidth="1.5" strokeLinejoin="round" />
      <circle cx={px(last[0])} cy={py(last[1])} r="2.2" fill={palette.line} />
    </svg>
  );
}

/** Mounts a uPlot made by `make` (a useCallback: its dependencies decide when the plot is rebuilt). */
function useUplot(make: (el: HTMLDivElement, width: number) => uPlot | null) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let plot = make(el, el.clientWidth || 600);
    const ro = new ResizeObserver(() => {
      if (plot && el.clientWidth > 0) plot.setSize({ width: el.clientWidth, height: plot.height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot?.destroy();
      plot = null;
    };
  }, [make]);
  return ref;
}

const tzDate = (ts: number) => uPlot.tzDate(new Date(ts * 1000), timeZone);
// The viewer's locale decides 12- or 24-hour times, as everywhere else on the dashboard
// (format.ts); `midnight` only tells the day boundary apart.
const midnight = new Intl.DateTimeFormat('en-GB', {
  timeZone,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const hhmm = new Intl.DateTimeFormat(undefined, { timeZone, hour: '2-digit', minute: '2-digit' });
const dayMonth = new Intl.DateTimeFormat(undefined, { timeZone, day: 'numeric', month: 'short' });
const full = new Intl.DateTimeFormat(undefined, {
  timeZone,
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
/** An hour of the modal day (0–24) in the viewer's clock. */
const hourOfDay = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', hour: 'numeric' });

/** The viewer's clock in the viewer's zone; the date at midnight, or under the time on multi-day ranges. */
function timeTicks(u: uPlot, splits: number[]): string[] {
  const span = (u.scales['x']?.max ?? 0) - (u.scales['x']?.min ?? 0);
  return splits.map((sec) => {
    const d = new Date(sec * 1000);
    const t = hhmm.format(d);
    const atMidnight = midnight.format(d) === '00:00';
    if (span > 2 * 86_400) return atMidnight ? dayMonth.format(d) : `${dayMonth.format(d)}\n${t}`;
    return atMidnight ? dayMonth.format(d) : t;
  });
}

/** Draws the patient's thresholds as labelled dashed lines across the plot. */
function thresholdPlugin(thresholds: Threshold[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          // Labels sit above their line; one that would overlap the previous label goes below its line.
          const placed: number[] = [];
          const lineHeight = 13 * devicePixelRatio;
          for (const t of thresholds) {
            const y = Math.round(u.valToPos(t.value, 'y', true));
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = severityColour(t.severity);
            ctx.fillStyle = severityColour(t.severity);
            ctx.lineWidth = 1.25 * devicePixelRatio;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.setLineDash([]);
            const text = `${t.component === 'diastolic' ? 'DBP ' : t.component === 'systolic' ? 'SBP ' : ''}${t.label}`;
            const w = ctx.measureText(text).width;
            let ly = y - 4 * devicePixelRatio;
            if (placed.some((p) => Math.abs(p - ly) < lineHeight)) ly = y + lineHeight;
            if (placed.some((p) => Math.abs(p - ly) < lineHeight)) ly = y - 4 * devicePixelRatio - lineHeight;
            placed.push(ly);
            ctx.fillText(text, left + width - w - 6 * devicePixelRatio, ly);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** A vital over time with min–max band when bucketed, thresholds and an explicit unit. */
export function TimeChart({
  series,
  thresholds,
  from,
  to,
  height = 190,
  yMax,
}: {
  series: Series;
  thresholds: Threshold[];
  from: number;
  to: number;
  height?: number;
  /** Fixed y range 0…yMax (scores); otherwise fitted to data and thresholds. */
  yMax?: number;
}) {
  const make = useCallback(
    (el: HTMLDivElement, width: number) => {
      const t = (series.columns['t'] ?? []) as number[];
      const data: Array<Array<number | null>> = [t];
      const s: uPlot.Series[] = [
        {
          label: 'Time',
          value: (_u, v) => (v === null || v === undefined ? '—' : full.format(new Date(v * 1000))),
        },
      ];
      const colours = [palette.line, palette.line2];
      series.keys.forEach((k, i) => {
        const colour = colours[i] ?? palette.line;
        const name = k === 'value' ? series.label : k[0]?.toUpperCase() + k.slice(1);
        data.push(series.columns[k] ?? []);
        s.push({
          label: `${name} (${series.unit})`,
          stroke: colour,
          width: 2,
          points: { show: t.length < 120, size: 5, fill: colour },
          spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? '—' : `${v} ${series.unit}`),
        });
      });
      const bands: uPlot.Band[] = [];
      if (series.bucketSeconds > 0) {
        series.keys.forEach((k) => {
          const lo = series.columns[`${k}Min`];
          const hi = series.columns[`${k}Max`];
          if (!lo || !hi) return;
          data.push(hi, lo);
          const hiIdx = data.length - 2;
          s.push({ label: `${k} max`, stroke: 'transparent', points: { show: false }, value: () => '' });
          s.push({ label: `${k} min`, stroke: 'transparent', points: { show: false }, value: () => '' });
          bands.push({ series: [hiIdx, hiIdx + 1], fill: palette.band });
        });
      }
      const thr = thresholds.map((x) => x.value);
      const vals = data
        .slice(1)
        .flat()
        .filter((v): v is number => typeof v === 'number');
      const lo = Math.min(...vals, ...thr);
      const hi = Math.max(...vals, ...thr);
      const pad = Math.max(1, (hi - lo) * 0.08);
      return new uPlot(
        {
          width,
          height,
          tzDate,
          series: s,
          bands,
          legend: { show: true, live: true },
          cursor: { drag: { x: true, y: false }, points: { size: 6 } },
          scales: {
            x: { time: true, range: () => [from / 1000, to / 1000] },
            y: {
              range: () =>
                yMax !== undefined
                  ? [0, yMax]
                  : vals.length
                    ? [Math.floor(lo - pad), Math.ceil(hi + pad)]
                    : [0, 1],
            },
          },
          axes: [
            {
              stroke: palette.axis,
              grid: { stroke: palette.grid, width: 1 },
              ticks: { stroke: palette.grid },
              values: timeTicks,
              size: 44,
            },
            {
              stroke: palette.axis,
              grid: { stroke: palette.grid, width: 1 },
              ticks: { stroke: palette.grid },
              size: 56,
              label: series.unit,
              labelSize: 18,
              labelFont: '12px system-ui, sans-serif',
            },
          ],
          plugins: [thresholdPlugin(thresholds)],
        },
        data as uPlot.AlignedData,
        el,
      );
    },
    [series, thresholds, from, to, height, yMax],
  );
  const ref = useUplot(make);
  return <div className="uplot-host" ref={ref} />;
}

/** Ambulatory Glucose Profile: median, 25–75 and 5–95 % bands over a modal day, target 70–180 mg/dL. */
export function AgpChart({ profile, height = 260 }: { profile: AgpSlot[]; height?: number }) {
  const make = useCallback(
    (el: HTMLDivElement, width: number) => {
      // x in hours of the modal day (0–24); slot centres.
      const x = profile.map((p) => (p.minute + 7.5) / 60);
      const col = (k: keyof AgpSlot) => profile.map((p) => (p[k] as number | null) ?? null);
      const data = [x, col('p95'), col('p75'), col('p50'), col('p25'), col('p5')];
      const targetBand: uPlot.Plugin = {
        hooks: {
          drawClear: [
            (u) => {
              const ctx = u.ctx;
              const { left, width: w } = u.bbox;
              const y180 = u.valToPos(180, 'y', true);
              const y70 = u.valToPos(70, 'y', true);
              ctx.save();
              ctx.fillStyle = palette.target;
              ctx.fillRect(left, y180, w, y70 - y180);
              ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.fillStyle = palette.low;
              ctx.fillText('Target 70–180 mg/dL', left + 6 * devicePixelRatio, y180 + 14 * devicePixelRatio);
              ctx.strokeStyle = palette.critical;
              ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
              const y54 = u.valToPos(54, 'y', true);
              ctx.beginPath();
              ctx.moveTo(left, y54);
              ctx.lineTo(left + w, y54);
              ctx.stroke();
              ctx.restore();
            },
          ],
        },
      };
      const pct = (name: string, stroke: string, w = 1) => ({
        label: name,
        stroke,
        width: w,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : `${v} mg/dL`),
      });
      return new uPlot(
        {
          width,
          height,
          series: [
            {
              value: (_u, v) =>
                v === null
                  ? '—'
                  : `${String(Math.floor(v)).padStart(2, '0')}:${String(Math.round((v % 1) * 60)).padStart(2, '0')}`,
            },
            pct('95th', 'rgba(11,92,173,0.45)'),
            pct('75th', 'rgba(11,92,173,0.7)'),
            pct('Median', palette.line, 2.5),
            pct('25th', 'rgba(11,92,173,0.7)'),
            pct('5th', 'rgba(11,92,173,0.45)'),
          ],
          bands: [
            { series: [1, 2], fill: 'rgba(11,92,173,0.10)' },
            { series: [2, 4], fill: 'rgba(11,92,173,0.22)' },
            { series: [4, 5], fill: 'rgba(11,92,173,0.10)' },
          ],
          scales: { x: { time: false, range: [0, 24] }, y: { range: [40, 350] } },
          axes: [
            {
              stroke: palette.axis,
              grid: { stroke: palette.grid },
              splits: () => [0, 3, 6, 9, 12, 15, 18, 21, 24],
              values: (_u, v) => v.map((h) => hourOfDay.format(Date.UTC(2000, 0, 1, h % 24))),
            },
            {
              stroke: palette.axis,
              grid: { stroke: palette.grid },
              size: 56,
              label: 'mg/dL',
              labelSize: 18,
              splits: () => [70, 180, 250, 350],
            },
          ],
          plugins: [targetBand],
          cursor: { points: { size: 5 } },
        },
        data as uPlot.AlignedData,
        el,
      );
    },
    [profile, height],
  );
  const ref = useUplot(make);
  return <div className="uplot-host" ref={ref} />;
}
