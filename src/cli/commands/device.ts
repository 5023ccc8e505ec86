import { parse } from '../args.ts';
import { ApiClient } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil device <action> [options]   (talks to the running server; --url, --token, --json on every action)
  register --id ID --kind KIND [--identifier X] [--manufacturer X] [--model X] [--serial X] [--firmware X]
  list [--kind KIND]
  show ID
  assign ID --patient PATIENT_ID [--start ISO] [--end ISO]
  unassign ID [--at ISO]
  rotate ID          new credential (the old one stops working at once)
  revoke ID          credential revoked at once
  readings ID [--limit N]`;

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;

interface Device {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  lastSeen: string | null;
  batteryPercent: number | null;
  revokedAt: string | null;
}

export const command: Command = {
  name: 'device',
  summary: 'register, list, assign, rotate and revoke devices',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const enc = encodeURIComponent;
    switch (action) {
      case 'register': {
        const { values } = parse(
          rest,
          {
            ...common,
            id: { type: 'string' },
            kind: { type: 'string' },
            identifier: { type: 'string' },
            manufacturer: { type: 'string' },
            model: { type: 'string' },
            serial: { type: 'string' },
            firmware: { type: 'string' },
          },
          usage,
        );
        if (!values.id || !values.kind) return usageError();
        const { url, token, json, ...body } = values;
        const r = await new ApiClient({ url, token }).request<{ device: Device; secret: string }>(
          'POST',
          '/api/v1/devices',
          body,
        );
        out(json ?? false, r, () =>
          [
            `registered device ${r.device.id} (${r.device.kind})`,
            `credential (shown only once — MQTT password / HTTP bearer):`,
            `  ${r.secret}`,
          ].join('\n'),
        );
        return 0;
      }
      case 'list': {
        const { values } = parse(rest, { ...common, kind: { type: 'string' } }, usage);
        const q = values.kind ? `?kind=${enc(values.kind)}` : '';
        const r = await new ApiClient(values).request<{ devices: Device[] }>('GET', `/api/v1/devices${q}`);
        out(values.json ?? false, r, () =>
          table(
            r.devices.map((d) => ({ ...d, revoked: d.revokedAt ? 'yes' : 'no' })) as unknown as Array<
              Record<string, unknown>
            >,
            ['id', 'kind', 'manufacturer', 'model', 'lastSeen', 'batteryPercent', 'revoked'],
          ),
        );
        return 0;
      }
      case 'show':
      case 'rotate':
      case 'revoke':
      case 'readings': {
        const { values, positionals } = parse(rest, { ...common, limit: { type: 'string' } }, usage);
        const id = positionals[0];
        if (!id) return usageError();
        const client = new ApiClient(values);
        if (action === 'show') {
          const r = await client.request('GET', `/api/v1/devices/${enc(id)}`);
          out(values.json ?? false, r, () => JSON.stringify(r, null, 2));
        } else if (action === 'readings') {
          const r = await client.request<{ readings: Array<Record<string, unknown>> }>(
            'GET',
            `/api/v1/devices/${enc(id)}/readings${values.limit ? `?limit=${enc(values.limit)}` : ''}`,
          );
          out(values.json ?? false, r, () =>
            table(r.readings, ['id', 'effective', 'code', 'value', 'unit', 'patientId']),
          );
        } else if (action === 'rotate') {
          const r = await client.request<{ id: string; secret: string }>(
            'POST',
            `/api/v1/devices/${enc(id)}/rotate`,
          );
          out(values.json ?? false, r, () => `new credential for ${id} (shown only once):\n  ${r.secret}`);
        } else {
          const r = await client.request('POST', `/api/v1/devices/${enc(id)}/revoke`);
          out(values.json ?? false, r, () => `credential of ${id} revoked`);
        }
        return 0;
      }
      case 'assign': {
        const { values, positionals } = parse(
          rest,
          { ...common, patient: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' } },
          usage,
        );
        const id = positionals[0];
        if (!id || !values.patient) return usageError();
        const body = {
          patientId: values.patient,
          ...(values.start ? { start: values.start } : {}),
          ...(values.end ? { end: values.end } : {}),
        };
        const r = await new ApiClient(values).request<{
          assignment: { periodStart: string; periodEnd: string | null };
          attributedReadings: number;
        }>('POST', `/api/v1/devices/${enc(id)}/assignments`, body);
        out(
          values.json ?? false,
          r,
          () =>
            `device ${id} assigned to patient ${values.patient} from ${r.assignment.periodStart}${r.assignment.periodEnd ? ` until ${r.assignment.periodEnd}` : ''}` +
            (r.attributedReadings
              ? `; ${r.attributedReadings} earlier unattributed readings attributed`
              : ''),
        );
        return 0;
      }
      case 'unassign': {
        const { values, positionals } = parse(rest, { ...common, at: { type: 'string' } }, usage);
        const id = positionals[0];
        if (!id) return usageError();
        const r = await new ApiClient(values).request(
          'POST',
          `/api/v1/devices/${enc(id)}/unassign`,
          values.at ? { at: values.at } : {},
        );
        out(values.json ?? false, r, () => `device ${id} unassigned`);
        return 0;
      }
      default:
        return usageError();
    }
  },
};

function usageError(): number {
  process.stderr.write(`usage: ${usage}\n`);
  return 2;
}
