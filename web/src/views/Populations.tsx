import { useEffect, useState } from 'react';
import type { CohortView } from '../../../src/program/cohort-data.ts';
import { download, get, post, qs } from '../api.ts';
import { Empty } from '../components.tsx';

interface Cohort {
  id: string;
  name: string;
  createdBy: string;
  definition: { criteria: unknown[] };
}
interface Evaluation {
  count: number;
  asOf: string;
  criteria: string[];
  members: Array<{ patientId: string; name: string; values: Array<number | null> }>;
}

const example = JSON.stringify(
  {
    criteria: [
      { kind: 'program', program: 'home-bp' },
      { kind: 'measure', code: '8480-6', statistic: 'mean', days: 14, op: '>', value: 150 },
      { kind: 'readings-per-week', code: '85354-9', days: 14, op: '<', value: 3 },
    ],
  },
  null,
  2,
);

const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}`);

/**
 * Population analytics (docs/populations.md): saved cohorts and a builder (a definition in JSON,
 * previewed before it is saved); for the chosen cohort its members within the caller's care
 * teams, BP control rate, TIR distribution of the CGM patients, the monthly outcome trend, and the
 * CSV and FHIR Group exports.
 */
export function PopulationsView({ tick }: { tick: number }) {
  const [cohorts, setCohorts] = useState<Cohort[]>([]);
  const [selected, setSelected] = useState<string>('');
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const [view, setView] = useState<CohortView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [draft, setDraft] = useState(example);
  const [name, setName] = useState('');
  const [preview, setPreview] = useState<Evaluation | null>(null);
  const [building, setBuilding] = useState(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick drives the refresh
  useEffect(() => {
    get<{ cohorts: Cohort[] }>('/api/v1/cohorts')
      .then((r) => {
        setCohorts(r.cohorts);
        setSelected((s) => s || r.cohorts[0]?.id || '');
      })
      .catch((e: Error) => setError(e.message));
  }, [tick]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick drives the refresh
  useEffect(() => {
    if (!selected) return;
    Promise.all([
      post<Evaluation>(`/api/v1/cohorts/${selected}/evaluate`, { limit: 50 }),
      get<CohortView>(`/api/v1/cohorts/${selected}/view${qs({ months: 6 })}`),
    ])
      .then(([e, v]) => {
        setEvaluation(e);
        setView(v);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [tick, selected]);

  const parsed = (): unknown => {
    try {
      return JSON.parse(draft);
    } catch {
      throw new Error('The definition is not valid JSON');
    }
  };
  const runPreview = () => {
    try {
      post<Evaluation>('/api/v1/cohorts/evaluate', { definition: parsed(), limit: 10 })
        .then((r) => {
          setPreview(r);
          setError(null);
        })
        .catch((e: Error) => setError(e.message));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const save = () => {
    try {
      post<Cohort>('/api/v1/cohorts', { name, definition: parsed() })
        .then((c) => {
          setCohorts((list) => [...list, c].sort((a, b) => a.name.localeCompare(b.name)));
          setSelected(c.id);
          setBuilding(false);
          setPreview(null);
          setError(null);
        })
        .catch((e: Error) => setError(e.message));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const cohort = cohorts.find((c) => c.id === selected);
  const maxBin = Math.max(1, ...(view?.tir.bins.map((b) => b.patients) ?? [1]));
  const b = view?.bpControl;

  return (
    <section aria-labelledby="pop-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="pop-title">Populations</h1>
          <p className="subtle">
            {evaluation && cohort
              ? `${cohort.name}: ${evaluation.count} patient${evaluation.count === 1 ? '' : 's'} within your care teams`
              : cohorts.length === 0
                ? 'No saved cohorts yet.'
                : 'Loading…'}
          </p>
        </div>
        <div className="filters">
          <label>
            Cohort
            <select value={selected} onChange={(e) => setSelected(e.target.value)}>
              {cohorts.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="btn" onClick={() => setBuilding((x) => !x)}>
            {building ? 'Close builder' : 'New cohort'}
          </button>
          {selected && (
            <>
              <button
                type="button"
                className="btn"
                onClick={() =>
                  void download(
                    `/api/v1/cohorts/${selected}/export?format=csv`,
                    `cohort-${selected}.csv`,
                  ).catch((e: Error) => setError(e.message))
                }
              >
                Export CSV
              </button>
              <button
                type="button"
                className="btn"
                onClick={() =>
                  void download(
                    `/api/v1/cohorts/${selected}/export?format=fhir`,
                    `cohort-${selected}.json`,
                  ).catch((e: Error) => setError(e.message))
                }
              >
                FHIR Group
              </button>
            </>
          )}
        </div>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {building && (
        <section aria-labelledby="pop-builder" className="pop-builder">
          <h2 id="pop-builder">New cohort</h2>
          <p className="subtle small">
            Criteria combined with AND: <code>program</code>, <code>condition</code> (code, system),{' '}
            <code>measure</code> (LOINC code, mean / min / max / count over days, compared),{' '}
            <code>readings-per-week</code>, <code>alerts</code> (rule, severity, over days, compared).
          </p>
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
          </label>
          <label>
            Definition
            <textarea value={draft} onChange={(e) => setDraft(e.target.value)} rows={10} spellCheck={false} />
          </label>
          <div className="pop-actions">
            <button type="button" className="btn" onClick={runPreview}>
              Preview
            </button>
            <button type="button" className="btn" onClick={save} disabled={!name.trim()}>
              Save
            </button>
            {preview && (
              <span data-preview-count={preview.count}>
                {preview.count} patient{preview.count === 1 ? ' meets' : 's meet'} it
              </span>
            )}
          </div>
        </section>
      )}
      {cohorts.length === 0 && !building ? (
        <Empty>Build a cohort from programs, conditions, measures and alerts with “New cohort”.</Empty>
      ) : (
        view &&
        b && (
          <>
            <dl className="metric-tiles">
              <div className="tile">
                <dt>Patients</dt>
                <dd>
                  <strong data-members>{view.members}</strong>
                  <span className="subtle small">
                    as of {new Date(evaluation?.asOf ?? Date.now()).toLocaleDateString()}
                  </span>
                </dd>
              </div>
              <div className="tile">
                <dt>BP control</dt>
                <dd>
                  <strong data-bp-rate>{pct(b.rate)} %</strong>
                  <span className="subtle small">
                    {b.controlled} of {b.patientsWithBp} below {b.settings.systolicBelow}/
                    {b.settings.diastolicBelow} (mean, {b.settings.days} days; target configurable,
                    unverified)
                  </span>
                </dd>
              </div>
              <div className="tile">
                <dt>Time in range (CGM)</dt>
                <dd>
                  <strong data-tir-median>{view.tir.median === null ? '—' : `${view.tir.median} %`}</strong>
                  <span className="subtle small">
                    median of {view.tir.patientsWithCgm} · {view.tir.meetingTarget} above{' '}
                    {view.tir.targetPercent} % · {view.tir.windowDays} days
                  </span>
                </dd>
              </div>
            </dl>
            <div className="pop-columns">
              <section aria-labelledby="pop-tir" className="eq-use">
                <h2 id="pop-tir">TIR distribution</h2>
                {view.tir.patientsWithCgm === 0 ? (
                  <p className="subtle">No CGM readings in the last {view.tir.windowDays} days.</p>
                ) : (
                  <ul className="pop-bars">
                    {[...view.tir.bins].reverse().map((bin) => (
                      <li key={bin.from} data-tir-bin={bin.from}>
                        <span className="pop-bar-label">
                          {bin.from}–{bin.to} %
                        </span>
                        <span
                          className={`pop-bar ${bin.from >= view.tir.targetPercent ? 'tir-ir' : 'tir-l'}`}
                          style={{ width: `${(bin.patients / maxBin) * 100}%` }}
                        />
                        <span className="num">{bin.patients}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section aria-labelledby="pop-trend" className="eq-use">
                <h2 id="pop-trend">Outcomes by month</h2>
                <div className="table-wrap">
                  <table className="grid">
                    <thead>
                      <tr>
                        <th scope="col">Month</th>
                        <th scope="col" className="num">
                          BP patients
                        </th>
                        <th scope="col" className="num">
                          BP control <span className="unit-head">%</span>
                        </th>
                        <th scope="col" className="num">
                          Mean SBP <span className="unit-head">mmHg</span>
                        </th>
                        <th scope="col" className="num">
                          CGM patients
                        </th>
                        <th scope="col" className="num">
                          Mean TIR <span className="unit-head">%</span>
                        </th>
                        <th scope="col" className="num">
                          Alerts
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {view.trend.map((t) => (
                        <tr key={t.month} data-trend-month={t.month}>
                          <td>{t.month}</td>
                          <td className="num">{t.patientsWithBp}</td>
                          <td className="num">{pct(t.bpControlRate)}</td>
                          <td className="num">{t.meanSystolic ?? '—'}</td>
                          <td className="num">{t.patientsWithCgm}</td>
                          <td className="num">{t.meanTir ?? '—'}</td>
                          <td className="num">{t.alerts}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </section>
            </div>
            {evaluation && (
              <section aria-labelledby="pop-members" className="eq-use">
                <h2 id="pop-members">
                  Members{' '}
                  {evaluation.count > evaluation.members.length && (
                    <span className="subtle small">
                      (first {evaluation.members.length} of {evaluation.count}; all in the exports)
                    </span>
                  )}
                </h2>
                {evaluation.members.length === 0 ? (
                  <p className="subtle">No patient in your care teams meets this cohort.</p>
                ) : (
                  <div className="table-wrap">
                    <table className="grid">
                      <thead>
                        <tr>
                          <th scope="col">Patient</th>
                          {evaluation.criteria.map((c) => (
                            <th key={c} scope="col" className="num">
                              {c}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {evaluation.members.map((m) => (
                          <tr key={m.patientId} data-member={m.patientId}>
                            <td>{m.name}</td>
                            {m.values.map((v, i) => (
                              <td key={evaluation.criteria[i]} className="num">
                                {/^(program|condition) /.test(evaluation.criteria[i] ?? '')
                                  ? '✓'
                                  : (v ?? '—')}
                              </td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </section>
            )}
          </>
        )
      )}
    </section>
  );
}
