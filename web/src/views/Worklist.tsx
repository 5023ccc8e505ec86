import { memo } from 'react';
import type { VitalKey, Worklist as WorklistData, WorklistPatient } from '../api.ts';
import { Sparkline } from '../charts.tsx';
import { AcuityBadge, AlertActions, Empty, SeverityBadge } from '../components.tsx';
import { ago, clock, news2BandLabel, programLabel, vitalMeta, vitalValue } from '../format.ts';

const columns: VitalKey[] = ['hr', 'spo2', 'bp', 'rr', 'temp', 'glucose', 'weight'];

export function Worklist({
  data,
  loading,
  program,
  careTeam,
  onFilter,
  onOpen,
  onChanged,
}: {
  data: WorklistData | null;
  loading: boolean;
  program: string;
  careTeam: string;
  onFilter: (f: { program?: string; careTeam?: string }) => void;
  onOpen: (p: WorklistPatient) => void;
  onChanged: () => void;
}) {
  const patients = data?.patients ?? [];
  const attention = patients.filter((p) => p.acuity >= 3 || p.unackedSeverity).length;
  const gaps = patients.filter((p) => p.dataGap).length;
  return (
    <section aria-labelledby="worklist-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="worklist-title">Worklist</h1>
          <p className="subtle">
            {patients.length} {patients.length === 1 ? 'patient' : 'patients'} · <strong>{attention}</strong>{' '}
            need attention · {gaps} with data gaps · ranked by open alert severity, NEWS2 and data gaps
          </p>
        </div>
        <div className="filters">
          <label>
            Program
            <select value={program} onChange={(e) => onFilter({ program: e.target.value })}>
              <option value="">All programs</option>
              {(data?.filters.programs ?? []).map((p) => (
                <option key={p} value={p}>
                  {programLabel(p)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Care team
            <select value={careTeam} onChange={(e) => onFilter({ careTeam: e.target.value })}>
              <option value="">All my care teams</option>
              {(data?.filters.careTeams ?? []).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {!data && loading ? (
        <Empty>Loading patients…</Empty>
      ) : patients.length === 0 ? (
        <Empty>No patients to show. Patients appear here when you are a member of their care team.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="worklist" aria-describedby="worklist-title">
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">Patient</th>
                <th scope="col">Priority</th>
                <th scope="col">NEWS2</th>
                <th scope="col">Alert</th>
                {columns.map((c) => (
                  <th scope="col" key={c} className="num">
                    {vitalMeta[c].short}
                    <span className="unit-head">{vitalMeta[c].unit}</span>
                  </th>
                ))}
                <th scope="col">24 h trend</th>
                <th scope="col">Devices</th>
                <th scope="col">Last reading</th>
              </tr>
            </thead>
            <tbody>
              {patients.map((p) => (
                <Row key={p.patientId} p={p} onOpen={onOpen} onChanged={onChanged} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const Row = memo(function Row({
  p,
  onOpen,
  onChanged,
}: {
  p: WorklistPatient;
  onOpen: (p: WorklistPatient) => void;
  onChanged: () => void;
}) {
  const trendKeys = (['hr', 'spo2', 'sbp', 'glucose', 'rr'] as const)
    .filter((k) => (p.trends[k]?.length ?? 0) > 1)
    .slice(0, 2);
  const trendMeta = {
    hr: ['HR', '/min'],
    spo2: ['SpO₂', '%'],
    sbp: ['SBP', 'mmHg'],
    glucose: ['Glucose', 'mg/dL'],
    rr: ['RR', '/min'],
  } as const;
  const offline = p.devices.filter((d) => !d.online).length;
  const lowBattery = p.devices.filter((d) => d.battery !== null && d.battery < 20).length;
  return (
    <tr
      className={`row-acuity-${p.acuity}${p.unackedSeverity === 'critical' ? ' row-critical' : ''}`}
      data-patient-row={p.name}
    >
      <td className="num rank">{p.rank}</td>
      <th scope="row" className="patient-cell">
        <button type="button" className="link patient-link" onClick={() => onOpen(p)}>
          {p.name}
        </button>
        <span className="small patient-identifier">
          {p.identifier.label} {p.identifier.value}
        </span>
        <span className="subtle small patient-meta">
          {p.age !== null ? `${p.age} y` : ''}
          {p.gender ? ` · ${p.gender[0]?.toUpperCase()}` : ''}
          {p.programs.length ? ` · ${p.programs.map(programLabel).join(', ')}` : ''}
        </span>
      </th>
      <td>
        <AcuityBadge acuity={p.acuity} />
      </td>
      <td>
        {p.news2 ? (
          <span
            className={`news2 news2-${p.news2.band}`}
            title={p.news2.source === 'computed' ? 'Computed from the latest vitals' : 'Scored by detection'}
          >
            <strong>{p.news2.total}</strong> <span className="small">{news2BandLabel(p.news2.band)}</span>
          </span>
        ) : (
          <span className="subtle" title="Not all five NEWS2 vitals measured in the last 4 h">
            —
          </span>
        )}
      </td>
      <td className="alert-cell">
        {p.topAlert ? (
          <div className="alert-mini">
            <SeverityBadge
              severity={p.topAlert.severity}
              muted={!['open', 'escalated'].includes(p.topAlert.state)}
            />
            <span className="alert-summary" title={p.topAlert.summary}>
              {p.topAlert.summary}
            </span>
            {['open', 'escalated'].includes(p.topAlert.state) ? (
              <AlertActions alert={p.topAlert} onChanged={onChanged} compact patientName={p.name} />
            ) : (
              <span className="subtle small">{p.topAlert.state}</span>
            )}
          </div>
        ) : p.dataGap ? (
          <span className="gap-flag">
            Data gap
            <span className="small">
              {' '}
              &gt; {p.gapMinutes < 120 ? `${p.gapMinutes} min` : `${Math.round(p.gapMinutes / 60)} h`}
            </span>
          </span>
        ) : (
          <span className="subtle">—</span>
        )}
      </td>
      {columns.map((c) => (
        <td key={c} className="num vital">
          {vitalValue(c, p.latest[c])}
        </td>
      ))}
      <td className="trends">
        {trendKeys.map((k) => (
          <span key={k} className="trend">
            <span className="trend-label">{trendMeta[k][0]}</span>
            <Sparkline points={p.trends[k]} label={trendMeta[k][0]} unit={trendMeta[k][1]} width={72} />
          </span>
        ))}
      </td>
      <td className="devices-cell">
        {p.devices.length === 0 ? (
          <span className="subtle">None</span>
        ) : (
          <span className={offline ? 'dev-off' : 'dev-on'}>
            <span aria-hidden="true">{offline ? '○' : '●'}</span> {p.devices.length - offline}/
            {p.devices.length} online
            {lowBattery ? <span className="warn-text"> · {lowBattery} low battery</span> : null}
          </span>
        )}
      </td>
      <td className={p.dataGap ? 'stale' : ''}>
        {p.lastReadingAt ? (
          <>
            {clock(p.lastReadingAt)}
            <span className="subtle small"> {ago(p.lastReadingAt)}</span>
          </>
        ) : (
          'No data'
        )}
      </td>
    </tr>
  );
});
