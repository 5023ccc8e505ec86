import { readFileSync, writeFileSync } from 'node:fs';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil cohort <action> [options]   (--url, --token, --json)   (docs/populations.md)
  list                               saved cohorts
  create --name NAME --file DEF.json [--description TEXT]
                                     save a cohort definition ({"criteria": [...]}; admin, clinician)
  evaluate ID|--file DEF.json [--as-of ISO] [--limit N] [--offset N]
                                     the patients meeting it (within your care teams; audited)
  view ID [--as-of ISO] [--months N] BP control rate, TIR distribution, monthly outcome trend
  export ID [--format csv|fhir] [--as-of ISO] [--out FILE]
                                     members as CSV or a FHIR R4 Group
  delete ID`;

interface Evaluation {
  count: number;
  asOf: string;
  criteria: string[];
  members: Array<{ patientId: string; name: string; values: Array<number | null> }>;
}
interface View {
  members: number;
  bpControl: {
    patientsWithBp: number;
    controlled: number;
    rate: number | null;
    settings: { systolicBelow: number; diastolicBelow: number; days: number };
  };
  tir: {
    patientsWithCgm: number;
    meetingTarget: number;
    median: number | null;
    bins: Array<{ from: number; to: number; patients: number }>;
  };
  trend: Array<Record<string, unknown>>;
}

const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 1000) / 10} %`);

/** Population analytics: saved cohorts, their members, views and exports. */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, client, json, id } = serverArgs(
    rest,
    {
      name: { type: 'string' },
      description: { type: 'string' },
      file: { type: 'string' },
      'as-of': { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      months: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
    },
    usage,
  );
  const readDefinition = (): unknown => JSON.parse(readFileSync(values.file as string, 'utf8'));
  const intOpt = (v: string | undefined) => (v === undefined ? undefined : Number.parseInt(v, 10));
  switch (action) {
    case 'list': {
      const r = await client.request<{ cohorts: Array<Record<string, unknown>> }>('GET', '/api/v1/cohorts');
      out(json, r, () => table(r.cohorts, ['id', 'name', 'createdBy', 'createdAt']));
      return 0;
    }
    case 'create': {
      if (!values.name || !values.file) return usageError(usage);
      const r = await client.request<{ id: string; name: string }>('POST', '/api/v1/cohorts', {
        name: values.name,
        ...(values.description ? { description: values.description } : {}),
        definition: readDefinition(),
      });
      out(json, r, () => `saved cohort ${r.id} (${r.name})`);
      return 0;
    }
    case 'evaluate': {
      if (!id && !values.file) return usageError(usage);
      const body = {
        ...(values['as-of'] ? { asOf: values['as-of'] } : {}),
        ...(values.limit ? { limit: intOpt(values.limit) } : {}),
        ...(values.offset ? { offset: intOpt(values.offset) } : {}),
      };
      const r = id
        ? await client.request<Evaluation>('POST', `/api/v1/cohorts/${encodeURIComponent(id)}/evaluate`, body)
        : await client.request<Evaluation>('POST', '/api/v1/cohorts/evaluate', {
            ...body,
            definition: readDefinition(),
          });
      out(json, r, () =>
        [
          `${r.count} patients as of ${r.asOf}`,
          table(
            r.members.map((m) => ({
              patient: m.patientId,
              name: m.name,
              ...Object.fromEntries(r.criteria.map((c, i) => [c, m.values[i] ?? '-'])),
            })),
            ['patient', 'name', ...r.criteria],
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'view': {
      if (!id) return usageError(usage);
      const p = new URLSearchParams();
      if (values['as-of']) p.set('asOf', values['as-of']);
      if (values.months) p.set('months', values.months);
      const r = await client.request<View>(
        'GET',
        `/api/v1/cohorts/${encodeURIComponent(id)}/view${p.size ? `?${p}` : ''}`,
      );
      const b = r.bpControl;
      out(json, r, () =>
        [
          `${r.members} patients`,
          `BP control (mean < ${b.settings.systolicBelow}/${b.settings.diastolicBelow} over ${b.settings.days} days; configurable, unverified): ${b.controlled} of ${b.patientsWithBp} (${pct(b.rate)})`,
          `TIR (14 days): ${r.tir.patientsWithCgm} CGM patients, ${r.tir.meetingTarget} above 70 %, median ${r.tir.median ?? '-'} %`,
          table(
            r.tir.bins.map((x) => ({ 'TIR %': `${x.from}–${x.to}`, patients: x.patients })),
            ['TIR %', 'patients'],
          ),
          '',
          table(r.trend, [
            'month',
            'patientsWithBp',
            'bpControlRate',
            'meanSystolic',
            'patientsWithCgm',
            'meanTir',
            'alerts',
          ]),
        ].join('\n'),
      );
      return 0;
    }
    case 'export': {
      if (!id) return usageError(usage);
      const format = values.format ?? 'csv';
      if (format !== 'csv' && format !== 'fhir') return usageError(usage);
      const p = new URLSearchParams({ format });
      if (values['as-of']) p.set('asOf', values['as-of']);
      const r = await client.request<unknown>('GET', `/api/v1/cohorts/${encodeURIComponent(id)}/export?${p}`);
      const text = typeof r === 'string' ? r : `${JSON.stringify(r, null, 2)}\n`;
      if (values.out) writeFileSync(values.out, text, { mode: 0o600 });
      else process.stdout.write(text);
      return 0;
    }
    case 'delete': {
      if (!id) return usageError(usage);
      await client.request('DELETE', `/api/v1/cohorts/${encodeURIComponent(id)}`);
      out(json, { deleted: id }, () => `deleted cohort ${id}`);
      return 0;
    }
    default:
      return usageError(usage);
  }
}

export const command: Command = {
  name: 'cohort',
  summary: 'population analytics: cohorts, their members, views and exports',
  usage,
  run,
};
