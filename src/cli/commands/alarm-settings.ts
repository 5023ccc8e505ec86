import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil alarm-settings <action> PROGRAM [options]   (--url, --token, --json)
  show PROGRAM                   the settings in force (version, overrides)
  versions PROGRAM               every applied version: who, when, why, what changed
  proposals PROGRAM [--status proposed|approved|rejected|withdrawn]
  propose PROGRAM --changes JSON|@FILE --reason TEXT
                                 propose rule-field changes, e.g. '{"sbp-high":{"clearAt":145}}'
  replay PROGRAM --proposal ID [--days N] [--no-wait]
                                 replay the last N days (default 30) under current and proposed settings
  show-proposal PROGRAM --proposal ID
  approve PROGRAM --proposal ID --note TEXT     (a second clinician: not the proposer)
  reject PROGRAM --proposal ID --note TEXT
  withdraw PROGRAM --proposal ID                (the proposer)
See docs/alarm-settings.md.`;

interface Replay {
  since: string;
  until: string;
  patients: number;
  readings: number;
  before: { alerts: number };
  after: { alerts: number };
  byRuleSeverity: Array<{ rule: string; severity: string; before: number; after: number }>;
  patientsAffected: number;
  removedCount: number;
  addedCount: number;
  removedAcknowledged: number;
  warnings: string[];
  diff: Array<{ rule: string; field: string; before: unknown; after: unknown }>;
}
interface Proposal {
  id: string;
  program: string;
  status: string;
  proposedBy: string;
  proposedAt: string;
  reason: string;
  changes: Record<string, unknown>;
  reviewedBy: string | null;
  reviewNote: string | null;
  appliedVersion: number | null;
  replay: Replay | null;
  replayed?: boolean;
  replayJob: { status: string; error?: string } | null;
}

const replayText = (r: Replay) =>
  [
    `replayed ${r.since} – ${r.until}: ${r.readings} readings, ${r.patients} patients`,
    `alerts ${r.before.alerts} → ${r.after.alerts}; removed ${r.removedCount}, added ${r.addedCount}; patients affected ${r.patientsAffected}`,
    table(
      r.byRuleSeverity.map((c) => ({ ...c, change: c.after - c.before })),
      ['rule', 'severity', 'before', 'after', 'change'],
    ),
    ...r.diff.map((d) => `  ${d.rule}.${d.field}: ${JSON.stringify(d.before)} → ${JSON.stringify(d.after)}`),
    ...r.warnings.map((w) => `WARNING: ${w}`),
  ].join('\n');

const proposalText = (p: Proposal) =>
  [
    `proposal ${p.id} (${p.status}) by ${p.proposedBy} at ${p.proposedAt}: ${p.reason}`,
    `changes ${JSON.stringify(p.changes)}`,
    ...(p.reviewedBy ? [`reviewed by ${p.reviewedBy}: ${p.reviewNote}`] : []),
    ...(p.appliedVersion ? [`applied as version ${p.appliedVersion}`] : []),
    ...(p.replay
      ? [replayText(p.replay)]
      : p.replayJob
        ? [`replay ${p.replayJob.status} ${p.replayJob.error ?? ''}`]
        : ['not replayed']),
  ].join('\n');

/** Alarm settings under change control: propose, replay, review (a second clinician), versions. */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, client, json, id } = serverArgs(
    rest,
    {
      changes: { type: 'string' },
      reason: { type: 'string' },
      proposal: { type: 'string' },
      days: { type: 'string' },
      note: { type: 'string' },
      status: { type: 'string' },
      'no-wait': { type: 'boolean' },
    },
    usage,
  );
  if (!id) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const base = `/api/v1/programs/${encodeURIComponent(id)}/alarm-settings`;
  const need = (name: 'proposal' | 'note' | 'reason' | 'changes'): string | undefined => {
    const v = values[name];
    if (!v) process.stderr.write(`--${name} is required\n${usage}\n`);
    return v;
  };
  const proposalPath = () => `${base}/proposals/${encodeURIComponent(values.proposal ?? '')}`;
  switch (action) {
    case 'show': {
      const r = await client.request<{ version: number; overrides: unknown }>('GET', base);
      out(json, r, () => `${id}: version ${r.version}, overrides ${JSON.stringify(r.overrides)}`);
      return 0;
    }
    case 'versions': {
      const r = await client.request<{
        versions: Array<{
          version: number;
          appliedBy: string;
          appliedAt: string;
          reason: string;
          diff: Replay['diff'];
        }>;
      }>('GET', `${base}/versions`);
      out(json, r, () =>
        r.versions
          .map(
            (v) =>
              `version ${v.version} by ${v.appliedBy} at ${v.appliedAt}: ${v.reason}\n${v.diff
                .map(
                  (d) => `  ${d.rule}.${d.field}: ${JSON.stringify(d.before)} → ${JSON.stringify(d.after)}`,
                )
                .join('\n')}`,
          )
          .join('\n'),
      );
      return 0;
    }
    case 'proposals': {
      const q = values.status ? `?${new URLSearchParams({ status: values.status })}` : '';
      const r = await client.request<{ proposals: Proposal[] }>('GET', `${base}/proposals${q}`);
      out(json, r, () =>
        table(
          r.proposals.map((p) => ({
            id: p.id,
            status: p.status,
            by: p.proposedBy,
            replayed: p.replayed ? 'yes' : 'no',
            reason: p.reason,
          })),
          ['id', 'status', 'by', 'replayed', 'reason'],
        ),
      );
      return 0;
    }
    case 'propose': {
      const raw = need('changes');
      const reason = need('reason');
      if (!raw || !reason) return 2;
      const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
      let changes: unknown;
      try {
        changes = JSON.parse(text);
      } catch {
        process.stderr.write('--changes must be JSON (or @FILE holding JSON)\n');
        return 2;
      }
      const p = await client.request<Proposal>('POST', `${base}/proposals`, { changes, reason });
      out(json, p, () => proposalText(p));
      return 0;
    }
    case 'replay': {
      if (!need('proposal')) return 2;
      const days = values.days === undefined ? undefined : Number(values.days);
      if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 90)) {
        process.stderr.write('--days must be a whole number from 1 to 90\n');
        return 2;
      }
      await client.request('POST', `${proposalPath()}/replay`, days === undefined ? {} : { days });
      if (values['no-wait']) {
        process.stdout.write('replay started\n');
        return 0;
      }
      for (;;) {
        const p = await client.request<Proposal>('GET', proposalPath());
        if (p.replayJob?.status === 'failed') {
          process.stderr.write(`replay failed: ${p.replayJob.error}\n`);
          return 1;
        }
        if (p.replay && !p.replayJob) {
          out(json, p, () => proposalText(p));
          return 0;
        }
        await sleep(500);
      }
    }
    case 'show-proposal': {
      if (!need('proposal')) return 2;
      const p = await client.request<Proposal>('GET', proposalPath());
      out(json, p, () => proposalText(p));
      return 0;
    }
    case 'approve':
    case 'reject': {
      const note = need('note');
      if (!need('proposal') || !note) return 2;
      const decision = action === 'approve' ? 'approve' : 'reject';
      const r = await client.request<{ proposal: Proposal; version: { version: number } | null }>(
        'POST',
        `${proposalPath()}/review`,
        { decision, note },
      );
      out(json, r, () =>
        r.version ? `approved: version ${r.version.version} in force` : `rejected: ${r.proposal.reviewNote}`,
      );
      return 0;
    }
    case 'withdraw': {
      if (!need('proposal')) return 2;
      const p = await client.request<Proposal>('POST', `${proposalPath()}/withdraw`);
      out(json, p, () => `withdrawn: ${p.id}`);
      return 0;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

export const command: Command = {
  name: 'alarm-settings',
  summary: 'propose, replay and review changes to a program’s alarm settings (four eyes)',
  usage,
  run,
};
