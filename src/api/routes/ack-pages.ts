import type { Alert } from '../../alerts/alert.ts';
import { esc, page } from './smart-pages.ts';

/** The page an acknowledge link opens: what the alert is, and one button. No patient identifier. */
export function ackPage(o: { alert: Alert }): string {
  const a = o.alert;
  const open = a.state !== 'resolved';
  return page(
    'Acknowledge alert',
    `<h1>${esc(a.severity.toUpperCase())} alert</h1>
<p class="app">${esc(a.summary)}</p>
<p>Raised ${esc(a.raisedAt)} · now <strong>${esc(a.state)}</strong></p>
${
  open
    ? `<form method="post"><button type="submit">Acknowledge: I am looking at this</button></form>
<p>Acknowledging tells the care team you have it and stops escalation to the next tier.</p>`
    : '<p>This alert is resolved: there is nothing to acknowledge.</p>'
}`,
  );
}

export function ackDonePage(
  o: { ok: true; alert: Alert; changed: boolean } | { ok: false; message: string },
): string {
  if (!o.ok)
    return page(
      'Acknowledge alert',
      `<h1>Not acknowledged</h1><p class="err">${esc(o.message)}</p><p>Open Vigil to see the alert.</p>`,
    );
  const a = o.alert;
  const title = o.changed
    ? 'Acknowledged'
    : a.state === 'acknowledged'
      ? 'Already acknowledged'
      : `Not changed: the alert is ${a.state}`;
  const after = a.state === 'acknowledged' ? ' Escalation to the next tier has stopped.' : '';
  return page(
    'Alert acknowledged',
    `<h1>${esc(title)}</h1>
<p class="app">${esc(a.summary)}</p><p>State: <strong>${esc(a.state)}</strong>.${after}</p>`,
  );
}
