import { useEffect, useState } from 'react';
import { get, qs } from '../api.ts';
import { Empty } from '../components.tsx';
import { clock } from '../format.ts';

interface Top {
  members: number;
  of: number;
  alerts: number;
  share: number | null;
  top: Array<{ id: string; alerts: number }>;
  notShown: number;
}
interface Group {
  id: string;
  name: string | null;
  bedDays: number;
  alerts: number;
  alertsPerBedDay: number | null;
  afterFloodGrouping: number;
  incidents: number;
  byRule: Array<{ rule: string; alerts: number; perBedDay: number | null }>;
  byDevice: Array<{ deviceId: string; kind: string | null; alerts: number }>;
  topPatients: Top;
  topRules: Top;
  ackP50Seconds: number | null;
  ackP90Seconds: number | null;
  nonActionable: number;
  resolved: number;
  nonActionableRate: number | null;
}
interface Burden {
  since: string;
  until: string;
  flood: { windowMinutes: number; minPatients: number };
  overall: Group;
  groups: Group[];
  incidents: Array<{
    rule: string;
    gatewayId: string | null;
    unitId: string | null;
    start: string;
    end: string;
    alerts: number;
    patients: number;
  }>;
}

const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}`);
const mins = (s: number | null) => (s === null ? '—' : (s / 60).toFixed(1));

/**
 * Alarm burden across units or care teams (docs/alarm-burden.md): alarms per bed-day, what a flood
 * grouping leaves, the rules and patients behind most alarms, time to acknowledge, the share that
 * cleared by itself unacknowledged; and the bursts grouped as incidents.
 */
export function AlarmBurdenView({ tick, names }: { tick: number; names: Map<string, string> }) {
  const [groupBy, setGroupBy] = useState<'unit' | 'care-team'>('unit');
  const [days, setDays] = useState(30);
  const [data, setData] = useState<Burden | null>(null);
  const [error, setError] = useState<string | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick drives the refresh
  useEffect(() => {
    const since = new Date(Date.now() - days * 86_400_000).toISOString();
    get<Burden>(`/api/v1/program/alarm-burden${qs({ groupBy, since })}`)
      .then((r) => {
        setData(r);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [tick, groupBy, days]);
  const rows = data ? [...data.groups, { ...data.overall, name: 'All' }] : [];
  return (
    <section aria-labelledby="burden-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="burden-title">Alarm burden</h1>
          <p className="subtle">
            {data
              ? `${data.overall.alerts} alarms over ${data.overall.bedDays} bed-days · ${data.incidents.length} flood incident${data.incidents.length === 1 ? '' : 's'} (≥ ${data.flood.minPatients} patients within ${data.flood.windowMinutes} min, one cause)`
              : 'Loading…'}
          </p>
        </div>
        <div className="filters">
          <fieldset className="segmented">
            <legend className="sr-only">Group by</legend>
            <label className={groupBy === 'unit' ? 'on' : ''}>
              <input
                type="radio"
                name="burden-group"
                checked={groupBy === 'unit'}
                onChange={() => setGroupBy('unit')}
              />
              Per unit
            </label>
            <label className={groupBy === 'care-team' ? 'on' : ''}>
              <input
                type="radio"
                name="burden-group"
                checked={groupBy === 'care-team'}
                onChange={() => setGroupBy('care-team')}
              />
              Per care team
            </label>
          </fieldset>
          <label>
            Period
            <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
              <option value={7}>Last 7 days</option>
              <option value={30}>Last 30 days</option>
              <option value={90}>Last 90 days</option>
            </select>
          </label>
        </div>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {data && data.overall.alerts === 0 ? (
        <Empty>No alarms in this period.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">{groupBy === 'unit' ? 'Unit' : 'Care team'}</th>
                <th scope="col" className="num">
                  Bed-days
                </th>
                <th scope="col" className="num">
                  Alarms
                </th>
                <th scope="col" className="num">
                  Per bed-day
                </th>
                <th scope="col" className="num">
                  After flood grouping
                </th>
                <th scope="col">Top rules</th>
                <th scope="col">Top 10 % of patients</th>
                <th scope="col" className="num">
                  Ack p50 / p90 <span className="unit-head">min</span>
                </th>
                <th scope="col" className="num">
                  Non-actionable <span className="unit-head">%</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((g) => (
                <tr key={g.id} data-burden-group={g.id} className={g.id === '*' ? 'total' : undefined}>
                  <td>{g.name ?? (g.id === '(none)' ? <span className="subtle">Not known</span> : g.id)}</td>
                  <td className="num">{g.bedDays}</td>
                  <td className="num">{g.alerts}</td>
                  <td className="num">{g.alertsPerBedDay ?? '—'}</td>
                  <td className="num" data-after-flood={g.id}>
                    {g.afterFloodGrouping}
                    {g.incidents > 0 && (
                      <span className="subtle small">
                        {' '}
                        ({g.incidents} incident{g.incidents === 1 ? '' : 's'})
                      </span>
                    )}
                  </td>
                  <td>
                    {g.byRule.slice(0, 3).map((r) => (
                      <div key={r.rule}>
                        {r.rule}{' '}
                        <span className="subtle small">
                          {r.alerts} · {r.perBedDay ?? '—'}/bed-day
                        </span>
                      </div>
                    ))}
                  </td>
                  <td>
                    {g.topPatients.members > 0 && (
                      <div>
                        {g.topPatients.members} of {g.topPatients.of}: {pct(g.topPatients.share)} % of alarms
                      </div>
                    )}
                    {g.topPatients.top.map((t) => (
                      <div key={t.id} className="small">
                        {names.get(t.id) ?? t.id} <span className="subtle">{t.alerts}</span>
                      </div>
                    ))}
                    {g.topPatients.notShown > 0 && (
                      <div className="subtle small">{g.topPatients.notShown} outside your care teams</div>
                    )}
                  </td>
                  <td className="num">
                    {mins(g.ackP50Seconds)} / {mins(g.ackP90Seconds)}
                  </td>
                  <td className="num" title={`${g.nonActionable} of ${g.resolved} resolved alarms`}>
                    {pct(g.nonActionableRate)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.incidents.length > 0 && (
        <section aria-labelledby="burden-incidents" className="eq-use">
          <h2 id="burden-incidents">Flood incidents</h2>
          <ul>
            {data.incidents.map((i) => (
              <li
                key={`${i.rule}-${i.start}-${i.gatewayId ?? i.unitId}`}
                data-incident={i.gatewayId ?? i.unitId}
              >
                {clock(i.start)}–{clock(i.end)}: {i.alerts} {i.rule} alarms for {i.patients} patients,{' '}
                {i.gatewayId ? `behind gateway ${i.gatewayId}` : `in unit ${i.unitId}`}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
