import { writeFileSync } from 'node:fs';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil alerts <action>   (talks to the running server)
  list [--state S[,S]] [--severity S[,S]] [--patient ID] [--rule R] [--since ISO] [--active] [--limit N]
  show ID
  ack ID [--note TEXT]
  snooze ID --minutes N [--note TEXT]
  unsnooze ID [--note TEXT]
  escalate ID [--note TEXT]
  assign ID --user USER_ID [--note TEXT]
  resolve ID [--note TEXT]
  metrics [--since ISO] [--until ISO] [--csv] [--out FILE]
common: --url URL --token TOKEN --json`;

type Row = Record<string, unknown>;

export const command: Command = {
  name: 'alerts',
  summary: 'list, inspect and act on alerts; response metrics (CSV)',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const { values, client, json, id } = serverArgs(
      rest,
      {
        state: { type: 'string' },
        severity: { type: 'string' },
        patient: { type: 'string' },
        rule: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        active: { type: 'boolean' },
        limit: { type: 'string' },
        note: { type: 'string' },
        minutes: { type: 'string' },
        user: { type: 'string' },
        csv: { type: 'boolean' },
        out: { type: 'string' },
      },
      usage,
    );
    const note = values.note !== undefined ? { note: values.note } : {};
    const act = async (verb: string, body: Row) => {
      const r = await client.request<{ alert: Row; changed: boolean }>(
        'POST',
        `/api/v1/alerts/${encodeURIComponent(id as string)}/${verb}`,
        body,
      );
      out(json, r, () => `${r.alert['id']}  ${r.alert['state']}${r.changed ? '' : '  (unchanged)'}`);
      return 0;
    };

    switch (action) {
      case 'list': {
        const q = new URLSearchParams();
        for (const k of ['state', 'severity', 'patient', 'rule', 'since', 'limit'] as const)
          if (values[k]) q.set(k, values[k] as string);
        if (values.active) q.set('active', 'true');
        const r = await client.request<{ alerts: Row[] }>('GET', `/api/v1/alerts?${q}`);
        out(json, r, () =>
          table(r.alerts, [
            'id',
            'createdAt',
            'severity',
            'state',
            'patientId',
            'rule',
            'summary',
            'acknowledgedBy',
            'escalationTier',
          ]),
        );
        return 0;
      }
      case 'show': {
        if (!id) break;
        const r = await client.request<{ alert: Row; timeline: Row[]; notifications: Row[] }>(
          'GET',
          `/api/v1/alerts/${encodeURIComponent(id)}`,
        );
        out(json, r, () => {
          const a = r.alert;
          const head = [
            'id',
            'state',
            'severity',
            'patientId',
            'conditionKey',
            'rule',
            'summary',
            'raisedAt',
            'acknowledgedBy',
            'snoozedUntil',
            'assignedTo',
            'resolution',
            'escalationTier',
          ]
            .map((k) => `${k.padEnd(15)} ${a[k] ?? '-'}`)
            .join('\n');
          const evidence = `evidence        ${(a['evidence'] as string[]).join(', ') || '-'}`;
          const timeline = table(
            r.timeline.map((e) => ({ ...e, actor: (e['actor'] as { id: string }).id })),
            ['at', 'type', 'actor', 'fromState', 'toState', 'note'],
          );
          const notes = table(r.notifications, ['createdAt', 'reason', 'tier', 'recipients']);
          return `${head}\n${evidence}\n\ntimeline\n${timeline}\n\nnotifications\n${notes}`;
        });
        return 0;
      }
      case 'ack':
        if (!id) break;
        return act('acknowledge', note);
      case 'snooze':
        if (!id || !values.minutes) break;
        return act('snooze', { minutes: Number(values.minutes), ...note });
      case 'unsnooze':
        if (!id) break;
        return act('unsnooze', note);
      case 'escalate':
        if (!id) break;
        return act('escalate', note);
      case 'assign':
        if (!id || !values.user) break;
        return act('assign', { userId: values.user, ...note });
      case 'resolve':
        if (!id) break;
        return act('resolve', note);
      case 'metrics': {
        const q = new URLSearchParams();
        if (values.since) q.set('since', values.since);
        if (values.until) q.set('until', values.until);
        if (values.csv) {
          q.set('format', 'csv');
          const csv = await client.request<string>('GET', `/api/v1/alerts/metrics?${q}`);
          if (values.out) writeFileSync(values.out, csv);
          else process.stdout.write(csv);
          return 0;
        }
        const r = await client.request<{ rows: Row[]; burden: Row; since: string; until: string }>(
          'GET',
          `/api/v1/alerts/metrics?${q}`,
        );
        out(json, r, () => {
          const t = table(r.rows, [
            'severity',
            'team',
            'alerts',
            'acknowledged',
            'resolved',
            'ackP50Seconds',
            'ackP90Seconds',
            'resolveP50Seconds',
            'resolveP90Seconds',
            'escalations',
          ]);
          return `${r.since} → ${r.until}\n${t}\n\nalarm burden: ${r.burden['alerts']} alerts / ${r.burden['patientDays']} patient-days = ${r.burden['alertsPerPatientDay'] ?? '-'} per patient-day; notifications: ${r.burden['notifications'] ?? '-'} = ${r.burden['notificationsPerPatientDay'] ?? '-'} per patient-day, ${r.burden['notificationsPerAlert'] ?? '-'} per alert`;
        });
        return 0;
      }
    }
    return usageError(usage);
  },
};
