/**
 * "A summary to read": the patient's own export (the NDJSON of /api/v1/patients/:id/export) made
 * into one HTML page in their language and units, built on the phone from the same download, so
 * what they read is what they were given. Every value is escaped.
 */
import { type Observation, readingOf, type Units } from './readings.ts';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

interface ConsentLine {
  resourceType: 'Consent';
  status?: string;
  dateTime?: string;
  category?: Array<{ coding?: Array<{ system?: string; code?: string }> }>;
  provision?: { type?: string };
}

export function summaryHtml(
  ndjson: string,
  o: { t: (key: string, vars?: Record<string, unknown>) => string; lang: string; dir: string; units: Units },
): string {
  const resources = ndjson
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as { resourceType?: string };
      } catch {
        return {};
      }
    });
  const when = (iso: string) =>
    new Intl.DateTimeFormat(o.lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  const readings = resources
    .filter((r): r is Observation & { resourceType: 'Observation' } => r.resourceType === 'Observation')
    .map((r) => readingOf(r, o.units, o.lang))
    .filter((r) => r !== undefined)
    .sort((a, b) => b.at.localeCompare(a.at));
  const consents = resources.filter(
    (r): r is ConsentLine => r.resourceType === 'Consent' && (r as ConsentLine).status === 'active',
  );
  const rows = readings
    .map(
      (r) =>
        `<tr><td>${esc(when(r.at))}</td><td>${esc(o.t(`kind.${r.kind}`))}</td><td dir="ltr">${esc(r.text)}</td><td>${
          r.entered ? esc(o.t('readings.entered')) : ''
        }</td></tr>`,
    )
    .join('');
  const consentRows = consents
    .map((c) => {
      const purpose = c.category
        ?.flatMap((x) => x.coding ?? [])
        .find((x) => x.system === 'urn:vigil:consent-purpose')?.code;
      if (!purpose) return '';
      return `<li>${esc(o.t(`consent.${purpose}`))}: ${esc(
        o.t(c.provision?.type === 'permit' ? 'consent.yes' : 'consent.no'),
      )}${c.dateTime ? ` (${esc(when(c.dateTime))})` : ''}</li>`;
    })
    .join('');
  return `<!doctype html>
<html lang="${esc(o.lang)}" dir="${esc(o.dir)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.t('data.summaryTitle'))}</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse;width:100%}td,th{border-block-end:1px solid #ccc;padding:.3rem;text-align:start}</style>
</head><body>
<h1>${esc(o.t('data.summaryTitle'))}</h1>
<p>${esc(o.t('data.summaryMade', { date: when(new Date().toISOString()) }))}</p>
<h2>${esc(o.t('consent.title'))}</h2>
<ul>${consentRows || `<li>${esc(o.t('data.summaryNoConsent'))}</li>`}</ul>
<h2>${esc(o.t('readings.title'))}</h2>
${
  readings.length
    ? `<table><thead><tr><th>${esc(o.t('data.summaryWhen'))}</th><th>${esc(o.t('data.summaryWhat'))}</th><th>${esc(
        o.t('data.summaryValue'),
      )}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p>${esc(o.t('readings.none'))}</p>`
}
</body></html>
`;
}
