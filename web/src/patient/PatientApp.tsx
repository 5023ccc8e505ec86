import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, get, onSignedOut, post, resume, signIn, signInWithTokens, signOut } from '../api.ts';
import { type Coverage, coverageText } from './coverage.ts';
import { type EntryKind, isEntryKind } from './entry.ts';
import { type Language, languages } from './i18n.ts';
import { Devices, EntryForm, MyData } from './MyPages.tsx';
import {
  type Kind,
  latestByKind,
  type Observation,
  type PatientReading,
  readingOf,
  type Units,
} from './readings.ts';

interface Me {
  username: string | null;
  roles: string[];
  patientId: string | null;
}
interface MeasurementRequest {
  id: string;
  status: string;
  kind?: string;
  code?: string;
  notBefore?: string;
  dueBy?: string;
  closedAt?: string | null;
}

const pref = <T extends string>(key: string, fallback: T): T => {
  try {
    return (localStorage.getItem(key) as T | null) ?? fallback;
  } catch {
    return fallback;
  }
};
const save = (key: string, v: string) => {
  try {
    localStorage.setItem(key, v);
  } catch {
    /* private mode */
  }
};

const passkeysSupported = () => typeof window !== 'undefined' && 'PublicKeyCredential' in window;

/** Adds a passkey (the phone's own lock) to the signed-in account. */
function AddPasskey() {
  const { t } = useTranslation();
  const [state, setState] = useState<'idle' | 'busy' | 'done' | 'failed'>('idle');
  if (!passkeysSupported()) return null;
  const add = async () => {
    setState('busy');
    try {
      const o = await post<{
        challengeId: string;
        options: Parameters<typeof startRegistration>[0]['optionsJSON'];
      }>('/auth/passkeys/register/options');
      const response = await startRegistration({ optionsJSON: o.options });
      await post('/auth/passkeys/register/verify', {
        challengeId: o.challengeId,
        response,
        name: navigator.platform || undefined,
      });
      setState('done');
    } catch {
      setState('failed');
    }
  };
  return (
    <section className="card" aria-label={t('passkey.add')}>
      <p>{t('passkey.help')}</p>
      {state === 'done' ? (
        <p role="status">{t('passkey.added')}</p>
      ) : (
        <button type="button" className="secondary" disabled={state === 'busy'} onClick={() => void add()}>
          {t('passkey.add')}
        </button>
      )}
      {state === 'failed' && (
        <p className="error" role="alert">
          {t('passkey.failed')}
        </p>
      )}
    </section>
  );
}

/**
 * On every screen with readings: not for emergencies, and whether anyone watches — the care team's
 * hours from the server when it can say (coverage.ts), else the general statement.
 */
function Safety(props: { patientId: string }) {
  const { t, i18n } = useTranslation();
  const [coverage, setCoverage] = useState<Coverage | null>(null);
  useEffect(() => {
    get<Coverage>(`/api/v1/patients/${encodeURIComponent(props.patientId)}/coverage`)
      .then(setCoverage)
      .catch(() => setCoverage(null)); // an older server: the general statement
  }, [props.patientId]);
  const watch = coverage
    ? coverageText(
        coverage,
        i18n.language,
        (k, v) => t(k, v ?? {}),
        Intl.DateTimeFormat().resolvedOptions().timeZone,
      )
    : [t('safety.watch')];
  return (
    <aside className="safety" aria-label="Safety">
      <p>
        <strong>{t('safety.emergency')}</strong>
      </p>
      {watch.map((line) => (
        <p key={line} data-coverage={coverage ? 'care-team' : 'general'}>
          {line}
        </p>
      ))}
    </aside>
  );
}

function Settings(props: { large: boolean; setLarge: (v: boolean) => void }) {
  const { t, i18n } = useTranslation();
  return (
    <div className="settings">
      <label>
        {t('app.language')}{' '}
        <select value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value as Language)}>
          {languages.map((l) => (
            <option key={l.code} value={l.code} lang={l.code}>
              {l.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input type="checkbox" checked={props.large} onChange={(e) => props.setLarge(e.target.checked)} />{' '}
        {t('app.largeText')}
      </label>
    </div>
  );
}

function SignInScreen(props: { onSignedIn: () => void; invite: string | null }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'sign-in' | 'invite'>(props.invite ? 'invite' : 'sign-in');
  const [code, setCode] = useState(props.invite ?? '');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'invite') {
        const res = await fetch('/auth/invitations/accept', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code, username, password }),
        });
        if (!res.ok) {
          const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
          throw new Error(t('invite.failed', { reason: body.error?.message ?? res.statusText }));
        }
        window.history.replaceState(null, '', '/patient/');
      }
      await signIn(username, password);
      props.onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError ? t('signIn.failed') : err instanceof Error ? err.message : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  const passkeySignIn = async () => {
    setBusy(true);
    setError(null);
    try {
      const o = (await (await fetch('/auth/passkeys/sign-in/options', { method: 'POST' })).json()) as {
        challengeId: string;
        options: Parameters<typeof startAuthentication>[0]['optionsJSON'];
      };
      const response = await startAuthentication({ optionsJSON: o.options });
      await signInWithTokens('/auth/passkeys/sign-in/verify', { challengeId: o.challengeId, response });
      props.onSignedIn();
    } catch {
      setError(t('passkey.failed'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="card">
      <h1>{mode === 'invite' ? t('invite.title') : t('signIn.title')}</h1>
      {mode === 'invite' && <p>{t('invite.intro')}</p>}
      <form onSubmit={(e) => void submit(e)}>
        {mode === 'invite' && (
          <label>
            {t('invite.code')}
            <input
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoComplete="one-time-code"
              required
            />
          </label>
        )}
        <label>
          {mode === 'invite' ? t('invite.username') : t('signIn.username')}
          <input
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="username"
            autoCapitalize="none"
            required
          />
        </label>
        <label>
          {mode === 'invite' ? t('invite.password') : t('signIn.password')}
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === 'invite' ? 'new-password' : 'current-password'}
            minLength={mode === 'invite' ? 12 : undefined}
            required
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {mode === 'invite' ? t('invite.submit') : t('signIn.submit')}
        </button>
      </form>
      {mode === 'sign-in' && passkeysSupported() && (
        <button type="button" className="secondary" disabled={busy} onClick={() => void passkeySignIn()}>
          {t('passkey.signIn')}
        </button>
      )}
      <button
        type="button"
        className="link"
        onClick={() => setMode(mode === 'invite' ? 'sign-in' : 'invite')}
      >
        {mode === 'invite' ? t('invite.back') : t('signIn.haveCode')}
      </button>
    </main>
  );
}

function useReadings(patientId: string, units: Units, locale: string) {
  const [obs, setObs] = useState<Observation[] | null>(null);
  const [requests, setRequests] = useState<MeasurementRequest[]>([]);
  const [failed, setFailed] = useState(false);
  const load = useCallback(async () => {
    try {
      const b = await get<{ entry?: Array<{ resource: Observation }> }>(
        `/fhir/Observation?patient=${encodeURIComponent(patientId)}&_sort=-date&_count=100`,
      );
      setObs((b.entry ?? []).map((e) => e.resource));
      setFailed(false);
    } catch {
      setFailed(true);
    }
    try {
      const r = await get<{ requests?: MeasurementRequest[]; measurementRequests?: MeasurementRequest[] }>(
        `/api/v1/patients/${encodeURIComponent(patientId)}/measurement-requests`,
      );
      setRequests(r.requests ?? r.measurementRequests ?? []);
    } catch {
      setRequests([]); // this server has no measurement requests
    }
  }, [patientId]);
  useEffect(() => {
    void load();
    const h = setInterval(() => void load(), 30_000);
    return () => clearInterval(h);
  }, [load]);
  const readings = (obs ?? [])
    .map((o) => readingOf(o, units, locale))
    .filter((r): r is PatientReading => r !== undefined);
  return { readings, loaded: obs !== null, failed, requests, reload: load };
}

const kindOfRequest = (r: MeasurementRequest): Kind => {
  const k = `${r.kind ?? ''} ${r.code ?? ''}`.toLowerCase();
  if (k.includes('blood') || k.includes('85354') || k.includes('8480')) return 'bloodPressure';
  if (k.includes('weight') || k.includes('29463')) return 'weight';
  if (k.includes('spo2') || k.includes('oxygen') || k.includes('59408')) return 'spo2';
  if (k.includes('glucose')) return 'glucose';
  return 'other';
};

interface AdherenceRow {
  requestId: string;
  medication: string;
  rescue: boolean;
  dosesDue: number;
  takenOnTime: number;
  missed: number;
  pending: number;
  usesPerDay: Array<{ day: string; uses: number }>;
}

/** My medicines: doses taken on time this week, reliever uses today (docs/adherence.md). */
function Medicines(props: { patientId: string }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<AdherenceRow[] | null>(null);
  useEffect(() => {
    get<{ requests: AdherenceRow[] }>(
      `/api/v1/patients/${encodeURIComponent(props.patientId)}/adherence?days=7`,
    )
      .then((r) => setRows(r.requests))
      .catch(() => setRows([])); // no adherence devices or an older server: nothing shown
  }, [props.patientId]);
  if (!rows || rows.length === 0) return null;
  const today = new Date().toISOString().slice(0, 10);
  return (
    <section aria-labelledby="meds-h" className="medicines">
      <h2 id="meds-h">{t('meds.title')}</h2>
      <ul className="requests">
        {rows.map((r) => (
          <li key={r.requestId} className="card" data-adherence={r.rescue ? 'rescue' : 'scheduled'}>
            <p>
              <strong dir="auto">{r.medication}</strong>
            </p>
            {r.rescue ? (
              <p>{t('meds.rescueToday', { count: r.usesPerDay.find((d) => d.day === today)?.uses ?? 0 })}</p>
            ) : (
              <p>{t('meds.onTime', { taken: r.takenOnTime, due: r.dosesDue - r.pending })}</p>
            )}
            {!r.rescue && r.missed > 0 && <p>{t('meds.missed', { count: r.missed })}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}

const tabs = ['today', 'readings', 'devices', 'data'] as const;
type Tab = (typeof tabs)[number];

function Home(props: { me: Me; units: Units; setUnits: (u: Units) => void }) {
  const { t, i18n } = useTranslation();
  const [tab, setTab] = useState<Tab>('today');
  // the entry form: open for one kind (an open request), for any kind (My readings), or closed
  const [entry, setEntry] = useState<{ kind?: EntryKind } | null>(null);
  const [entered, setEntered] = useState(false);
  const patientId = props.me.patientId as string;
  const { readings, loaded, failed, requests, reload } = useReadings(patientId, props.units, i18n.language);
  const go = (t: Tab) => {
    setTab(t);
    setEntry(null);
    setEntered(false);
  };
  const form = entry && (
    <EntryForm
      patientId={patientId}
      units={props.units}
      kind={entry.kind}
      onCancel={() => setEntry(null)}
      onDone={() => {
        setEntry(null);
        setEntered(true);
        // detection decides the request after the commit: look again now and shortly after
        void reload();
        setTimeout(() => void reload(), 2_000);
      }}
    />
  );
  const thanks = entered && (
    <p role="status" className="card ok">
      {t('entry.saved')}
    </p>
  );
  const when = (iso: string) =>
    new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  const time = (iso: string) =>
    new Intl.DateTimeFormat(i18n.language, { timeStyle: 'short' }).format(new Date(iso));
  const open = requests.filter((r) => r.status === 'open');
  // answered or missed in the last day: the patient sees that it counted
  const dayAgo = Date.now() - 86_400_000;
  const recent = requests.filter(
    (r) =>
      (r.status === 'fulfilled' || r.status === 'expired') && r.closedAt && Date.parse(r.closedAt) > dayAgo,
  );
  const latest = latestByKind(readings);
  const row = (r: PatientReading) => (
    <li key={r.id} data-entered={r.entered ? 'yes' : undefined}>
      <span className="what">{t(`kind.${r.kind}`)}</span>
      <span className="value" dir="ltr">
        {r.text}
      </span>
      <span className="when">
        {when(r.at)}
        {r.entered && ` · ${t('readings.entered')}`}
      </span>
    </li>
  );
  return (
    <>
      <nav className="tabs" aria-label={t('app.title')}>
        {tabs.map((x) => (
          <button key={x} type="button" aria-current={tab === x ? 'page' : undefined} onClick={() => go(x)}>
            {t(`nav.${x}`)}
          </button>
        ))}
      </nav>
      <Safety patientId={patientId} />
      <main id="main">
        {failed && (
          <p className="error" role="alert">
            {t('error.load')}
          </p>
        )}
        {tab === 'today' ? (
          <section aria-labelledby="today-h">
            <h1 id="today-h">{t('today.title')}</h1>
            {thanks}
            {form}
            {open.length === 0 ? (
              <p className="card ok">{t('today.nothing')}</p>
            ) : (
              <ul className="requests">
                {open.map((r) => (
                  <li key={r.id} className="card todo">
                    <p>
                      <strong>{t('today.request', { what: t(`kind.${kindOfRequest(r)}`) })}</strong>
                    </p>
                    {r.notBefore && Date.parse(r.notBefore) > Date.now() && (
                      <p>{t('today.requestAfter', { time: time(r.notBefore) })}</p>
                    )}
                    {r.dueBy && <p>{t('today.requestDue', { time: time(r.dueBy) })}</p>}
                    {!entry && isEntryKind(kindOfRequest(r)) && (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => setEntry({ kind: kindOfRequest(r) as EntryKind })}
                      >
                        {t('entry.fromRequest')}
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {recent.length > 0 && (
              <ul className="requests">
                {recent.map((r) => (
                  <li key={r.id} className="card" data-request-status={r.status}>
                    <p>{t('today.request', { what: t(`kind.${kindOfRequest(r)}`) })}</p>
                    <p>
                      <strong>
                        {r.status === 'fulfilled' ? t('today.requestDone') : t('today.requestMissed')}
                      </strong>
                    </p>
                  </li>
                ))}
              </ul>
            )}
            <Medicines patientId={patientId} />
            <AddPasskey />
            <h2>{t('today.last')}</h2>
            {loaded && latest.length === 0 ? (
              <p>{t('readings.none')}</p>
            ) : (
              <ul className="readings">{latest.map(row)}</ul>
            )}
          </section>
        ) : tab === 'readings' ? (
          <section aria-labelledby="readings-h">
            <h1 id="readings-h">{t('readings.title')}</h1>
            <label className="units">
              {t('readings.units')}{' '}
              <select value={props.units} onChange={(e) => props.setUnits(e.target.value as Units)}>
                <option value="metric">{t('readings.unitsMetric')}</option>
                <option value="us">{t('readings.unitsUS')}</option>
              </select>
            </label>
            {thanks}
            {form ?? (
              <button type="button" className="secondary" onClick={() => setEntry({})}>
                {t('entry.add')}
              </button>
            )}
            {loaded && readings.length === 0 ? (
              <p>{t('readings.none')}</p>
            ) : (
              <ul className="readings">{readings.slice(0, 50).map(row)}</ul>
            )}
          </section>
        ) : tab === 'devices' ? (
          <Devices patientId={patientId} />
        ) : (
          <MyData patientId={patientId} units={props.units} />
        )}
      </main>
    </>
  );
}

/** The patient app (docs/patient-app.md): phone first, plain words, the patient's language and units. */
export function PatientApp() {
  const { t } = useTranslation();
  const [phase, setPhase] = useState<'starting' | 'signed-out' | 'signed-in'>('starting');
  const [me, setMe] = useState<Me | null>(null);
  const [large, setLargeState] = useState(pref<string>('vigil.patient.large', 'no') === 'yes');
  const [units, setUnitsState] = useState<Units>(pref<Units>('vigil.patient.units', 'metric'));
  const invite = new URLSearchParams(window.location.search).get('invite');
  const setLarge = (v: boolean) => {
    setLargeState(v);
    save('vigil.patient.large', v ? 'yes' : 'no');
  };
  const setUnits = (u: Units) => {
    setUnitsState(u);
    save('vigil.patient.units', u);
  };
  const start = useCallback(async () => {
    try {
      const m = await get<Me>('/auth/me');
      if (!m.roles.includes('patient') || !m.patientId) {
        await signOut();
        setPhase('signed-out');
        return;
      }
      setMe(m);
      setPhase('signed-in');
    } catch {
      setPhase('signed-out');
    }
  }, []);
  useEffect(() => {
    const off = onSignedOut(() => setPhase('signed-out'));
    void resume().then((ok) => (ok && !invite ? start() : setPhase('signed-out')));
    return () => {
      off();
    };
  }, [start, invite]);
  useEffect(() => {
    document.documentElement.classList.toggle('large-text', large);
  }, [large]);

  return (
    <div className="patient-app">
      <header>
        <span className="brand">{t('app.title')}</span>
        {phase === 'signed-in' && (
          <button type="button" className="link" onClick={() => void signOut()}>
            {t('app.signOut')}
          </button>
        )}
      </header>
      <Settings large={large} setLarge={setLarge} />
      {phase === 'signed-out' && <SignInScreen onSignedIn={() => void start()} invite={invite} />}
      {phase === 'signed-in' && me && <Home me={me} units={units} setUnits={setUnits} />}
    </div>
  );
}
