import { verifyAuditChain } from '../../audit/audit-log.ts';
import { loadConfig } from '../../config/config.ts';
import { openDatabase } from '../../store/open-database.ts';
import { commonOptions, parse, usageError } from '../args.ts';
import { ApiClient } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table, writeNdjson } from '../output.ts';

const usage = `vigil audit <action> [options]   (administrators; --url, --token, --json)
  verify [--offline]     recompute the hash chain; exit 1 when a record was edited or removed
                         (--offline: open the database of VIGIL_DATA_DIR / VIGIL_DATABASE_URL directly,
                          for a stopped server)
  search [--patient ID] [--agent ID] [--type CODE] [--subtype CODE] [--action C|R|U|D|E]
         [--outcome 0|4|8|12] [--since ISO] [--until ISO] [--limit N]
  export [--since ISO] [--until ISO] [--patient ID] [--out FILE]   FHIR AuditEvent NDJSON`;

const filters = {
  patient: { type: 'string' },
  agent: { type: 'string' },
  type: { type: 'string' },
  subtype: { type: 'string' },
  action: { type: 'string' },
  outcome: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
} as const;

interface Verification {
  ok: boolean;
  checked: number;
  headSeq: number;
  headHash: string;
  broken?: { seq: number; reason: string };
}

function query(values: Record<string, unknown>, keys: string[]): string {
  const q = new URLSearchParams();
  for (const k of keys) if (typeof values[k] === 'string') q.set(k, values[k] as string);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function report(v: Verification): string {
  return v.ok
    ? `audit chain intact: ${v.checked} records verified; head ${v.headSeq} ${v.headHash}`
    : `AUDIT CHAIN BROKEN at record ${v.broken?.seq}: ${v.broken?.reason} (${v.checked} records verified before it)`;
}

export const command: Command = {
  name: 'audit',
  summary: 'verify, search and export the tamper-evident audit log',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    switch (action) {
      case 'verify': {
        const { values } = parse(rest, { ...commonOptions, offline: { type: 'boolean' } }, usage);
        let v: Verification;
        if (values.offline) {
          const config = loadConfig();
          const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
          try {
            v = await verifyAuditChain(db);
          } finally {
            await db.close();
          }
        } else {
          v = await new ApiClient(values).request<Verification>('GET', '/api/v1/audit/verify');
        }
        out(values.json ?? false, v, () => report(v));
        return v.ok ? 0 : 1;
      }
      case 'search': {
        const { values } = parse(rest, { ...commonOptions, ...filters, limit: { type: 'string' } }, usage);
        const r = await new ApiClient(values).request<{ events: Array<Record<string, unknown>> }>(
          'GET',
          `/api/v1/audit${query(values, [...Object.keys(filters), 'limit'])}`,
        );
        out(values.json ?? false, r, () =>
          table(
            r.events.map((e) => {
              const ev = e as {
                seq: number;
                recorded: string;
                type: { display?: string; code: string };
                subtype?: Array<{ code: string }>;
                action: string;
                outcome: string;
                agent: Array<{
                  who?: { display?: string; reference?: string; identifier?: { value: string } };
                  network?: { address: string };
                }>;
                entity?: Array<{ what?: { reference?: string } }>;
              };
              const who = ev.agent[0]?.who;
              return {
                seq: ev.seq,
                recorded: ev.recorded,
                type: ev.type.display ?? ev.type.code,
                subtype: ev.subtype?.[0]?.code,
                action: ev.action,
                outcome: ev.outcome,
                who: who?.display ?? who?.reference ?? who?.identifier?.value,
                from: ev.agent[0]?.network?.address,
                what: ev.entity
                  ?.map((x) => x.what?.reference)
                  .filter(Boolean)
                  .join(' '),
              };
            }),
            ['seq', 'recorded', 'type', 'subtype', 'action', 'outcome', 'who', 'from', 'what'],
          ),
        );
        return 0;
      }
      case 'export': {
        const { values } = parse(
          rest,
          {
            ...commonOptions,
            since: filters.since,
            until: filters.until,
            patient: filters.patient,
            out: { type: 'string' },
          },
          usage,
        );
        const r = await new ApiClient(values).request<unknown>(
          'GET',
          `/api/v1/audit/export${query(values, ['since', 'until', 'patient'])}`,
        );
        writeNdjson(r, values.out, 'audit events');
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
