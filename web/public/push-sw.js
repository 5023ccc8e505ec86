// Vigil's service worker: shows alert notifications pushed by Vigil (Web Push) and posts their
// "Acknowledge" action with the signed token the push carried (docs/notifications.md).
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const urgent = data.severity === 'critical' || data.severity === 'high';
  const actions = [{ action: 'open', title: 'Open' }];
  if (data.ackToken) actions.unshift({ action: 'ack', title: 'Acknowledge' });
  event.waitUntil(
    self.registration.showNotification(data.title || 'Vigil alert', {
      body: data.body || '',
      // one notification per alert, renewed (and announced again) when the alert changes
      tag: `vigil-alert-${data.alertId || 'unknown'}`,
      renotify: true,
      requireInteraction: urgent,
      data,
      actions,
    }),
  );
});

async function openVigil(path) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const w of windows) {
    if (new URL(w.url).origin === self.location.origin && 'focus' in w) {
      if ('navigate' in w) await w.navigate(path).catch(() => undefined);
      return w.focus();
    }
  }
  return self.clients.openWindow(path);
}

async function acknowledge(data) {
  let ok = false;
  let message = 'Open Vigil to acknowledge.';
  try {
    const res = await fetch('/api/v1/alerts/acknowledge-with-link', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token: data.ackToken }),
    });
    ok = res.ok;
    if (!ok) {
      const body = await res.json().catch(() => ({}));
      message = (body.error && body.error.message) || message;
    }
  } catch {
    message = 'Vigil could not be reached: open Vigil to acknowledge.';
  }
  await self.registration.showNotification(ok ? 'Acknowledged' : 'Not acknowledged', {
    body: ok ? data.title || '' : message,
    tag: `vigil-alert-${data.alertId || 'unknown'}`,
    data: { path: data.path || '/' },
  });
}

self.addEventListener('notificationclick', (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  if (event.action === 'ack' && data.ackToken) event.waitUntil(acknowledge(data));
  else event.waitUntil(openVigil(data.path || '/'));
});
