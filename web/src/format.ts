import type { LatestVital, Severity, VitalKey } from './api.ts';

/** The viewer's time zone: every time on screen is shown in it, and it is named in the header. */
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function zoneLabel(at = new Date()): string {
  const part = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName');
  return `${timeZone}${part ? ` (${part.value})` : ''}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { timeZone, hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  timeZone,
  day: '2-digit',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

export function clock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function fullTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(undefined, {
    timeZone,
    dateStyle: 'medium',
    timeStyle: 'medium',
  }).format(new Date(iso));
}

/** "4 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export const severityLabel: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

export const acuityNames = ['Stable', 'Low', 'Low–med', 'Medium', 'High', 'Critical'] as const;
export const acuityClass = ['stable', 'low', 'lowmed', 'medium', 'high', 'critical'] as const;

export const vitalMeta: Record<VitalKey, { label: string; short: string; unit: string; digits: number }> = {
  hr: { label: 'Heart rate', short: 'HR', unit: '/min', digits: 0 },
  spo2: { label: 'SpO₂', short: 'SpO₂', unit: '%', digits: 0 },
  bp: { label: 'Blood pressure', short: 'BP', unit: 'mmHg', digits: 0 },
  rr: { label: 'Respiration rate', short: 'RR', unit: '/min', digits: 0 },
  temp: { label: 'Temperature', short: 'Temp', unit: '°C', digits: 1 },
  weight: { label: 'Weight', short: 'Wt', unit: 'kg', digits: 1 },
  glucose: { label: 'Glucose', short: 'Glu', unit: 'mg/dL', digits: 0 },
  news2: { label: 'NEWS2', short: 'NEWS2', unit: 'score', digits: 0 },
};

export function vitalValue(key: VitalKey, v: LatestVital | undefined): string {
  if (!v) return '—';
  if (key === 'bp') {
    const s = v.components?.['systolic'];
    const d = v.components?.['diastolic'];
    return s === undefined ? '—' : `${Math.round(s)}/${d === undefined ? '—' : Math.round(d)}`;
  }
  if (v.value === null) return '—';
  return v.value.toFixed(vitalMeta[key].digits);
}

export function programLabel(p: string): string {
  const names: Record<string, string> = {
    hypertension: 'Hypertension',
    'heart-failure': 'Heart failure',
    'diabetes-cgm': 'Diabetes (CGM)',
    copd: 'COPD',
    'post-surgical': 'Post-surgical',
    'inpatient-continuous': 'Continuous',
  };
  return names[p] ?? p;
}

export function news2BandLabel(band: string): string {
  return (
    (
      { high: 'High', medium: 'Medium', 'low-medium': 'Low–medium', low: 'Low', none: 'None' } as Record<
        string,
        string
      >
    )[band] ?? band
  );
}
