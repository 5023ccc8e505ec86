import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const activities =
  'data-review, patient-communication, caregiver-communication, care-plan, care-coordination, education, other';
const usage = `vigil care-time <action> PATIENT [options]   (--url, --token, --json)
  log PATIENT --minutes N --activity A [--interactive] [--start ISO] [--note TEXT]
                     log staff time on a patient's monitoring (clinician or nurse of the care team);
                     --interactive: a real-time interactive communication with the patient took place
                     activities: ${activities}
  list PATIENT [--since ISO] [--until ISO]`;

interface Entry {
  id: string;
  start: string;
  minutes: number;
  activity: string;
  interactive: boolean;
  username: string;
}

/** Staff time for RPM treatment management (99457/99470/99458 need it per calendar month). */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, client, json, id } = serverArgs(
    rest,
    {
      minutes: { type: 'string' },
      activity: { type: 'string' },
      interactive: { type: 'boolean' },
      start: { type: 'string' },
      note: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
    },
    usage,
  );
  if (!id) return usageError(usage);
  const path = `/api/v1/patients/${encodeURIComponent(id)}/care-time`;
  if (action === 'log') {
    const minutes = Number(values.minutes);
    if (!Number.isInteger(minutes) || minutes < 1 || !values.activity) {
      process.stderr.write('--minutes N (a whole number ≥ 1) and --activity are required\n');
      return usageError(usage);
    }
    const e = await client.request<Entry>('POST', path, {
      minutes,
      activity: values.activity,
      interactive: values.interactive ?? false,
      ...(values.start ? { start: values.start } : {}),
      ...(values.note ? { note: values.note } : {}),
    });
    out(
      json,
      e,
      () =>
        `logged ${e.minutes} min ${e.activity}${e.interactive ? ' (interactive)' : ''} at ${e.start} [${e.id}]`,
    );
    return 0;
  }
  if (action === 'list') {
    const q = new URLSearchParams();
    if (values.since) q.set('since', values.since);
    if (values.until) q.set('until', values.until);
    const r = await client.request<{ minutes: number; interactiveCommunications: number; entries: Entry[] }>(
      'GET',
      `${path}${q.size ? `?${q}` : ''}`,
    );
    out(json, r, () =>
      [
        `${r.minutes} min, ${r.interactiveCommunications} interactive communication(s)`,
        table(r.entries as unknown as Array<Record<string, unknown>>, [
          'start',
          'minutes',
          'activity',
          'interactive',
          'username',
        ]),
      ].join('\n'),
    );
    return 0;
  }
  return usageError(usage);
}

export const command: Command = {
  name: 'care-time',
  summary: 'log and list staff time on a patient (RPM treatment management)',
  usage,
  run,
};
