import { useCallback, useEffect, useState } from 'react';
import { get, post } from '../api.ts';
import { Empty } from '../components.tsx';
import { clock } from '../format.ts';

interface Rule {
  id: string;
  kind: string;
  enabled?: boolean;
  [field: string]: unknown;
}
interface Settings {
  program: string;
  version: number;
  overrides: Record<string, Record<string, unknown>>;
  rules: Rule[];
}
interface Change {
  rule: string;
  field: string;
  before: unknown;
  after: unknown;
}
interface Version {
  version: number;
  appliedBy: string;
  appliedByName: string | null;
  appliedAt: string;
  reason: string;
  diff: Change[];
}
interface Replay {
  since: string;
  until: string;
  days: number;
  patients: number;
  readings: number;
  before: { alerts: number; patients: number };
  after: { alerts: number; patients: number };
  byRuleSeverity: Array<{ rule: string; severity: string; before: number; after: number }>;
  patientsAffected: number;
  removedCount: number;
  addedCount: number;
  removedAcknowledged: number;
  removed: Array<{
    patientId: string;
    conditionKey: string;
    rule: string;
    severity: string;
    openedAt: string;
    summary: string;
    acknowledged: boolean;
  }>;
  removedNotShown: number;
  warnings: string[];
  diff: Change[];
}
interface Proposal {
  id: string;
  status: 'proposed' | 'approved' | 'rejected' | 'withdrawn';
  proposedBy: string;
  proposedByName: string | null;
  proposedAt: string;
  reason: string;
  changes: Record<string, Record<string, unknown>>;
  reviewedBy: string | null;
  reviewedByName: string | null;
  reviewNote: string | null;
  appliedVersion: number | null;
  replay?: Replay | null;
  replayed?: boolean;
  replayJob: { status: 'running' | 'failed'; error?: string } | null;
}

const show = (v: unknown) => (v === undefined || v === null ? '—' : JSON.stringify(v));
/** Fields a reviewer tunes; the rest (codes, labels, units) name what the rule watches. */
const FIXED = new Set(['id', 'kind', 'code', 'codes', 'component', 'label', 'unit', 'name', 'signals']);

/**
 * Alarm settings under change control (docs/alarm-settings.md): the settings in force and their
 * versions; propose a change to one rule field; replay it over the last weeks of the program's
 * stored readings (alerts before and after, removed acknowledged alerts as a warning); a second
 * clinician approves (a new version, in force at once) or rejects it.
 */
export function AlarmSettingsView({ me, names }: { me: string; names: Map<string, string> }) {
  const [programs, setPrograms] = useState<Array<{ name: string; title: string }>>([]);
  const [program, setProgram] = useState('');
  const [settings, setSettings] = useState<Settings | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [proposals, setProposals] = useState<Proposal[]>([]);
  const [open, setOpen] = useState<Proposal | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rule, setRule] = useState('');
  const [field, setField] = useState('');
  const [value, setValue] = useState('');
  const [reason, setReason] = useState('');
  const [days, setDays] = useState(30);
  const [note, setNote] = useState('');

  useEffect(() => {
    get<{ programs: Array<{ name: string; title: string }> }>('/api/v1/programs')
      .then((r) => {
        setPrograms(r.programs);
        setProgram((p) => p || (r.programs[0]?.name ?? ''));
      })
      .catch((e: Error) => setError(e.message));
  }, []);

  const base = `/api/v1/programs/${encodeURIComponent(program)}/alarm-settings`;
  const load = useCallback(async () => {
    if (!program) return;
    try {
      const [s, v, p] = await Promise.all([
        get<Settings>(base),
        get<{ versions: Version[] }>(`${base}/versions`),
        get<{ proposals: Proposal[] }>(`${base}/proposals`),
      ]);
      setSettings(s);
      setVersions(v.versions);
      setProposals(p.proposals);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [base, program]);
  useEffect(() => {
    setOpen(null);
    setRule('');
    void load();
  }, [load]);

  const openProposal = useCallback(
    async (id: string) => {
      try {
        setOpen(await get<Proposal>(`${base}/proposals/${id}`));
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [base],
  );
  // A running replay: look again until its result is stored.
  useEffect(() => {
    if (open?.replayJob?.status !== 'running') return;
    const t = setTimeout(() => void openProposal(open.id), 700);
    return () => clearTimeout(t);
  }, [open, openProposal]);

  const ruleOf = settings?.rules.find((r) => r.id === rule);
  const fields = ruleOf ? Object.keys(ruleOf).filter((f) => !FIXED.has(f)) : [];
  const pickField = (f: string) => {
    setField(f);
    setValue(ruleOf && f in ruleOf ? JSON.stringify(ruleOf[f]) : '');
  };

  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const propose = () =>
    act(async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new Error('The new value must be JSON: a number, true/false, "text", or a list.');
      }
      const p = await post<Proposal>(`${base}/proposals`, {
        changes: { [rule]: { [field]: parsed } },
        reason,
      });
      setReason('');
      await load();
      setOpen(p);
    });
  const replay = (id: string) =>
    act(async () => {
      await post(`${base}/proposals/${id}/replay`, { days });
      await openProposal(id);
    });
  const review = (id: string, decision: 'approve' | 'reject') =>
    act(async () => {
      await post(`${base}/proposals/${id}/review`, { decision, note });
      setNote('');
      await load();
      await openProposal(id);
    });

  const r = open?.replay ?? null;
  const mine = open !== null && open.proposedBy === me;
  return (
    <section aria-labelledby="alarmset-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="alarmset-title">Alarm settings</h1>
          <p className="subtle">
            {settings
              ? `${program}: version ${settings.version} in force${settings.version === 0 ? ' (the program’s own settings)' : ''} · changes are replayed and approved by a second clinician`
              : 'Loading…'}
          </p>
        </div>
        <div className="filters">
          <label>
            Program
            <select aria-label="Program" value={program} onChange={(e) => setProgram(e.target.value)}>
              {programs.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.title}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}

      <div className="alarmset-grid">
        <section aria-labelledby="alarmset-propose" className="panel">
          <h2 id="alarmset-propose">Propose a change</h2>
          <form
            className="alarmset-form"
            onSubmit={(e) => {
              e.preventDefault();
              void propose();
            }}
          >
            <label>
              Rule
              <select
                aria-label="Rule"
                value={rule}
                onChange={(e) => {
                  setRule(e.target.value);
                  setField('');
                  setValue('');
                }}
              >
                <option value="">Choose a rule…</option>
                {settings?.rules.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.id} ({x.kind})
                  </option>
                ))}
              </select>
            </label>
            <label>
              Setting
              <select
                aria-label="Setting"
                value={field}
                onChange={(e) => pickField(e.target.value)}
                disabled={!ruleOf}
              >
                <option value="">Choose a setting…</option>
                {fields.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
            <label>
              New value
              <input
                aria-label="New value"
                value={value}
                onChange={(e) => setValue(e.target.value)}
                disabled={!field}
              />
            </label>
            <label>
              Reason
              <textarea
                aria-label="Reason"
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                rows={2}
              />
            </label>
            <button type="submit" className="primary" disabled={!rule || !field || !reason.trim()}>
              Propose
            </button>
          </form>
        </section>

        <section aria-labelledby="alarmset-proposals" className="panel">
          <h2 id="alarmset-proposals">Proposals</h2>
          {proposals.length === 0 ? (
            <Empty>No proposals for this program.</Empty>
          ) : (
            <ul className="alarmset-list">
              {proposals.map((p) => (
                <li key={p.id} data-proposal={p.id}>
                  <button type="button" className="link" onClick={() => void openProposal(p.id)}>
                    {Object.entries(p.changes)
                      .map(([id, f]) => `${id}: ${Object.keys(f).join(', ')}`)
                      .join('; ')}
                  </button>{' '}
                  <span className={`as-status as-${p.status}`}>{p.status}</span>{' '}
                  <span className="subtle small">
                    {p.proposedBy === me ? 'you' : (p.proposedByName ?? p.proposedBy)} · {clock(p.proposedAt)}
                    {p.replayed ? ' · replayed' : ''}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      {open && (
        <section aria-labelledby="alarmset-open" className="panel" data-open-proposal={open.id}>
          <h2 id="alarmset-open">
            Proposal <span className={`as-status as-${open.status}`}>{open.status}</span>
          </h2>
          <p>
            {open.reason}{' '}
            <span className="subtle small">
              — {open.proposedBy === me ? 'you' : (open.proposedByName ?? open.proposedBy)}
            </span>
          </p>
          <ul className="alarmset-changes">
            {/* Before → after as replayed (the settings of then); not replayed yet: as in force now. */}
            {(
              r?.diff ??
              Object.entries(open.changes).flatMap(([id, f]) =>
                Object.entries(f).map(([k, v]) => ({
                  rule: id,
                  field: k,
                  before: settings?.rules.find((x) => x.id === id)?.[k],
                  after: v,
                })),
              )
            ).map((d) => (
              <li key={`${d.rule}.${d.field}`}>
                <code>
                  {d.rule}.{d.field}
                </code>
                : {show(d.before)} → <strong>{show(d.after)}</strong>
              </li>
            ))}
          </ul>
          {open.status === 'proposed' && (
            <div className="filters">
              <label>
                Replay
                <select
                  aria-label="Replay period"
                  value={days}
                  onChange={(e) => setDays(Number(e.target.value))}
                >
                  <option value={7}>Last 7 days</option>
                  <option value={30}>Last 30 days</option>
                  <option value={90}>Last 90 days</option>
                </select>
              </label>
              <button
                type="button"
                onClick={() => void replay(open.id)}
                disabled={open.replayJob?.status === 'running'}
              >
                {open.replayJob?.status === 'running' ? 'Replaying…' : r ? 'Replay again' : 'Replay'}
              </button>
            </div>
          )}
          {open.replayJob?.status === 'failed' && (
            <p role="alert" className="error-text">
              Replay failed: {open.replayJob.error}
            </p>
          )}
          {r && (
            <div className="alarmset-replay" data-replay>
              <p data-replay-summary>
                Last {r.days} days ({clock(r.since)} – {clock(r.until)}): {r.readings} readings of{' '}
                {r.patients} patients · alerts {r.before.alerts} → {r.after.alerts} · {r.removedCount}{' '}
                removed, {r.addedCount} added · {r.patientsAffected} patient
                {r.patientsAffected === 1 ? '' : 's'} affected
              </p>
              {r.warnings.map((w) => (
                <p key={w} role="alert" className="warn-text" data-replay-warning>
                  ⚠ {w}
                </p>
              ))}
              <table className="grid">
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Severity</th>
                    <th scope="col" className="num">
                      Current
                    </th>
                    <th scope="col" className="num">
                      Proposed
                    </th>
                    <th scope="col" className="num">
                      Change
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.byRuleSeverity.map((c) => (
                    <tr key={`${c.rule}-${c.severity}`} data-replay-rule={`${c.rule}:${c.severity}`}>
                      <td>{c.rule}</td>
                      <td>{c.severity}</td>
                      <td className="num">{c.before}</td>
                      <td className="num">{c.after}</td>
                      <td className="num">
                        {c.after - c.before > 0 ? `+${c.after - c.before}` : c.after - c.before}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {r.removed.length > 0 && (
                <>
                  <h3>Alerts that would disappear</h3>
                  <ul>
                    {r.removed.map((e) => (
                      <li key={`${e.patientId}-${e.conditionKey}-${e.openedAt}`} data-removed={e.patientId}>
                        {clock(e.openedAt)} · {names.get(e.patientId) ?? e.patientId} · {e.summary}
                        {e.acknowledged && (
                          <strong className="warn-text"> · acknowledged (actionable)</strong>
                        )}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {r.removedNotShown > 0 && (
                <p className="subtle small">
                  {r.removedNotShown} removed alerts of patients outside your care teams
                </p>
              )}
            </div>
          )}
          {open.status === 'proposed' &&
            (mine ? (
              <p className="subtle">You proposed this change: a second clinician reviews it.</p>
            ) : (
              <div className="alarmset-review">
                <label>
                  Review note
                  <textarea
                    aria-label="Review note"
                    value={note}
                    onChange={(e) => setNote(e.target.value)}
                    rows={2}
                  />
                </label>
                <button
                  type="button"
                  className="primary"
                  disabled={!r || !note.trim()}
                  title={r ? undefined : 'Replay the proposal first'}
                  onClick={() => void review(open.id, 'approve')}
                >
                  Approve and apply
                </button>
                <button type="button" disabled={!note.trim()} onClick={() => void review(open.id, 'reject')}>
                  Reject
                </button>
              </div>
            ))}
          {open.reviewedBy && (
            <p data-review>
              {open.status === 'approved' ? 'Approved' : open.status === 'rejected' ? 'Rejected' : 'Closed'}{' '}
              by {open.reviewedBy === me ? 'you' : (open.reviewedByName ?? open.reviewedBy)}:{' '}
              {open.reviewNote}
              {open.appliedVersion !== null && ` · in force as version ${open.appliedVersion}`}
            </p>
          )}
        </section>
      )}

      <section aria-labelledby="alarmset-versions" className="panel">
        <h2 id="alarmset-versions">Versions</h2>
        {versions.length === 0 ? (
          <Empty>No change applied: the program’s own settings are in force.</Empty>
        ) : (
          <ul>
            {versions.map((v) => (
              <li key={v.version} data-version={v.version}>
                <strong>Version {v.version}</strong> · {v.appliedByName ?? v.appliedBy} · {clock(v.appliedAt)}{' '}
                · {v.reason}
                <ul>
                  {v.diff.map((d) => (
                    <li key={`${d.rule}.${d.field}`}>
                      <code>
                        {d.rule}.{d.field}
                      </code>
                      : {show(d.before)} → {show(d.after)}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
