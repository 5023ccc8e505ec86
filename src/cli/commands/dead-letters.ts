import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil dead-letters <action>   (talks to the running server)
  list [--device ID] [--reason CODE] [--pending] [--limit N]
  show ID
  replay ID`;

export const command: Command = {
  name: 'dead-letters',
  summary: 'list, inspect and replay refused payloads',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const { values, client, json, id } = serverArgs(
      rest,
      {
        device: { type: 'string' },
        reason: { type: 'string' },
        pending: { type: 'boolean' },
        limit: { type: 'string' },
      },
      usage,
    );
    if (action === 'list') {
      const q = new URLSearchParams();
      if (values.device) q.set('deviceId', values.device);
      if (values.reason) q.set('reason', values.reason);
      if (values.pending) q.set('pending', 'true');
      if (values.limit) q.set('limit', values.limit);
      const r = await client.request<{ deadLetters: Array<Record<string, unknown>> }>(
        'GET',
        `/api/v1/dead-letters?${q}`,
      );
      out(json, r, () =>
        table(r.deadLetters, [
          'id',
          'received',
          'transport',
          'deviceId',
          'reasonCode',
          'payloadBytes',
          'replayedAt',
        ]),
      );
      return 0;
    }
    if ((action === 'show' || action === 'replay') && id) {
      const r =
        action === 'show'
          ? await client.request('GET', `/api/v1/dead-letters/${encodeURIComponent(id)}`)
          : await client.request('POST', `/api/v1/dead-letters/${encodeURIComponent(id)}/replay`);
      out(json, r, () => JSON.stringify(r, null, 2));
      return 0;
    }
    return usageError(usage);
  },
};
