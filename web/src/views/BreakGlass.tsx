import { useCallback, useEffect, useState } from 'react';
import { ApiError, get, post, qs } from '../api.ts';
import { Empty } from '../components.tsx';
import { ago, clock } from '../format.ts';

export interface Grant {
  id: string;
  userId: string;
  patientId: string;
  reason: string;
  grantedAt: string;
  expiresAt: string;
  endedAt: string | null;
  status: 'active' | 'expired' | 'ended';
  notifiedAt: string | null;
  noticeError: string | null;
  reviewedAt: string | null;
  reviewOutcome: 'appropriate' | 'inappropriate' | null;
  reviewNote: string | null;
}

interface Access {
  seq: number;
  recorded: string;
  subtype: string | null;
  action: string;
  outcome: string;
  entities: string[];
}

const message = (e: unknown) =>
  e instanceof ApiError ? e.message : 'Vigil could not be reached. Try again.';

/**
 * Emergency ("break-glass") access. Clinicians and nurses open a record outside their care teams
 * with a reason, for a limited time, and see their own grants; privacy officers and administrators
 * review every grant with what its holder did (docs/break-glass.md).
 */
export function BreakGlass({
  reviewer,
  canOpen,
  onOpenPatient,
}: {
  reviewer: boolean;
  canOpen: boolean;
  onOpenPatient: (id: string) => void;
}) {
  const [grants, setGrants] = useState<Grant[] | null>(null);
  const [show, setShow] = useState<'unreviewed' | 'active' | ''>(reviewer ? 'unreviewed' : '');
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    get<{ grants: Grant[] }>(`/api/v1/break-glass${qs({ status: show })}`)
      .then((r) => {
        setGrants(r.grants);
        setError(null);
      })
      .catch((e) => setError(message(e)));
  }, [show]);
  useEffect(load, [load]);

  return (
    <section aria-labelledby="bg-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="bg-title">Emergency access</h1>
          <p className="subtle">
            {reviewer
              ? 'Every break-glass access, for review. The holder saw the patient as a care-team member would.'
              : "Open a patient's record outside your care teams when you must. Your reason and every access are recorded and reviewed."}
          </p>
        </div>
        {reviewer && (
          <label className="filters">
            Show
            <select value={show} onChange={(e) => setShow(e.target.value as typeof show)}>
              <option value="unreviewed">Waiting for review</option>
              <option value="active">In force now</option>
              <option value="">All</option>
            </select>
          </label>
        )}
      </div>
      {canOpen && <OpenForm onOpened={load} onOpenPatient={onOpenPatient} />}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      <h2 className="bg-list-title">{reviewer ? 'Grants' : 'Your grants'}</h2>
      {grants && grants.length === 0 ? (
        <Empty>{reviewer && show === 'unreviewed' ? 'Nothing waits for review.' : 'No grants.'}</Empty>
      ) : (
        <div className="table-wrap">
          <table className="grid" aria-label="Break-glass grants">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Patient</th>
                <th scope="col">Reason</th>
                <th scope="col">Opened</th>
                <th scope="col">Until</th>
                <th scope="col">Review</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {(grants ?? []).map((g) => (
                <GrantRow
                  key={g.id}
                  g={g}
                  reviewer={reviewer}
                  onChanged={load}
                  onOpenPatient={onOpenPatient}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OpenForm({
  onOpened,
  onOpenPatient,
}: {
  onOpened: () => void;
  onOpenPatient: (id: string) => void;
}) {
  const [patientId, setPatientId] = useState('');
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(60);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const g = await post<Grant>('/api/v1/break-glass', { patientId: patientId.trim(), reason, minutes });
      setPatientId('');
      setReason('');
      onOpened();
      onOpenPatient(g.patientId);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel bg-form" onSubmit={(e) => void submit(e)} aria-labelledby="bg-open">
      <h2 id="bg-open">Open a record</h2>
      <div className="bg-fields">
        <label>
          Patient id
          <input
            value={patientId}
            onChange={(e) => setPatientId(e.target.value)}
            required
            maxLength={64}
            autoComplete="off"
          />
        </label>
        <label>
          For
          <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            <option value={15}>15 minutes</option>
            <option value={30}>30 minutes</option>
            <option value={60}>1 hour</option>
            <option value={120}>2 hours</option>
          </select>
        </label>
      </div>
      <label className="bg-reason">
        Why you need it now (a reviewer reads this)
        <textarea
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          required
          minLength={10}
          maxLength={500}
          rows={2}
        />
      </label>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        Open the record
      </button>
    </form>
  );
}

function GrantRow({
  g,
  reviewer,
  onChanged,
  onOpenPatient,
}: {
  g: Grant;
  reviewer: boolean;
  onChanged: () => void;
  onOpenPatient: (id: string) => void;
}) {
  const [accesses, setAccesses] = useState<Access[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      onChanged();
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <>
      <tr data-grant={g.id}>
        <td>
          <span className={`pill ${g.status === 'active' ? 'pill-warn' : 'pill-grey'}`}>
            {g.status === 'active' ? 'In force' : g.status === 'expired' ? 'Expired' : 'Ended'}
          </span>
        </td>
        <td className="mono">
          {g.status === 'active' && !reviewer ? (
            <button type="button" className="link" onClick={() => onOpenPatient(g.patientId)}>
              {g.patientId}
            </button>
          ) : (
            g.patientId
          )}
        </td>
        <td className="bg-reason-cell">{g.reason}</td>
        <td>
          {clock(g.grantedAt)} <span className="subtle small">{ago(g.grantedAt)}</span>
        </td>
        <td>{clock(g.endedAt ?? g.expiresAt)}</td>
        <td>
          {g.reviewOutcome ? (
            <span className={`pill ${g.reviewOutcome === 'appropriate' ? 'pill-ok' : 'pill-warn'}`}>
              {g.reviewOutcome === 'appropriate' ? 'Appropriate' : 'Inappropriate'}
            </span>
          ) : (
            <span className="subtle">Waiting</span>
          )}
        </td>
        <td className="actions">
          {g.status === 'active' && (
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => void act(() => post(`/api/v1/break-glass/${g.id}/end`))}
            >
              End now
            </button>
          )}
          {reviewer && (
            <button
              type="button"
              className="btn btn-ghost"
              aria-expanded={accesses !== null}
              onClick={() =>
                accesses
                  ? setAccesses(null)
                  : void get<{ accesses: Access[] }>(`/api/v1/break-glass/${g.id}/accesses`).then(
                      (r) => setAccesses(r.accesses),
                      (e) => setError(message(e)),
                    )
              }
            >
              {accesses ? 'Hide accesses' : 'Accesses'}
            </button>
          )}
          {reviewer && !g.reviewOutcome && (
            <>
              <button
                type="button"
                className="btn"
                onClick={() =>
                  void act(() => post(`/api/v1/break-glass/${g.id}/review`, { outcome: 'appropriate' }))
                }
              >
                Appropriate
              </button>
              <button
                type="button"
                className="btn"
                onClick={() =>
                  void act(() => post(`/api/v1/break-glass/${g.id}/review`, { outcome: 'inappropriate' }))
                }
              >
                Inappropriate
              </button>
            </>
          )}
          {error && (
            <span role="alert" className="error-text small">
              {error}
            </span>
          )}
        </td>
      </tr>
      {accesses && (
        <tr className="bg-accesses">
          <td colSpan={7}>
            {accesses.length === 0 ? (
              <span className="subtle">No access to the patient's data under this grant.</span>
            ) : (
              <ul>
                {accesses.map((a) => (
                  <li key={a.seq}>
                    {clock(a.recorded)} · {a.subtype ?? a.action} · {a.entities.join(', ') || 'the record'}
                    {a.outcome !== '0' && <span className="subtle"> (refused)</span>}
                  </li>
                ))}
              </ul>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
