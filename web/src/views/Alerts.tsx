import { useState } from 'react';
import type { Alert } from '../api.ts';
import { AlertActions, Empty, SeverityBadge, StateBadge } from '../components.tsx';
import { ago, clock } from '../format.ts';

const order = { critical: 5, high: 4, medium: 3, low: 2, info: 1 } as const;

export function AlertsInbox({
  alerts,
  names,
  onChanged,
  onOpenPatient,
}: {
  alerts: Alert[];
  names: Map<string, string>;
  onChanged: () => void;
  onOpenPatient: (patientId: string) => void;
}) {
  const [filter, setFilter] = useState<'unacked' | 'all'>('unacked');
  const visible = alerts
    .filter((a) => a.state !== 'resolved')
    .filter((a) => filter === 'all' || a.state === 'open' || a.state === 'escalated')
    .sort(
      (a, b) =>
        Number(['open', 'escalated'].includes(b.state)) - Number(['open', 'escalated'].includes(a.state)) ||
        order[b.severity] - order[a.severity] ||
        Date.parse(b.raisedAt) - Date.parse(a.raisedAt),
    );
  const unacked = alerts.filter((a) => a.state === 'open' || a.state === 'escalated').length;
  return (
    <section aria-labelledby="alerts-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="alerts-title">Alerts</h1>
          <p className="subtle">
            <strong>{unacked}</strong> waiting for acknowledgement ·{' '}
            {alerts.filter((a) => a.state !== 'resolved').length} active
          </p>
        </div>
        <fieldset className="segmented">
          <legend className="sr-only">Show</legend>
          <label className={filter === 'unacked' ? 'on' : ''}>
            <input
              type="radio"
              name="alert-filter"
              checked={filter === 'unacked'}
              onChange={() => setFilter('unacked')}
            />
            Needs acknowledgement
          </label>
          <label className={filter === 'all' ? 'on' : ''}>
            <input
              type="radio"
              name="alert-filter"
              checked={filter === 'all'}
              onChange={() => setFilter('all')}
            />
            All active
          </label>
        </fieldset>
      </div>
      {visible.length === 0 ? (
        <Empty>
          {filter === 'unacked' ? 'Nothing waiting. All alerts are acknowledged.' : 'No active alerts.'}
        </Empty>
      ) : (
        <ul className="alert-list">
          {visible.map((a) => {
            const name = names.get(a.patientId) ?? 'Patient';
            return (
              <li
                key={a.id}
                className={`alert-card sev-border-${a.severity} state-${a.state}`}
                data-alert-id={a.id}
              >
                <div className="alert-card-main">
                  <div className="alert-card-top">
                    <SeverityBadge severity={a.severity} muted={!['open', 'escalated'].includes(a.state)} />
                    <StateBadge state={a.state} />
                    <span className="subtle small">
                      raised {clock(a.raisedAt)} ({ago(a.raisedAt)})
                      {a.state === 'snoozed' && a.snoozedUntil
                        ? ` · snoozed until ${clock(a.snoozedUntil)}`
                        : ''}
                      {a.escalationTier ? ` · escalation tier ${a.escalationTier}` : ''}
                    </span>
                  </div>
                  <p className="alert-card-summary">{a.summary}</p>
                  <button type="button" className="link" onClick={() => onOpenPatient(a.patientId)}>
                    {name}
                  </button>
                </div>
                <AlertActions alert={a} onChanged={onChanged} patientName={name} />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
