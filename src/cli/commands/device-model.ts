import { readFileSync, writeFileSync } from 'node:fs';
import { isVigilError } from '../../core/errors.ts';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil device-model <action> [options]   (talks to the running server; --url, --token, --json)
  list [--manufacturer X]
  show ID            the regulatory record, recalls and advisories, and the devices of the model
  import FILE        CSV catalogue (docs/device-models.md); any bad row refuses the whole file
  import-advisories FILE
                     CSV recalls and advisories, by model_id or udi_di
  set DEVICE_ID MODEL_ID|none
                     which model a registered device is
  findings [--reason r1,r2] [--csv] [--out FILE]
                     devices with no model, no clearance, end of support reached, or an open recall/advisory`;

interface Model {
  id: string;
  manufacturer: string;
  model: string;
  udiDi: string | null;
  fdaPathway: string | null;
  fdaNumber: string | null;
  euMdrClass: string | null;
  endOfSupport: string | null;
}

/** Prints each refused CSV row (row number, field, reason) before the one-line error. */
async function importing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const rows = isVigilError(e)
      ? (e.details?.['rows'] as Array<Record<string, unknown>> | undefined)
      : undefined;
    if (rows)
      for (const r of rows)
        process.stderr.write(`row ${r['row']}: ${r['field']} ${r['reason']} [${r['code']}]\n`);
    throw e;
  }
}

export const command: Command = {
  name: 'device-model',
  summary:
    'the device-model catalogue: regulatory record, CSV import, recalls and advisories, fleet findings',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const enc = encodeURIComponent;
    switch (action) {
      case 'list': {
        const { values, client, json } = serverArgs(rest, { manufacturer: { type: 'string' } }, usage);
        const q = values.manufacturer ? `?manufacturer=${enc(values.manufacturer)}` : '';
        const r = await client.request<{ models: Model[] }>('GET', `/api/v1/device-models${q}`);
        out(json, r, () =>
          table(
            r.models.map((m) => ({
              ...m,
              fda: [m.fdaPathway, m.fdaNumber].filter(Boolean).join(' '),
            })) as unknown as Array<Record<string, unknown>>,
            ['id', 'manufacturer', 'model', 'udiDi', 'fda', 'euMdrClass', 'endOfSupport'],
          ),
        );
        return 0;
      }
      case 'show': {
        const { client, json, id } = serverArgs(rest, {}, usage);
        if (!id) return usageError(usage);
        const r = await client.request<{
          model: Record<string, unknown>;
          advisories: Array<Record<string, unknown>>;
          devices: string[];
        }>('GET', `/api/v1/device-models/${enc(id)}`);
        out(json, r, () =>
          [
            ...Object.entries(r.model).map(([k, v]) => `${k}: ${v ?? '-'}`),
            `devices: ${r.devices.join(', ') || '-'}`,
            'advisories:',
            r.advisories.length
              ? table(r.advisories, ['kind', 'reference', 'status', 'issuedOn', 'closedOn', 'title'])
              : '  none',
          ].join('\n'),
        );
        return 0;
      }
      case 'import':
      case 'import-advisories': {
        const { client, json, id: file } = serverArgs(rest, {}, usage);
        if (!file) return usageError(usage);
        const csv = readFileSync(file, 'utf8');
        const path =
          action === 'import' ? '/api/v1/device-models/import' : '/api/v1/device-models/advisories/import';
        const r = await importing(() =>
          client.requestText<Record<string, unknown>>('POST', path, csv, 'text/csv'),
        );
        out(json, r, () =>
          Object.entries(r)
            .filter(([k]) => k !== 'models')
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
        );
        return 0;
      }
      case 'set': {
        const { client, json, positionals } = serverArgs(rest, {}, usage);
        const [device, model] = positionals;
        if (!device || !model) return usageError(usage);
        const r = await client.request<{ deviceId: string; modelId: string | null }>(
          'PUT',
          `/api/v1/devices/${enc(device)}/model`,
          { modelId: model === 'none' ? null : model },
        );
        out(json, r, () => `device ${r.deviceId} is model ${r.modelId ?? '(none)'}`);
        return 0;
      }
      case 'findings': {
        const { values, client, json } = serverArgs(
          rest,
          { reason: { type: 'string' }, csv: { type: 'boolean' }, out: { type: 'string' } },
          usage,
        );
        const q = new URLSearchParams();
        if (values.reason) q.set('reason', values.reason);
        if (values.csv) {
          q.set('format', 'csv');
          const csv = await client.request<string>('GET', `/api/v1/device-models/findings?${q}`);
          if (values.out) writeFileSync(values.out, csv);
          else process.stdout.write(csv);
          return 0;
        }
        const r = await client.request<{
          asOf: string;
          devicesChecked: number;
          counts: Record<string, number>;
          devices: Array<{ deviceId: string; modelId: string | null; reasons: string[] }>;
        }>('GET', `/api/v1/device-models/findings${q.size ? `?${q}` : ''}`);
        out(json, r, () =>
          [
            `${r.devices.length} of ${r.devicesChecked} devices need a look (as of ${r.asOf})`,
            table(
              r.devices.map((d) => ({ ...d, reasons: d.reasons.join(' ') })),
              ['deviceId', 'modelId', 'reasons'],
            ),
          ].join('\n'),
        );
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
