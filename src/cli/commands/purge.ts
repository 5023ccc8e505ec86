import { commonOptions, parse } from '../args.ts';
import { ApiClient } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

interface PurgeResult {
  dryRun: boolean;
  classes: Array<{ dataClass: string; days: number | null; cutoff: string | null; count: number }>;
}

export const command: Command = {
  name: 'purge',
  summary: 'apply the retention rules now (or show what they would remove with --dry-run)',
  usage:
    'vigil purge [--dry-run] [--url URL] [--token T] [--json]   (administrators; rules: GET/PUT /api/v1/retention)',
  async run(args) {
    const { values } = parse(
      args,
      {
        'dry-run': { type: 'boolean' },
        ...commonOptions,
      },
      this.usage,
    );
    const dry = values['dry-run'] ?? false;
    const r = await new ApiClient(values).request<PurgeResult>(
      'POST',
      `/api/v1/retention/purge${dry ? '?dryRun=true' : ''}`,
    );
    out(values.json ?? false, r, () =>
      [
        dry ? 'dry run: nothing removed; would remove:' : 'removed:',
        table(
          r.classes.map((c) => ({ ...c, days: c.days ?? 'keep' })),
          ['dataClass', 'days', 'cutoff', 'count'],
        ),
      ].join('\n'),
    );
    return 0;
  },
};
