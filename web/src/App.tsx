import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  type Alert,
  connectLive,
  get,
  type LiveState,
  type Me,
  type MonitoringStatus,
  onSignedOut,
  qs,
  resume,
  signOut,
  type Worklist as WorklistData,
} from './api.ts';
import { AlertActions } from './components.tsx';
import { ago, clock, zoneLabel } from './format.ts';
import { PushToggle } from './push.tsx';
import { AlarmBurdenView } from './views/AlarmBurden.tsx';
import { AlarmSettingsView } from './views/AlarmSettings.tsx';
import { AlertsInbox } from './views/Alerts.tsx';
import { BreakGlass } from './views/BreakGlass.tsx';
import { Devices } from './views/Devices.tsx';
import { EquipmentView } from './views/Equipment.tsx';
import { PatientView } from './views/Patient.tsx';
import { PopulationsView } from './views/Populations.tsx';
import { SignIn } from './views/SignIn.tsx';
import { Worklist } from './views/Worklist.tsx';

type View =
  | 'worklist'
  | 'alerts'
  | 'devices'
  | 'equipment'
  | 'burden'
  | 'populations'
  | 'alarm-settings'
  | 'patient'
  | 'break-glass';
const POLL_MS = 15_000;
/** Roles with clinical views (worklist, alerts, devices); the privacy role has emergency access review only. */
const clinicalRoles = ['admin', 'clinician', 'nurse'];

/**
 * The shell. Navigation is app state, never the URL: the address bar stays `/`, so no patient
 * identifier reaches history, bookmarks, logs or referrers. Back/forward move between views
 * through history.state (in this tab's memory only).
 */
export function App() {
  const [phase, setPhase] = useState<'starting' | 'signed-out' | 'signed-in'>('starting');
  const [me, setMe] = useState<Me | null>(null);
  // a notification's link (/alerts/<id>) opens the alerts inbox
  const [view, setView] = useState<View>(() =>
    window.location.pathname.startsWith('/alerts') ? 'alerts' : 'worklist',
  );
  const [patientId, setPatientId] = useState<string | null>(null);
  const [filters, setFilters] = useState({ program: '', careTeam: '' });
  const [worklist, setWorklist] = useState<WorklistData | null>(null);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [loading, setLoading] = useState(false);
  const [live, setLive] = useState<LiveState>('connecting');
  const [tick, setTick] = useState(0);
  const [sound, setSound] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<string | null>(null);
  const [monitoring, setMonitoring] = useState<MonitoringStatus | null>(null);
  // The first failed refresh since the last good one: the screen may be out of date from then on.
  const [unreachableSince, setUnreachableSince] = useState<string | null>(null);
  const [, setNow] = useState(0);
  const soundRef = useRef(sound);
  soundRef.current = sound;
  const names = useMemo(
    () =>
      new Map(
        (worklist?.patients ?? []).map((p) => [
          p.patientId,
          `${p.name} (${p.identifier.label} ${p.identifier.value})`,
        ]),
      ),
    [worklist],
  );

  const start = useCallback(async () => {
    try {
      const m = await get<Me>('/auth/me');
      setMe(m);
      if (!m.roles.some((r) => clinicalRoles.includes(r))) setView('break-glass');
      setPhase('signed-in');
    } catch {
      setPhase('signed-out');
    }
  }, []);

  useEffect(() => {
    void resume().then((ok) => (ok ? start() : setPhase('signed-out')));
    return onSignedOut(() => {
      setPhase('signed-out');
      setMe(null);
      setWorklist(null);
      setAlerts([]);
    });
  }, [start]);

  // A privacy officer has no clinical access: no worklist, alerts or devices to refresh.
  const clinical = me?.roles.some((r) => clinicalRoles.includes(r)) ?? false;
  const refresh = useCallback(async () => {
    if (!clinical) return;
    setLoading(true);
    try {
      const [w, a] = await Promise.all([
        get<WorklistData>(`/api/v1/dashboard/worklist${qs(filters)}`),
        get<{ alerts: Alert[] }>(`/api/v1/alerts${qs({ active: 'true', limit: 500 })}`),
      ]);
      setWorklist(w);
      setAlerts(a.alerts);
      setUpdatedAt(w.generatedAt);
      setUnreachableSince(null);
      get<MonitoringStatus>('/api/v1/status').then(setMonitoring, () => {});
    } catch {
      setUnreachableSince((prev) => prev ?? new Date().toISOString());
    } finally {
      setLoading(false);
    }
  }, [filters, clinical]);

  // Poll (vitals are not on the live feed) and refresh at once when an alert changes.
  const refreshSoon = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (phase !== 'signed-in') return;
    void refresh();
    const t = setInterval(() => {
      void refresh();
      setTick((x) => x + 1);
    }, POLL_MS);
    const clockTimer = setInterval(() => setNow((x) => x + 1), 30_000);
    return () => {
      clearInterval(t);
      clearInterval(clockTimer);
    };
  }, [phase, refresh]);

  useEffect(() => {
    if (phase !== 'signed-in' || !clinical) return;
    return connectLive((m) => {
      if (m.type === 'monitoring') setMonitoring(m.status);
      if (m.type !== 'alert') return;
      setAlerts((prev) => {
        const rest = prev.filter((a) => a.id !== m.alert.id);
        return m.alert.state === 'resolved' ? rest : [m.alert, ...rest];
      });
      if (m.alert.severity === 'critical' && m.event.type === 'raised' && soundRef.current) beep();
      clearTimeout(refreshSoon.current);
      refreshSoon.current = setTimeout(() => {
        void refresh();
        setTick((x) => x + 1);
      }, 250);
    }, setLive);
  }, [phase, refresh, clinical]);

  const go = useCallback((v: View, pid: string | null = null) => {
    setView(v);
    setPatientId(pid);
    history.pushState({ view: v, patientKey: pid ? sessionKey(pid) : null }, '', '/');
    window.scrollTo(0, 0);
  }, []);

  useEffect(() => {
    const onPop = (e: PopStateEvent) => {
      const st = e.state as { view?: View; patientKey?: string | null } | null;
      const pid = st?.patientKey ? (patientKeys.get(st.patientKey) ?? null) : null;
      setView(st?.view && (st.view !== 'patient' || pid) ? st.view : 'worklist');
      setPatientId(pid);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const changed = useCallback(() => {
    void refresh();
    setTick((x) => x + 1);
  }, [refresh]);

  if (phase === 'starting') return <div className="boot">Vigil</div>;
  if (phase === 'signed-out') return <SignIn onSignedIn={() => void start()} />;

  const unacked = alerts.filter((a) => a.state === 'open' || a.state === 'escalated');
  const critical = unacked.filter((a) => a.severity === 'critical');

  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="#fff" />
            <path d="M2 9h3l2-5 2 8 2-3h3" stroke="#0b5cad" strokeWidth="1.6" fill="none" />
          </svg>
          <span>Vigil</span>
        </div>
        <nav aria-label="Main">
          <ul>
            {clinical && (
              <>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'worklist' ? 'page' : undefined}
                    onClick={() => go('worklist')}
                  >
                    Worklist
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'alerts' ? 'page' : undefined}
                    onClick={() => go('alerts')}
                  >
                    Alerts
                    {unacked.length > 0 && (
                      <span className={`count${critical.length ? ' count-critical' : ''}`}>
                        {unacked.length}
                        <span className="sr-only"> unacknowledged</span>
                      </span>
                    )}
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'devices' ? 'page' : undefined}
                    onClick={() => go('devices')}
                  >
                    Devices
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'equipment' ? 'page' : undefined}
                    onClick={() => go('equipment')}
                  >
                    Equipment
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'burden' ? 'page' : undefined}
                    onClick={() => go('burden')}
                  >
                    Alarm burden
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'populations' ? 'page' : undefined}
                    onClick={() => go('populations')}
                  >
                    Populations
                  </button>
                </li>
                <li>
                  <button
                    type="button"
                    aria-current={view === 'alarm-settings' ? 'page' : undefined}
                    onClick={() => go('alarm-settings')}
                  >
                    Alarm settings
                  </button>
                </li>
              </>
            )}
            <li>
              <button
                type="button"
                aria-current={view === 'break-glass' ? 'page' : undefined}
                onClick={() => go('break-glass')}
              >
                Emergency access
              </button>
            </li>
          </ul>
        </nav>
        <div className="topbar-right">
          {clinical && (
            <span
              className={`live live-${live}`}
              role="status"
              title={live === 'live' ? 'Alerts arrive live' : 'Refreshing every 15 s'}
            >
              <span aria-hidden="true">●</span>{' '}
              {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting' : 'Polling'}
              {updatedAt && <span className="small"> · updated {ago(updatedAt)}</span>}
            </span>
          )}
          <span className="tz" title="All times are shown in this time zone">
            {zoneLabel()}
          </span>
          {clinical && <PushToggle />}
          {clinical && (
            <label className="sound">
              <input type="checkbox" checked={sound} onChange={(e) => setSound(e.target.checked)} /> Sound for
              critical
            </label>
          )}
          <span className="user" title={me?.roles.join(', ')}>
            {me?.displayName ?? me?.username}
            <span className="small"> · {me?.roles.join(', ')}</span>
          </span>
          <button type="button" className="btn btn-ghost btn-on-dark" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>

      <MonitoringBanner status={monitoring} unreachableSince={unreachableSince} />

      {critical.length > 0 && (
        <CriticalBar
          critical={critical}
          names={names}
          onOpen={(id) => go('patient', id)}
          onAll={() => go('alerts')}
          onChanged={changed}
        />
      )}

      <main id="main" tabIndex={-1}>
        {view === 'worklist' && (
          <Worklist
            data={worklist}
            loading={loading}
            program={filters.program}
            careTeam={filters.careTeam}
            onFilter={(f) => setFilters((x) => ({ ...x, ...f }))}
            onOpen={(p) => go('patient', p.patientId)}
            onChanged={changed}
          />
        )}
        {view === 'alerts' && (
          <AlertsInbox
            alerts={alerts}
            names={names}
            onChanged={changed}
            onOpenPatient={(id) => go('patient', id)}
          />
        )}
        {view === 'devices' && <Devices tick={tick} onOpenPatient={(id) => go('patient', id)} />}
        {view === 'break-glass' && (
          <BreakGlass
            reviewer={me?.roles.some((r) => r === 'admin' || r === 'privacy') ?? false}
            canOpen={me?.roles.some((r) => r === 'clinician' || r === 'nurse') ?? false}
            onOpenPatient={(id) => go('patient', id)}
          />
        )}
        {view === 'equipment' && <EquipmentView tick={tick} />}
        {view === 'burden' && <AlarmBurdenView tick={tick} names={names} />}
        {view === 'populations' && <PopulationsView tick={tick} />}
        {view === 'alarm-settings' && <AlarmSettingsView me={`user:${me?.id ?? ''}`} names={names} />}
        {view === 'patient' && patientId && (
          <PatientView
            key={patientId}
            patientId={patientId}
            tick={tick}
            onBack={() => history.back()}
            onChanged={changed}
          />
        )}
      </main>
    </div>
  );
}

/** Opaque per-tab keys for history.state, so even the in-memory history holds no patient id. */
const patientKeys = new Map<string, string>();
function sessionKey(pid: string): string {
  for (const [k, v] of patientKeys) if (v === pid) return k;
  const k = crypto.randomUUID();
  patientKeys.set(k, pid);
  return k;
}

let audio: AudioContext | null = null;
/** A short two-tone chime (only when the user switched sound on: browsers need that gesture). */
function beep(): void {
  try {
    audio ??= new AudioContext();
    const t = audio.currentTime;
    for (const [i, f] of [880, 660].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.25);
      g.gain.exponentialRampToValueAtTime(0.3, t + i * 0.25 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.25 + 0.22);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.25);
      o.stop(t + i * 0.25 + 0.25);
    }
  } catch {
    /* no audio */
  }
}

/**
 * Vigil's own health where clinicians look: when the server cannot be reached, or monitoring is
 * delayed or stopped, every screen says so and since when, and points to the downtime procedure.
 */
/**
 * Unacknowledged critical alerts: one compact line (the newest, with its Acknowledge) that expands
 * to the list. Impossible to miss, but it leaves the screen to the work.
 */
function CriticalBar(props: {
  critical: Alert[];
  names: Map<string, string>;
  onOpen: (patientId: string) => void;
  onAll: () => void;
  onChanged: () => void;
}) {
  const [open, setOpen] = useState(false);
  const { critical, names } = props;
  const shown = open ? critical.slice(0, 8) : critical.slice(0, 1);
  return (
    <div className={`critical-banner${open ? ' critical-open' : ''}`} role="alert" aria-live="assertive">
      <span className="critical-icon" aria-hidden="true">
        ▲
      </span>
      <strong className="critical-count">
        {critical.length} critical alert{critical.length > 1 ? 's' : ''} not acknowledged
      </strong>
      <ul id="critical-list">
        {shown.map((a) => (
          <li key={a.id}>
            <button type="button" className="link link-on-dark" onClick={() => props.onOpen(a.patientId)}>
              {names.get(a.patientId) ?? 'Patient'}
            </button>
            <span className="banner-summary">{a.summary}</span>
            <span className="small">{ago(a.raisedAt)}</span>
            <AlertActions
              alert={a}
              onChanged={props.onChanged}
              compact
              patientName={names.get(a.patientId)}
            />
          </li>
        ))}
      </ul>
      {critical.length > 1 && (
        <button
          type="button"
          className="link link-on-dark critical-toggle"
          aria-expanded={open}
          aria-controls="critical-list"
          onClick={() => setOpen(!open)}
        >
          {open ? 'Show fewer' : `Show all ${critical.length}`}
        </button>
      )}
      {open && critical.length > 8 && (
        <button type="button" className="link link-on-dark" onClick={props.onAll}>
          and {critical.length - 8} more in Alerts
        </button>
      )}
    </div>
  );
}

function MonitoringBanner(props: { status: MonitoringStatus | null; unreachableSince: string | null }) {
  const { status, unreachableSince } = props;
  let text: string | null = null;
  if (unreachableSince)
    text = `Vigil cannot be reached since ${clock(unreachableSince)}: what this screen shows may be out of date.`;
  else if (status && (status.state === 'delayed' || status.state === 'stopped'))
    text = `${status.state === 'stopped' ? 'Monitoring stopped' : 'Monitoring delayed'}${status.since ? ` since ${clock(status.since)}` : ''}: ${status.message}.`;
  if (!text) return null;
  return (
    <div className="monitoring-banner" role="alert">
      <strong>{text}</strong> Follow the downtime procedure: check patients at the bedside or by phone until
      this clears.
    </div>
  );
}
