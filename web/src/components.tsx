import { useId, useState } from 'react';
import { type Alert, ApiError, post, type Severity } from './api.ts';
import { acuityClass, acuityNames, severityLabel } from './format.ts';

/** Severity always carries its word, never colour alone. */
export function SeverityBadge({ severity, muted = false }: { severity: Severity; muted?: boolean }) {
  return (
    <span className={`sev sev-${severity}${muted ? ' sev-muted' : ''}`}>
      <span className="sev-icon" aria-hidden="true">
        {severity === 'critical' ? '▲' : severity === 'high' ? '◆' : severity === 'medium' ? '●' : '○'}
      </span>
      {severityLabel[severity]}
    </span>
  );
}

export function AcuityBadge({ acuity }: { acuity: number }) {
  const i = Math.max(0, Math.min(5, acuity));
  return <span className={`acuity acuity-${acuityClass[i]}`}>{acuityNames[i]}</span>;
}

export function StateBadge({ state }: { state: string }) {
  const labels: Record<string, string> = {
    open: 'Open',
    escalated: 'Escalated',
    acknowledged: 'Acknowledged',
    snoozed: 'Snoozed',
    resolved: 'Resolved',
  };
  return <span className={`state state-${state}`}>{labels[state] ?? state}</span>;
}

/**
 * One-click clinical actions on an alert: acknowledge, snooze (minutes), escalate, resolve with a
 * note. Disabled while a request runs; the error, if any, is shown beside the buttons.
 */
export function AlertActions({
  alert,
  onChanged,
  compact = false,
  patientName,
}: {
  alert: Pick<Alert, 'id' | 'state' | 'severity' | 'summary'>;
  onChanged: () => void;
  compact?: boolean;
  patientName?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<'none' | 'resolve' | 'snooze'>('none');
  const [note, setNote] = useState('');
  const [minutes, setMinutes] = useState(30);
  const noteId = useId();
  const who = patientName ? ` for ${patientName}` : '';
  const act = async (path: string, body: object = {}) => {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${path}`, body);
      setMode('none');
      setNote('');
      onChanged();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Action failed');
    } finally {
      setBusy(false);
    }
  };
  if (alert.state === 'resolved') return null;
  const unacked = alert.state === 'open' || alert.state === 'escalated';
  return (
    <div className={`actions${compact ? ' actions-compact' : ''}`}>
      {unacked && (
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy}
          onClick={() => act('acknowledge')}
          aria-label={`Acknowledge alert${who}: ${alert.summary}`}
        >
          Acknowledge
        </button>
      )}
      {!compact && alert.state !== 'snoozed' && (
        <button
          type="button"
          className="btn"
          disabled={busy}
          onClick={() => setMode(mode === 'snooze' ? 'none' : 'snooze')}
        >
          Snooze…
        </button>
      )}
      {!compact && (
        <button type="button" className="btn" disabled={busy} onClick={() => act('escalate')}>
          Escalate
        </button>
      )}
      {!compact && (
        <button
          type="button"
          className="btn"
          disabled={busy}
          onClick={() => setMode(mode === 'resolve' ? 'none' : 'resolve')}
        >
          Resolve…
        </button>
      )}
      {mode === 'snooze' && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act('snooze', { minutes, ...(note ? { note } : {}) });
          }}
        >
          <label>
            Snooze for{' '}
            <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
              {[15, 30, 60, 120, 240].map((m) => (
                <option key={m} value={m}>
                  {m < 60 ? `${m} min` : `${m / 60} h`}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Snooze
          </button>
        </form>
      )}
      {mode === 'resolve' && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act('resolve', { note });
          }}
        >
          <label htmlFor={noteId}>Resolution note</label>
          <input
            id={noteId}
            value={note}
            onChange={(e) => setNote(e.target.value)}
            placeholder="What was done"
            required
            maxLength={2000}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to write the note
            autoFocus
          />
          <button type="submit" className="btn btn-primary" disabled={busy || !note.trim()}>
            Resolve
          </button>
        </form>
      )}
      {error && (
        <span role="alert" className="error-text">
          {error}
        </span>
      )}
    </div>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <div className="empty">{children}</div>;
}
