/** The patient app's entry form, My devices and My data (docs/patient-app.md). */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, get, getText, post } from '../api.ts';
import { type EntryKind, entryBody, entryKinds, entryUnit } from './entry.ts';
import { languages } from './i18n.ts';
import type { Units } from './readings.ts';
import { summaryHtml } from './summary.ts';

const newMessageId = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? `app-${crypto.randomUUID()}`
    : `app-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** The ingest reason of a refused entry, in plain words. */
const entryErrorKey = (code: string) =>
  code === 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'
    ? 'entry.implausible'
    : code === 'VIGIL_ERR_INGEST_TIME_IN_FUTURE'
      ? 'entry.time'
      : code === 'VIGIL_ERR_CONSENT_DENIED'
        ? 'entry.noMonitoring'
        : 'entry.failed';

/**
 * Typing in a reading: one kind (from an open request) or a choice of kinds; in the patient's
 * units. A messageId is chosen once per form, so sending twice (a lost answer, a double tap)
 * stores the reading once.
 */
export function EntryForm(props: {
  patientId: string;
  units: Units;
  kind?: EntryKind | undefined;
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [kind, setKind] = useState<EntryKind>(props.kind ?? 'bloodPressure');
  const [fields, setFields] = useState({ value: '', systolic: '', diastolic: '' });
  const [messageId, setMessageId] = useState(newMessageId);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const unit = entryUnit(kind, props.units);
  const set = (k: keyof typeof fields) => (e: { target: { value: string } }) =>
    setFields({ ...fields, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const body = entryBody(kind, props.units, fields, messageId, new Date());
    if ('invalid' in body) {
      setError(t('entry.notNumber'));
      return;
    }
    setBusy(true);
    try {
      await post(`/api/v1/patients/${encodeURIComponent(props.patientId)}/entered-readings`, body);
      setMessageId(newMessageId());
      setFields({ value: '', systolic: '', diastolic: '' });
      props.onDone();
    } catch (err) {
      setError(t(err instanceof ApiError ? entryErrorKey(err.code) : 'entry.failed'));
    } finally {
      setBusy(false);
    }
  };

  const number = (k: keyof typeof fields, label: string) => (
    <label>
      {label}{' '}
      <span className="unit" dir="ltr">
        ({unit.label})
      </span>
      <input
        value={fields[k]}
        onChange={set(k)}
        inputMode="decimal"
        autoComplete="off"
        required
        name={k}
        dir="ltr"
      />
    </label>
  );

  return (
    <form className="card entry" onSubmit={(e) => void submit(e)} aria-labelledby="entry-h">
      <h2 id="entry-h">{t('entry.title')}</h2>
      {props.kind ? (
        <p>{t('entry.what', { what: t(`kind.${kind}`) })}</p>
      ) : (
        <label>
          {t('entry.kind')}
          <select
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as EntryKind);
              setError(null);
            }}
          >
            {entryKinds.map((k) => (
              <option key={k} value={k}>
                {t(`kind.${k}`)}
              </option>
            ))}
          </select>
        </label>
      )}
      {kind === 'bloodPressure' ? (
        <>
          {number('systolic', t('entry.systolic'))}
          {number('diastolic', t('entry.diastolic'))}
        </>
      ) : (
        number('value', t('entry.value'))
      )}
      <p className="hint">{t('entry.hint')}</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {t('entry.submit')}
      </button>
      <button type="button" className="link" onClick={props.onCancel}>
        {t('entry.cancel')}
      </button>
    </form>
  );
}

interface PatientDevice {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  battery: number | null;
  lowBattery: boolean;
  lastSeen: string | null;
  silentMinutes: number | null;
  state: string;
}
const knownDeviceKinds = [
  'blood-pressure-cuff',
  'scale',
  'pulse-oximeter',
  'thermometer',
  'glucose-meter',
  'cgm',
  'smart-inhaler',
  'pill-bottle',
  'wearable',
  'gateway',
];
const deviceKey = (kind: string) => `device.kind.${knownDeviceKinds.includes(kind) ? kind : 'other'}`;

/** My devices: what is connected, its battery, when it last sent, and what to do when it is silent. */
export function Devices(props: { patientId: string }) {
  const { t, i18n } = useTranslation();
  const [devices, setDevices] = useState<PatientDevice[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    get<{ devices: PatientDevice[] }>(`/api/v1/patients/${encodeURIComponent(props.patientId)}/devices`)
      .then((r) => setDevices(r.devices))
      .catch(() => setFailed(true));
  }, [props.patientId]);
  const when = (iso: string) =>
    new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  return (
    <section aria-labelledby="devices-h">
      <h1 id="devices-h">{t('device.title')}</h1>
      {failed && (
        <p className="error" role="alert">
          {t('error.load')}
        </p>
      )}
      {devices && devices.length === 0 && <p className="card">{t('device.none')}</p>}
      <ul className="requests">
        {(devices ?? []).map((d) => {
          const what = t(deviceKey(d.kind));
          const silent = d.state === 'offline' || d.state === 'never-seen';
          return (
            <li
              key={d.id}
              className={`card${silent || d.lowBattery ? ' todo' : ''}`}
              data-device-state={d.state}
            >
              <p>
                <strong>{what}</strong>
                {d.model && (
                  <span className="muted" dir="auto">
                    {' '}
                    {[d.manufacturer, d.model].filter(Boolean).join(' ')}
                  </span>
                )}
              </p>
              {d.lastSeen ? <p>{t('device.lastSeen', { time: when(d.lastSeen) })}</p> : null}
              {d.battery !== null && <p>{t('device.battery', { percent: d.battery })}</p>}
              {d.state === 'offline' && (
                <p>
                  <strong>{t('device.silent', { what, time: d.lastSeen ? when(d.lastSeen) : '' })}</strong>{' '}
                  {t('device.silentFix')}
                </p>
              )}
              {d.state === 'never-seen' && <p>{t('device.neverSeen')}</p>}
              {d.state === 'revoked' && <p>{t('device.revoked')}</p>}
              {d.lowBattery && <p>{t('device.lowBattery')}</p>}
              {!silent && !d.lowBattery && d.state === 'online' && <p>{t('device.ok')}</p>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

const purposes = ['monitoring', 'integration-sharing', 'research'] as const;
type Purpose = (typeof purposes)[number];
interface ErasureRequest {
  id: string;
  status: 'open' | 'declined';
  requestedAt: string;
  response: string | null;
}

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** My data: each consent (see and change), download my data, ask for it to be deleted. */
export function MyData(props: { patientId: string; units: Units }) {
  const { t, i18n } = useTranslation();
  const pid = encodeURIComponent(props.patientId);
  const [decisions, setDecisions] = useState<Record<Purpose, boolean> | null>(null);
  const [erasure, setErasure] = useState<ErasureRequest[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const c = await get<{ decisions: Record<Purpose, { permitted: boolean }> }>(
        `/api/v1/patients/${pid}/consents`,
      );
      setDecisions(
        Object.fromEntries(purposes.map((p) => [p, c.decisions[p]?.permitted ?? false])) as Record<
          Purpose,
          boolean
        >,
      );
      const e = await get<{ erasureRequests: ErasureRequest[] }>(`/api/v1/patients/${pid}/erasure-requests`);
      setErasure(e.erasureRequests);
    } catch {
      setFailed(t('error.load'));
    }
  }, [pid, t]);
  useEffect(() => {
    void load();
  }, [load]);

  const change = async (purpose: Purpose, permit: boolean) => {
    setFailed(null);
    setStatus(null);
    // shown at once; the answer from the server (or the reload after a failure) has the last word
    if (decisions) setDecisions({ ...decisions, [purpose]: permit });
    try {
      await post(`/api/v1/patients/${pid}/consents`, { purpose, decision: permit ? 'permit' : 'deny' });
      setStatus(t('consent.saved'));
      await load();
    } catch {
      setFailed(t('consent.failed'));
      await load();
    }
  };
  const exportText = () => getText(`/api/v1/patients/${pid}/export`, 'application/fhir+ndjson');
  const downloadData = async (kind: 'ndjson' | 'html') => {
    setFailed(null);
    try {
      const text = await exportText();
      if (kind === 'ndjson') download('my-health-data.ndjson', 'application/fhir+ndjson', text);
      else {
        const lang = languages.find((l) => l.code === i18n.language) ?? languages[0];
        download(
          'my-health-summary.html',
          'text/html',
          summaryHtml(text, {
            t: (k, v) => t(k, v ?? {}),
            lang: lang.code,
            dir: lang.dir,
            units: props.units,
          }),
        );
      }
      setStatus(t('data.downloaded'));
    } catch {
      setFailed(t('error.load'));
    }
  };
  const askErasure = async () => {
    setFailed(null);
    try {
      await post(`/api/v1/patients/${pid}/erasure-requests`, {});
      setConfirming(false);
      await load();
    } catch {
      setFailed(t('erase.failed'));
    }
  };
  const open = erasure.find((e) => e.status === 'open');
  const declined = erasure.find((e) => e.status === 'declined');

  return (
    <section aria-labelledby="data-h">
      <h1 id="data-h">{t('data.title')}</h1>
      {failed && (
        <p className="error" role="alert">
          {failed}
        </p>
      )}
      {status && (
        <p role="status" className="card ok">
          {status}
        </p>
      )}
      <h2>{t('consent.title')}</h2>
      <p>{t('consent.intro')}</p>
      {decisions && (
        <ul className="requests">
          {purposes.map((p) => (
            <li key={p} className="card" data-consent={p} data-permitted={decisions[p] ? 'yes' : 'no'}>
              <fieldset className="consent">
                <legend>{t(`consent.${p}`)}</legend>
                <p className="hint">{t(`consent.${p}Help`)}</p>
                <label>
                  <input
                    type="radio"
                    name={`consent-${p}`}
                    checked={decisions[p]}
                    onChange={() => void change(p, true)}
                  />{' '}
                  {t('consent.yes')}
                </label>
                <label>
                  <input
                    type="radio"
                    name={`consent-${p}`}
                    checked={!decisions[p]}
                    onChange={() => void change(p, false)}
                  />{' '}
                  {t('consent.no')}
                </label>
              </fieldset>
            </li>
          ))}
        </ul>
      )}
      <h2>{t('data.download')}</h2>
      <p>{t('data.downloadHelp')}</p>
      <button type="button" className="secondary" onClick={() => void downloadData('html')}>
        {t('data.summary')}
      </button>
      <button type="button" className="secondary" onClick={() => void downloadData('ndjson')}>
        {t('data.fhir')}
      </button>
      <h2>{t('erase.title')}</h2>
      {open ? (
        <p className="card" data-erasure="open">
          {t('erase.asked')}
        </p>
      ) : (
        <>
          <p>{t('erase.help')}</p>
          {declined?.response && (
            <p className="card" data-erasure="declined">
              {t('erase.declined')} <span dir="auto">{declined.response}</span>
            </p>
          )}
          {confirming ? (
            <div className="card">
              <p>
                <strong>{t('erase.sure')}</strong>
              </p>
              <button type="button" className="primary" onClick={() => void askErasure()}>
                {t('erase.confirm')}
              </button>
              <button type="button" className="link" onClick={() => setConfirming(false)}>
                {t('entry.cancel')}
              </button>
            </div>
          ) : (
            <button type="button" className="secondary" onClick={() => setConfirming(true)}>
              {t('erase.ask')}
            </button>
          )}
        </>
      )}
    </section>
  );
}
