import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil device <action> [options]   (talks to the running server; --url, --token, --json on every action)
  register --id ID --kind KIND [--identifier X] [--manufacturer X] [--model X] [--serial X] [--firmware X]
           [--model-id CATALOGUE_ID]   (the device-model catalogue: vigil device-model)
  list [--kind KIND]
  show ID
  assign ID --patient PATIENT_ID [--start ISO] [--end ISO]
  unassign ID [--at ISO]
  rotate ID          new credential (the old one stops working at once)
  revoke ID          credential revoked at once
  readings ID [--limit N]`;

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
        const { values, client, json } = serverArgs(
          rest,
          {
            id: { type: 'string' },
            kind: { type: 'string' },
            identifier: { type: 'string' },
            manufacturer: { type: 'string' },
            model: { type: 'string' },
            serial: { type: 'string' },
            firmware: { type: 'string' },
            'model-id': { type: 'string' },
          },
          usage,
        );
        if (!values.id || !values.kind) return usageError(usage);
        const { url: _url, token: _token, json: _json, 'model-id': modelId, ...fields } = values;
        const body = { ...fields, ...(modelId ? { modelId } : {}) };
        const r = await client.request<{ device: Device; secret: string }>('POST', '/api/v1/devices', body);
        out(json, r, () =>
          [
            `registered device ${r.device.id} (${r.device.kind})`,
            `credential (shown only once — MQTT password / HTTP bearer):`,
            `  ${r.secret}`,
          ].join('\n'),
        );
        return 0;
      }
      case 'list': {
        const { values, client, json } = serverArgs(rest, { kind: { type: 'string' } }, usage);
        const q = values.kind ? `?kind=${enc(values.kind)}` : '';
        const r = await client.request<{ devices: Device[] }>('GET', `/api/v1/devices${q}`);
        out(json, r, () =>
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
        const { values, client, json, id } = serverArgs(rest, { limit: { type: 'string' } }, usage);
        if (!id) return usageError(usage);
        if (action === 'show') {
          const r = await client.request('GET', `/api/v1/devices/${enc(id)}`);
          out(json, r, () => JSON.stringify(r, null, 2));
        } else if (action === 'readings') {
          const r = await client.request<{ readings: Array<Record<string, unknown>> }>(
            'GET',
            `/api/v1/devices/${enc(id)}/readings${values.limit ? `?limit=${enc(values.limit)}` : ''}`,
          );
          out(json, r, () => table(r.readings, ['id', 'effective', 'code', 'value', 'unit', 'patientId']));
        } else if (action === 'rotate') {
          const r = await client.request<{ id: string; secret: string }>(
            'POST',
            `/api/v1/devices/${enc(id)}/rotate`,
          );
          out(json, r, () => `new credential for ${id} (shown only once):\n  ${r.secret}`);
        } else {
          const r = await client.request('POST', `/api/v1/devices/${enc(id)}/revoke`);
          out(json, r, () => `credential of ${id} revoked`);
        }
        return 0;
      }
      case 'assign': {
        const { values, client, json, id } = serverArgs(
          rest,
          { patient: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' } },
          usage,
        );
        if (!id || !values.patient) return usageError(usage);
        const body = {
          patientId: values.patient,
          ...(values.start ? { start: values.start } : {}),
          ...(values.end ? { end: values.end } : {}),
        };
        const r = await client.request<{
          assignment: { periodStart: string; periodEnd: string | null };
          attributedReadings: number;
        }>('POST', `/api/v1/devices/${enc(id)}/assignments`, body);
        out(
          json,
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
        const { values, client, json, id } = serverArgs(rest, { at: { type: 'string' } }, usage);
        if (!id) return usageError(usage);
        const r = await client.request(
          'POST',
          `/api/v1/devices/${enc(id)}/unassign`,
          values.at ? { at: values.at } : {},
        );
        out(json, r, () => `device ${id} unassigned`);
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
