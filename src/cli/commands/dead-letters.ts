import { parse } from '../args.ts';
import { ApiClient } from '../client.ts';
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
    const { values, positionals } = parse(
      rest,
      {
        url: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean' },
        device: { type: 'string' },
        reason: { type: 'string' },
        pending: { type: 'boolean' },
        limit: { type: 'string' },
      },
      usage,
    );
    const client = new ApiClient(values);
    const json = values.json ?? false;
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
    const id = positionals[0];
    if ((action === 'show' || action === 'replay') && id) {
      const r =
        action === 'show'
          ? await client.request('GET', `/api/v1/dead-letters/${encodeURIComponent(id)}`)
          : await client.request('POST', `/api/v1/dead-letters/${encodeURIComponent(id)}/replay`);
      out(json, r, () => JSON.stringify(r, null, 2));
      return 0;
    }
    process.stderr.write(`usage: ${usage}\n`);
    return 2;
  },
};
