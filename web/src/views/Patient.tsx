import { useCallback, useEffect, useState } from 'react';
import {
  type Agp,
  type Alert,
  type AlertEvent,
  get,
  type PatientSummary,
  qs,
  type Series,
  type Threshold,
  type VitalKey,
} from '../api.ts';
import { AgpChart, TimeChart } from '../charts.tsx';
import { AlertActions, Empty, SeverityBadge, StateBadge } from '../components.tsx';
import { ago, clock, fullTime, news2BandLabel, programLabel, timeZone, vitalMeta } from '../format.ts';
import { Battery, DeviceStatus } from './Devices.tsx';
import { WaveformPanel } from './WaveformStrip.tsx';

const ranges = [
  { key: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 d', ms: 30 * 86_400_000 },
] as const;
type RangeKey = (typeof ranges)[number]['key'];

const NO_THRESHOLDS: Threshold[] = [];
const NEWS2_LINES: Threshold[] = [
  { value: 4.5, direction: 'above', severity: 'high', label: 'Medium (5–6)' },
  { value: 6.5, direction: 'above', severity: 'critical', label: 'High (≥ 7)' },
];

const charted: VitalKey[] = ['hr', 'spo2', 'bp', 'rr', 'temp', 'weight', 'glucose'];

export function PatientView({
  patientId,
  tick,
  onBack,
  onChanged,
}: {
  patientId: string;
  tick: number;
  onBack: () => void;
  onChanged: () => void;
}) {
  const [summary, setSummary] = useState<PatientSummary | null>(null);
  const [range, setRange] = useState<RangeKey>('24h');
  const [series, setSeries] = useState<Partial<Record<VitalKey, Series>>>({});
  const [news2, setNews2] = useState<Series | null>(null);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [agp, setAgp] = useState<Agp | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [window_, setWindow] = useState<{ from: number; to: number }>(() => ({
    from: Date.now() - 86_400_000,
    to: Date.now(),
  }));
  const base = `/api/v1/dashboard/patients/${encodeURIComponent(patientId)}`;

  useEffect(() => {
    get<PatientSummary>(base)
      .then(setSummary)
      .catch((e: Error) => setError(e.message));
  }, [base]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick refreshes the live charts
  useEffect(() => {
    const r = ranges.find((x) => x.key === range) ?? ranges[1];
    const to = Date.now();
    const from = to - r.ms;
    const q = (code: string) =>
      `${base}/series${qs({ code, from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`;
    let cancelled = false;
    Promise.all(charted.map((k) => get<Series>(q(k)).then((s) => [k, s] as const)))
      .then((all) => {
        if (cancelled) return;
        setSeries(Object.fromEntries(all));
        setWindow({ from, to });
      })
      .catch((e: Error) => setError(e.message));
    get<Series>(q('news2'))
      .then((s) => !cancelled && setNews2(s))
      .catch(() => {});
    return () => {
      cancelled = true;
    };
  }, [base, range, tick]);

  const loadAlerts = useCallback(() => {
    get<{ alerts: Alert[] }>(`/api/v1/alerts${qs({ patient: patientId, limit: 50 })}`)
      .then((r) => setAlerts(r.alerts))
      .catch(() => {});
  }, [patientId]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick refreshes
  useEffect(loadAlerts, [loadAlerts, tick]);

  useEffect(() => {
    if (!summary?.hasCgm) return;
    get<Agp>(`${base}/agp${qs({ days: 14, tz: timeZone })}`)
      .then(setAgp)
      .catch(() => {});
  }, [base, summary?.hasCgm]);

  const withData = charted.filter((k) => (series[k]?.columns['t']?.length ?? 0) > 0);
  const without = charted.filter((k) => series[k] && !withData.includes(k));
  const p = summary?.patient;
  const age = p?.birthDate
    ? Math.floor((Date.now() - Date.parse(p.birthDate)) / (365.2425 * 86_400_000))
    : null;

  return (
    <section aria-labelledby="patient-title" className="view patient">
      <div className="patient-head">
        <button type="button" className="btn btn-ghost" onClick={onBack}>
          ← Back
        </button>
        <div className="patient-id">
          <h1 id="patient-title">{p?.name ?? 'Patient'}</h1>
          <p className="subtle">
            {p?.identifier ? (
              <strong className="patient-identifier">
                {p.identifier.label} {p.identifier.value}
              </strong>
            ) : null}
            {p?.identifier && (age !== null || p.gender) ? ' · ' : ''}
            {age !== null ? `${age} years` : ''}
            {p?.gender ? ` · ${p.gender}` : ''}
            {p?.birthDate ? ` · born ${p.birthDate}` : ''}
            {summary?.programs.length ? ` · ${summary.programs.map(programLabel).join(', ')}` : ''}
            {summary?.settings.spo2Scale === 2 ? ' · SpO₂ scale 2' : ''}
          </p>
        </div>
        <div className="patient-badges">
          {summary?.current.news2 ? (
            <span
              className={`news2 news2-big news2-${summary.current.news2.band}`}
              title={
                summary.current.news2.source === 'computed'
                  ? 'Computed from the latest vitals'
                  : 'Scored by detection'
              }
            >
              NEWS2 <strong>{summary.current.news2.total}</strong>{' '}
              {news2BandLabel(summary.current.news2.band)}
            </span>
          ) : (
            <span className="news2 news2-big" title="Not all five NEWS2 vitals measured in the last 4 h">
              NEWS2 —
            </span>
          )}
          <span className="subtle small">
            Last reading{' '}
            {summary?.current.lastReadingAt
              ? `${clock(summary.current.lastReadingAt)} (${ago(summary.current.lastReadingAt)})`
              : 'never'}
          </span>
        </div>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}

      <div className="patient-grid">
        <div className="patient-main">
          <div className="panel">
            <div className="panel-head">
              <h2>Vital signs</h2>
              <fieldset className="segmented">
                <legend className="sr-only">Time range</legend>
                {ranges.map((r) => (
                  <label key={r.key} className={range === r.key ? 'on' : ''}>
                    <input
                      type="radio"
                      name="range"
                      checked={range === r.key}
                      onChange={() => setRange(r.key)}
                    />
                    {r.label}
                  </label>
                ))}
              </fieldset>
            </div>
            <p className="subtle small">
              Times in {timeZone}. Dashed lines: this patient’s alert thresholds. Shaded: min–max per interval
              when readings are averaged.
            </p>
            {withData.length === 0 && <Empty>No readings in this period.</Empty>}
            <div className="charts">
              {withData.map((k) => {
                const s = series[k] as Series;
                const thresholds = summary?.thresholds[k] ?? NO_THRESHOLDS;
                const lastT = s.columns['t']?.at(-1);
                return (
                  <figure
                    className="chart-card"
                    key={k}
                    aria-label={`${vitalMeta[k].label} chart`}
                    data-chart={k}
                  >
                    <figcaption>
                      <span className="chart-title">
                        {vitalMeta[k].label} <span className="unit">({s.unit})</span>
                      </span>
                      <span className="chart-latest">
                        {latestText(s)} <span className="unit">{s.unit}</span>
                        {typeof lastT === 'number' && (
                          <span className="subtle small">
                            {' '}
                            · {clock(new Date(lastT * 1000).toISOString())}
                          </span>
                        )}
                      </span>
                    </figcaption>
                    <TimeChart series={s} thresholds={thresholds} from={window_.from} to={window_.to} />
                    {s.bucketSeconds > 0 && (
                      <p className="subtle small">
                        Means per {formatBucket(s.bucketSeconds)} with min–max band.
                      </p>
                    )}
                  </figure>
                );
              })}
            </div>
            {without.length > 0 && (
              <p className="subtle small">
                Not measured in this period: {without.map((k) => vitalMeta[k].label).join(', ')}.
              </p>
            )}
          </div>

          <WaveformPanel patientId={patientId} tick={tick} />

          {news2 && (news2.columns['t']?.length ?? 0) > 0 && (
            <figure className="panel chart-card" aria-label="NEWS2 history" data-chart="news2">
              <figcaption>
                <h2>NEWS2 history</h2>
                <span className="subtle small">
                  {news2.derived ? 'Computed from hourly vitals' : 'Scored by detection'} · 5–6 urgent
                  response, ≥ 7 emergency response
                </span>
              </figcaption>
              <TimeChart
                series={news2}
                thresholds={NEWS2_LINES}
                from={window_.from}
                to={window_.to}
                height={150}
                yMax={
                  Math.max(
                    10,
                    ...((news2.columns['value'] ?? []).filter((v) => typeof v === 'number') as number[]),
                  ) + 1
                }
              />
            </figure>
          )}

          {summary?.hasCgm && <AgpPanel agp={agp} />}
        </div>

        <aside className="patient-side">
          <div className="panel">
            <h2>Alerts</h2>
            {alerts.length === 0 ? (
              <Empty>No alerts for this patient.</Empty>
            ) : (
              <ol className="timeline">
                {alerts.map((a) => (
                  <AlertTimelineItem
                    key={a.id}
                    alert={a}
                    patientName={p?.name}
                    onChanged={() => {
                      loadAlerts();
                      onChanged();
                    }}
                  />
                ))}
              </ol>
            )}
          </div>
          <AdherencePanel patientId={patientId} tick={tick} />
          <div className="panel">
            <h2>Devices</h2>
            {(summary?.devices.length ?? 0) === 0 ? (
              <Empty>No device assigned.</Empty>
            ) : (
              <ul className="device-list">
                {summary?.devices.map((d) => (
                  <li key={d.id}>
                    <div className="device-line">
                      <strong>{d.kind.replaceAll('-', ' ')}</strong>
                      <DeviceStatus d={d} />
                    </div>
                    <div className="subtle small mono">{d.id}</div>
                    <div className="device-line small">
                      <Battery level={d.battery} />
                      <span>fw {d.firmware ?? '—'}</span>
                      <span>seen {ago(d.lastSeen)}</span>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </div>
        </aside>
      </div>
    </section>
  );
}

function latestText(s: Series): string {
  const last = (k: string) => {
    const col = s.columns[k] ?? [];
    for (let i = col.length - 1; i >= 0; i--) if (typeof col[i] === 'number') return col[i] as number;
    return null;
  };
  const digits = s.vital === 'temp' || s.vital === 'weight' ? 1 : 0;
  const vals = s.keys.map((k) => last(k));
  if (vals.every((v) => v === null)) return '—';
  return vals.map((v) => (v === null ? '—' : v.toFixed(digits))).join('/');
}

function formatBucket(sec: number): string {
  return sec < 3600 ? `${sec / 60} min` : sec < 86_400 ? `${sec / 3600} h` : `${sec / 86_400} d`;
}

function AlertTimelineItem({
  alert,
  onChanged,
  patientName,
}: {
  alert: Alert;
  onChanged: () => void;
  patientName?: string;
}) {
  const [open, setOpen] = useState(false);
  const [events, setEvents] = useState<AlertEvent[] | null>(null);
  useEffect(() => {
    if (!open) return;
    get<{ timeline: AlertEvent[] }>(`/api/v1/alerts/${encodeURIComponent(alert.id)}`)
      .then((r) => setEvents(r.timeline))
      .catch(() => setEvents([]));
  }, [open, alert.id]);
  return (
    <li className={`timeline-item sev-border-${alert.severity}`}>
      <div className="timeline-top">
        <SeverityBadge severity={alert.severity} muted={!['open', 'escalated'].includes(alert.state)} />
        <StateBadge state={alert.state} />
      </div>
      <p className="timeline-summary">{alert.summary}</p>
      <p className="subtle small">
        <time dateTime={alert.raisedAt} title={fullTime(alert.raisedAt)}>
          {clock(alert.raisedAt)}
        </time>{' '}
        · {ago(alert.raisedAt)}
      </p>
      <AlertActions alert={alert} onChanged={onChanged} patientName={patientName} />
      <button type="button" className="link small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide history' : 'Show history'}
      </button>
      {open && (
        <ol className="events">
          {(events ?? []).map((e) => (
            <li key={e.id}>
              <span className="mono small">{clock(e.at)}</span> {e.type}
              {e.actor?.name ? ` by ${e.actor.name}` : ''}
              {e.note ? <q className="note">{e.note}</q> : null}
            </li>
          ))}
          {events === null && <li className="subtle">Loading…</li>}
        </ol>
      )}
    </li>
  );
}

function AgpPanel({ agp }: { agp: Agp | null }) {
  if (!agp) return <div className="panel">Loading glucose profile…</div>;
  const m = agp.metrics;
  const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} %`);
  const tiles: Array<{ label: string; value: string; target: string; ok: boolean | null; cls?: string }> = [
    {
      label: 'Time in range 70–180 mg/dL',
      value: pct(m.inRange),
      target: 'target > 70 %',
      ok: m.inRange === null ? null : m.inRange > 70,
      cls: 'tir',
    },
    {
      label: 'Below 70 mg/dL',
      value: pct(m.below70),
      target: 'target < 4 %',
      ok: m.below70 === null ? null : m.below70 < 4,
    },
    {
      label: 'Below 54 mg/dL',
      value: pct(m.below54),
      target: 'target < 1 %',
      ok: m.below54 === null ? null : m.below54 < 1,
    },
    {
      label: 'Above 180 mg/dL',
      value: pct(m.above180),
      target: 'target < 25 %',
      ok: m.above180 === null ? null : m.above180 < 25,
    },
    {
      label: 'Above 250 mg/dL',
      value: pct(m.above250),
      target: 'target < 5 %',
      ok: m.above250 === null ? null : m.above250 < 5,
    },
    {
      label: 'Mean glucose',
      value: m.mean === null ? '—' : `${m.mean.toFixed(0)} mg/dL`,
      target: '',
      ok: null,
    },
    { label: 'GMI', value: m.gmi === null ? '—' : `${m.gmi.toFixed(1)} %`, target: '', ok: null },
    {
      label: 'Glycemic variability (CV)',
      value: pct(m.cv),
      target: 'target ≤ 36 %',
      ok: m.cv === null ? null : m.cv <= 36,
    },
    {
      label: 'Data sufficiency',
      value: `${m.sufficiency.toFixed(0)} %`,
      target: `${m.daysWithData} days with data · need ≥ 70 % over 14 d`,
      ok: m.sufficient,
    },
  ];
  return (
    <section className="panel" aria-labelledby="agp-title" data-chart="agp">
      <div className="panel-head">
        <h2 id="agp-title">Ambulatory Glucose Profile · last {agp.days} days</h2>
        <span className="subtle small">
          Modal day in {agp.timeZone} · {m.readings} readings · sensor every {agp.cadenceMinutes} min
        </span>
      </div>
      {m.excludedReadings > 0 && (
        <p className="subtle small" data-testid="agp-excluded">
          {m.excludedReadings} {m.excludedReadings === 1 ? 'reading' : 'readings'} of {agp.excluded.length}{' '}
          suspected compression {agp.excluded.length === 1 ? 'low' : 'lows'} (a sudden night-time drop that
          recovered or that a fingerstick did not confirm) left out of the profile and the figures; they count
          as sensor wear.
        </p>
      )}
      {!m.sufficient && (
        <p className="notice">
          Not enough data for a reliable profile: the consensus asks for 14 days with at least 70 % of
          possible readings.
        </p>
      )}
      <div className="agp-layout">
        <div className="agp-chart">
          <AgpChart profile={agp.profile} />
          <p className="subtle small">
            Line: median. Dark band: 25th–75th percentile. Light band: 5th–95th percentile. Red dashes: 54
            mg/dL.
          </p>
        </div>
        <TirBar m={m} />
      </div>
      <dl className="metric-tiles">
        {tiles.map((t) => (
          <div key={t.label} className={`tile${t.ok === false ? ' tile-off' : t.ok ? ' tile-ok' : ''}`}>
            <dt>{t.label}</dt>
            <dd>
              <strong>{t.value}</strong>
              {t.target && (
                <span className="small">
                  {t.ok === false ? '✗ ' : t.ok ? '✓ ' : ''}
                  {t.target}
                </span>
              )}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function TirBar({ m }: { m: Agp['metrics'] }) {
  if (m.inRange === null) return null;
  const parts = [
    { label: 'Very high > 250', v: m.above250 ?? 0, cls: 'vh' },
    { label: 'High 181–250', v: (m.above180 ?? 0) - (m.above250 ?? 0), cls: 'h' },
    { label: 'In range 70–180', v: m.inRange, cls: 'ir' },
    { label: 'Low 54–69', v: (m.below70 ?? 0) - (m.below54 ?? 0), cls: 'l' },
    { label: 'Very low < 54', v: m.below54 ?? 0, cls: 'vl' },
  ];
  return (
    <div
      className="tir"
      role="img"
      aria-label={parts.map((p) => `${p.label} mg/dL: ${p.v.toFixed(1)} %`).join('; ')}
    >
      <div className="tir-bar">
        {parts.map((p) => (
          <span key={p.cls} className={`tir-${p.cls}`} style={{ flexGrow: Math.max(p.v, 0.0001) }} />
        ))}
      </div>
      <ul className="tir-legend">
        {parts.map((p) => (
          <li key={p.cls}>
            <span className={`swatch tir-${p.cls}`} aria-hidden="true" />
            <span>{p.label} mg/dL</span>
            <strong>{p.v.toFixed(1)} %</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

interface AdherenceRow {
  requestId: string;
  medication: string;
  rescue: boolean;
  dosesDue: number;
  takenOnTime: number;
  takenLate: number;
  missed: number;
  pending: number;
  onTimeRate: number | null;
  usesPerDay: Array<{ day: string; uses: number; actuations: number }>;
}

/** Medication adherence from smart inhalers and pill bottles, last 7 days (docs/adherence.md). */
function AdherencePanel({ patientId, tick }: { patientId: string; tick: number }) {
  const [rows, setRows] = useState<AdherenceRow[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick refreshes
  useEffect(() => {
    get<{ requests: AdherenceRow[] }>(`/api/v1/patients/${encodeURIComponent(patientId)}/adherence?days=7`)
      .then((r) => setRows(r.requests))
      .catch(() => setRows([]));
  }, [patientId, tick]);
  if (!rows || rows.length === 0) return null;
  return (
    <div className="panel" data-panel="adherence">
      <h2>Medication adherence · 7 days</h2>
      <ul className="device-list">
        {rows.map((r) => (
          <li key={r.requestId}>
            <div className="device-line">
              <strong>{r.medication}</strong>
              <span className="subtle small">{r.rescue ? 'as needed (rescue)' : 'scheduled'}</span>
            </div>
            {r.rescue ? (
              <div className="device-line small" data-rescue-uses>
                {r.usesPerDay.map((d) => (
                  <span key={d.day} title={`${d.actuations} actuations`}>
                    {d.day.slice(5)}: {d.uses}
                  </span>
                ))}
              </div>
            ) : (
              <div className="device-line small" data-doses>
                <span>
                  on time {r.takenOnTime}/{r.dosesDue - r.pending}
                  {r.onTimeRate !== null ? ` (${Math.round(r.onTimeRate * 100)} %)` : ''}
                </span>
                <span>late {r.takenLate}</span>
                <span>missed {r.missed}</span>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
