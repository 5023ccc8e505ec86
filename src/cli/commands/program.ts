import { writeFileSync } from 'node:fs';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil program <action> [options]   (--url, --token, --json)
  billing --month YYYY-MM [--csv] [--out FILE] [--setup-min-days 16|2]
                     RPM billing eligibility per patient (admin; not billing advice — docs/program.md)
  metrics [--until ISO]
                     enrolled patients, active devices, adherence, alerts per patient-day, time to acknowledge
  fleet              devices online/offline, low battery, firmware versions, unassigned devices
  alarm-burden [--since ISO] [--until ISO] [--group-by unit|care-team]
                     alarms per bed-day per unit or care team, flood incidents, ack times (docs/alarm-burden.md)`;

interface CodeLine {
  code: string;
  units: number;
}
interface BillingAnswer {
  month: string;
  patients: Array<{
    patientId: string;
    timeZone: string;
    codes: CodeLine[];
    devicePeriods: Array<{ start: string; end: string; daysWithData: number; complete: boolean }>;
    treatment: { minutes: number; interactiveCommunications: number; reasons: string[] };
  }>;
}
interface FleetAnswer {
  totals: Record<string, number>;
  firmware: Array<{ kind: string; model: string | null; firmware: string | null; devices: number }>;
  devices: Array<Record<string, unknown>>;
}

const codesText = (codes: CodeLine[]) =>
  codes.map((c) => (c.units > 1 ? `${c.code}x${c.units}` : c.code)).join(' ') || '-';

/** RPM program reports: billing eligibility, program metrics, device fleet health. */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, client, json } = serverArgs(
    rest,
    {
      month: { type: 'string' },
      csv: { type: 'boolean' },
      out: { type: 'string' },
      'setup-min-days': { type: 'string' },
      until: { type: 'string' },
      since: { type: 'string' },
      'group-by': { type: 'string' },
    },
    usage,
  );
  switch (action) {
    case 'billing': {
      if (!values.month || !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.month)) {
        process.stderr.write('--month YYYY-MM is required\n');
        return usageError(usage);
      }
      const setup = values['setup-min-days'];
      if (setup !== undefined && setup !== '16' && setup !== '2') {
        process.stderr.write('--setup-min-days must be 16 or 2\n');
        return usageError(usage);
      }
      const q = new URLSearchParams({ month: values.month });
      if (setup) q.set('setupMinDays', setup);
      if (values.csv) {
        q.set('format', 'csv');
        const csv = await client.request<string>('GET', `/api/v1/program/billing?${q}`);
        if (values.out) writeFileSync(values.out, csv, { mode: 0o600 });
        else process.stdout.write(csv);
        return 0;
      }
      const r = await client.request<BillingAnswer>('GET', `/api/v1/program/billing?${q}`);
      out(json, r, () =>
        [
          `RPM billing eligibility ${r.month} (computed from recorded data; not billing advice)`,
          table(
            r.patients.map((p) => ({
              patient: p.patientId,
              tz: p.timeZone,
              'data days':
                p.devicePeriods.map((d) => `${d.daysWithData}${d.complete ? '' : '…'}`).join('+') || '-',
              minutes: p.treatment.minutes,
              calls: p.treatment.interactiveCommunications,
              codes: codesText(p.codes),
            })),
            ['patient', 'tz', 'data days', 'minutes', 'calls', 'codes'],
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'metrics': {
      const q = values.until ? `?${new URLSearchParams({ until: values.until })}` : '';
      const r = await client.request<Record<string, unknown>>('GET', `/api/v1/program/metrics${q}`);
      out(json, r, () =>
        [
          `window                      ${r['since']} – ${r['until']}`,
          `enrolled patients           ${r['enrolledPatients']}`,
          `active devices              ${r['activeDevices']}`,
          `adherence (≥16 days)        ${r['adherence'] === null ? '-' : `${Math.round(Number(r['adherence']) * 1000) / 10} % (${r['adherentPatients']})`}`,
          `clinical alerts / pt-day    ${r['alertsPerPatientDay'] ?? '-'} (${r['alerts']} / ${r['patientDays']})`,
          `counted apart               ${nonClinical(r['alertsByClass'])}`,
          `median time to acknowledge  ${r['medianTimeToAcknowledgeSeconds'] ?? '-'} s (clinical alerts)`,
        ].join('\n'),
      );
      return 0;
    }
    case 'fleet': {
      const r = await client.request<FleetAnswer>('GET', '/api/v1/program/fleet');
      out(json, r, () =>
        [
          Object.entries(r.totals)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          '',
          table(r.devices, ['id', 'kind', 'state', 'lastSeen', 'battery', 'firmware', 'assigned']),
          '',
          table(r.firmware, ['kind', 'model', 'firmware', 'devices']),
        ].join('\n'),
      );
      return 0;
    }
    case 'alarm-burden': {
      const p = new URLSearchParams();
      if (values.since) p.set('since', values.since);
      if (values.until) p.set('until', values.until);
      if (values['group-by']) p.set('groupBy', values['group-by']);
      const r = await client.request<{
        since: string;
        until: string;
        overall: Record<string, unknown>;
        groups: Array<Record<string, unknown>>;
        incidents: Array<Record<string, unknown>>;
      }>('GET', `/api/v1/program/alarm-burden${p.size ? `?${p}` : ''}`);
      const cols = [
        'id',
        'name',
        'bedDays',
        'alerts',
        'alertsPerBedDay',
        'afterFloodGrouping',
        'ackP50Seconds',
        'ackP90Seconds',
        'nonActionableRate',
      ];
      out(json, r, () =>
        [
          `${r.since} → ${r.until}`,
          table([...r.groups, r.overall], cols),
          '',
          'flood incidents:',
          table(r.incidents, ['start', 'end', 'rule', 'gatewayId', 'unitId', 'patients', 'alerts']),
        ].join('\n'),
      );
      return 0;
    }
    default:
      return usageError(usage);
  }
}

export const command: Command = {
  name: 'program',
  summary: 'RPM program: billing eligibility, metrics, device fleet',
  usage,
  run,
};

/** "3 technical, 1 compression low, 2 measurement requests, 0 tasks" from `alertsByClass`. */
function nonClinical(v: unknown): string {
  const c = (v ?? {}) as Record<string, number | undefined>;
  return `${c['technical'] ?? 0} technical, ${c['compressionSuspected'] ?? 0} suspected compression lows, ${c['measurementRequest'] ?? 0} measurement requests, ${c['task'] ?? 0} tasks`;
}
