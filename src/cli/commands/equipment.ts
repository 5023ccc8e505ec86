import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil equipment <action> [options]   (talks to the running server; --url, --token, --json)
  zones                         the zone tree (site → building → floor → unit → room)
  zone-add ID NAME --kind K [--part-of ID] [--exit] [--rtls-zone NAME]
                                create or replace a zone (kind: site, building, floor, unit, room)
  zone-remove ID                delete a zone that nothing uses
  receiver GATEWAY_ID ZONE_ID|none
                                where a gateway hears BLE tags
  tag DEVICE_ID TAG_ID|none     attach (or remove) a BLE tag
  find [--kind K] [--availability A] [--zone ID] [--q TEXT]
                                equipment by kind, availability (in-use, free, cleaning, maintenance), zone
  set DEVICE_ID AVAILABILITY    in-use, free, cleaning or maintenance
  place DEVICE_ID ZONE_ID       put a device in a zone by hand
  utilisation [--since ISO] [--until ISO] [--kind K]
                                in-use share of tracked time per kind, unit and UTC day
  alerts [--state active|open|acknowledged|resolved]
  ack ALERT_ID | resolve ALERT_ID`;

interface View {
  deviceId: string;
  kind: string;
  availability: string;
  tagId: string | null;
  path: Array<{ name: string }>;
  lastSeenAt: string | null;
  activeAlert: { kind: string } | null;
}

const row = (e: View) => ({
  device: e.deviceId,
  kind: e.kind,
  availability: e.availability,
  zone: e.path.map((p) => p.name).join(' › ') || '-',
  lastSeen: e.lastSeenAt ?? '-',
  tag: e.tagId ?? '-',
  alert: e.activeAlert?.kind ?? '',
});

export const command: Command = {
  name: 'equipment',
  summary: 'equipment and asset tracking: zones, tags, receivers, find, availability, utilisation, alerts',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const enc = encodeURIComponent;
    switch (action) {
      case 'zones': {
        const { client, json } = serverArgs(rest, {}, usage);
        const r = await client.request<{ locations: Array<Record<string, unknown> & { path: string[] }> }>(
          'GET',
          '/api/v1/locations',
        );
        out(json, r, () =>
          table(
            r.locations
              .map((l) => ({ ...l, path: l.path.join(' › '), exit: l['exit'] ? 'exit' : '' }))
              .sort((a, b) => a.path.localeCompare(b.path)),
            ['id', 'kind', 'path', 'rtlsZone', 'exit'],
          ),
        );
        return 0;
      }
      case 'zone-add': {
        const { client, json, values, positionals } = serverArgs(
          rest,
          {
            kind: { type: 'string' },
            'part-of': { type: 'string' },
            exit: { type: 'boolean' },
            'rtls-zone': { type: 'string' },
          },
          usage,
        );
        const [id, name] = positionals;
        if (!id || !name || !values.kind) return usageError(usage);
        const r = await client.request<{ location: Record<string, unknown> }>(
          'PUT',
          `/api/v1/locations/${enc(id)}`,
          {
            name,
            kind: values.kind,
            partOf: values['part-of'] ?? null,
            exit: values.exit ?? false,
            rtlsZone: values['rtls-zone'] ?? null,
          },
        );
        out(
          json,
          r,
          () => `zone ${r.location['id']} (${r.location['kind']}) version ${r.location['version']}`,
        );
        return 0;
      }
      case 'zone-remove': {
        const { client, id } = serverArgs(rest, {}, usage);
        if (!id) return usageError(usage);
        await client.request('DELETE', `/api/v1/locations/${enc(id)}`);
        process.stdout.write(`zone ${id} deleted\n`);
        return 0;
      }
      case 'receiver': {
        const { client, json, positionals } = serverArgs(rest, {}, usage);
        const [gw, zone] = positionals;
        if (!gw || !zone) return usageError(usage);
        const r = await client.request<{ gatewayId: string; locationId: string | null }>(
          'PUT',
          `/api/v1/rtls/receivers/${enc(gw)}`,
          { locationId: zone === 'none' ? null : zone },
        );
        out(json, r, () => `gateway ${r.gatewayId} hears tags in ${r.locationId ?? '(no zone)'}`);
        return 0;
      }
      case 'tag': {
        const { client, json, positionals } = serverArgs(rest, {}, usage);
        const [device, tag] = positionals;
        if (!device || !tag) return usageError(usage);
        const r = await client.request<{ equipment: View }>('PUT', `/api/v1/equipment/${enc(device)}/tag`, {
          tagId: tag === 'none' ? null : tag,
        });
        out(json, r, () => `device ${r.equipment.deviceId} tag ${r.equipment.tagId ?? '(none)'}`);
        return 0;
      }
      case 'find': {
        const { client, json, values } = serverArgs(
          rest,
          {
            kind: { type: 'string' },
            availability: { type: 'string' },
            zone: { type: 'string' },
            q: { type: 'string' },
          },
          usage,
        );
        const p = new URLSearchParams();
        if (values.kind) p.set('kind', values.kind);
        if (values.availability) p.set('availability', values.availability);
        if (values.zone) p.set('locationId', values.zone);
        if (values.q) p.set('q', values.q);
        const qs = p.size ? `?${p}` : '';
        const r = await client.request<{ equipment: View[]; counts: Record<string, number> }>(
          'GET',
          `/api/v1/equipment${qs}`,
        );
        out(json, r, () =>
          [
            table(r.equipment.map(row), [
              'device',
              'kind',
              'availability',
              'zone',
              'lastSeen',
              'tag',
              'alert',
            ]),
            Object.entries(r.counts)
              .map(([k, n]) => `${k}: ${n}`)
              .join(', '),
          ].join('\n'),
        );
        return 0;
      }
      case 'set':
      case 'place': {
        const { client, json, positionals } = serverArgs(rest, {}, usage);
        const [device, value] = positionals;
        if (!device || !value) return usageError(usage);
        const r = await client.request<{ equipment: View }>(
          'PUT',
          `/api/v1/equipment/${enc(device)}/${action === 'set' ? 'availability' : 'location'}`,
          action === 'set' ? { availability: value } : { locationId: value },
        );
        out(json, r, () => table([row(r.equipment)], ['device', 'kind', 'availability', 'zone', 'lastSeen']));
        return 0;
      }
      case 'utilisation': {
        const { client, json, values } = serverArgs(
          rest,
          { since: { type: 'string' }, until: { type: 'string' }, kind: { type: 'string' } },
          usage,
        );
        const p = new URLSearchParams();
        for (const k of ['since', 'until', 'kind'] as const) if (values[k]) p.set(k, values[k] as string);
        const r = await client.request<{
          since: string;
          until: string;
          rows: Array<Record<string, unknown>>;
        }>('GET', `/api/v1/equipment/utilisation${p.size ? `?${p}` : ''}`);
        out(
          json,
          r,
          () =>
            `${r.since} → ${r.until}\n${table(
              r.rows.map((x) => ({
                ...x,
                unitId: x['unitId'] ?? '(no unit)',
                hoursTracked: Math.round(Number(x['trackedSeconds']) / 36) / 100,
                hoursInUse: Math.round(Number(x['inUseSeconds']) / 36) / 100,
              })),
              ['kind', 'unitId', 'day', 'devices', 'hoursTracked', 'hoursInUse', 'utilisation'],
            )}`,
        );
        return 0;
      }
      case 'alerts': {
        const { client, json, values } = serverArgs(rest, { state: { type: 'string' } }, usage);
        const r = await client.request<{ alerts: Array<Record<string, unknown>> }>(
          'GET',
          `/api/v1/equipment/alerts${values.state ? `?state=${enc(values.state)}` : ''}`,
        );
        out(json, r, () => table(r.alerts, ['id', 'state', 'priority', 'raisedAt', 'summary']));
        return 0;
      }
      case 'ack':
      case 'resolve': {
        const { client, json, id } = serverArgs(rest, {}, usage);
        if (!id) return usageError(usage);
        const r = await client.request<{ alert: Record<string, unknown> }>(
          'POST',
          `/api/v1/equipment/alerts/${enc(id)}/${action === 'ack' ? 'acknowledge' : 'resolve'}`,
        );
        out(json, r, () => `alert ${r.alert['id']} ${r.alert['state']}`);
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
