import { useEffect, useState } from 'react';
import { get, request } from './api.ts';

type PushState = 'checking' | 'unavailable' | 'off' | 'on' | 'denied' | 'busy';

const supported = () =>
  typeof window !== 'undefined' &&
  'serviceWorker' in navigator &&
  'PushManager' in window &&
  'Notification' in window;

/** The VAPID public key (base64url) as the bytes `pushManager.subscribe` wants. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * "Notify me on this browser": subscribes this browser to Vigil's Web Push (service worker
 * /push-sw.js) so the person's alerts reach them here even with the dashboard closed. Hidden when
 * the browser or the server has no Web Push.
 */
export function PushToggle() {
  const [state, setState] = useState<PushState>('checking');
  const [publicKey, setPublicKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!supported()) {
      setState('unavailable');
      return;
    }
    (async () => {
      const k = await get<{ enabled: boolean; publicKey?: string }>('/api/v1/push/public-key');
      if (!k.enabled || !k.publicKey) return setState('unavailable');
      setPublicKey(k.publicKey);
      if (Notification.permission === 'denied') return setState('denied');
      const reg = await navigator.serviceWorker.getRegistration('/');
      const sub = await reg?.pushManager.getSubscription();
      setState(sub ? 'on' : 'off');
    })().catch(() => setState('unavailable'));
  }, []);

  const enable = async () => {
    if (!publicKey) return;
    setState('busy');
    setError(null);
    try {
      if ((await Notification.requestPermission()) !== 'granted') return setState('denied');
      const reg = await navigator.serviceWorker.register('/push-sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
      await request('POST', '/api/v1/me/push-subscriptions', sub.toJSON());
      setState('on');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setState('off');
    }
  };

  const disable = async () => {
    setState('busy');
    setError(null);
    try {
      const reg = await navigator.serviceWorker.getRegistration('/');
      const sub = await reg?.pushManager.getSubscription();
      if (sub) {
        await request('DELETE', `/api/v1/me/push-subscriptions?endpoint=${encodeURIComponent(sub.endpoint)}`);
        await sub.unsubscribe();
      }
      setState('off');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setState('on');
    }
  };

  if (state === 'unavailable' || state === 'checking') return null;
  return (
    <span className="push-toggle">
      {state === 'denied' ? (
        <span className="small" title="Allow notifications for this site in the browser's settings">
          Notifications blocked
        </span>
      ) : (
        <button
          type="button"
          className="btn btn-ghost btn-on-dark"
          disabled={state === 'busy'}
          aria-pressed={state === 'on'}
          onClick={() => void (state === 'on' ? disable() : enable())}
          title={
            state === 'on'
              ? 'Your alerts are pushed to this browser'
              : 'Get your alerts on this browser, also when Vigil is closed'
          }
        >
          {state === 'on' ? 'Browser alerts on' : 'Notify me on this browser'}
        </button>
      )}
      {error && (
        <span className="small" role="alert">
          {' '}
          {error}
        </span>
      )}
    </span>
  );
}
