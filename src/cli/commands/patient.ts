import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, writeNdjson } from '../output.ts';

const usage = `vigil patient <action> ID [options]   (--url, --token, --json)
  export ID [--out FILE]        everything about the patient as FHIR NDJSON (audited)
  erase ID --confirm ID         erase the patient's data (administrators; audited; the audit trail is kept)
  consents ID                   consent decisions and records
  consent ID --purpose monitoring|integration-sharing|research --permit|--deny
  enrol ID --program NAME …     monitoring programs (same as \`vigil monitoring enrol\`)`;

export const command: Command = {
  name: 'patient',
  summary: "export or erase a patient's data; show and record consent",
  usage,
  async run(args) {
    const [action, ...rest] = args;
    if (action === 'enrol') {
      const { command: monitoring } = await import('./monitoring.ts');
      return monitoring.run(['enrol', ...rest]);
    }
    const { values, client, json, id } = serverArgs(
      rest,
      {
        out: { type: 'string' },
        confirm: { type: 'string' },
        purpose: { type: 'string' },
        permit: { type: 'boolean' },
        deny: { type: 'boolean' },
      },
      usage,
    );
    if (!id) return usageError(usage);
    const enc = encodeURIComponent(id);
    switch (action) {
      case 'export': {
        const r = await client.request<unknown>('GET', `/api/v1/patients/${enc}/export`);
        writeNdjson(r, values.out, 'resources');
        return 0;
      }
      case 'erase': {
        if (values.confirm !== id) {
          process.stderr.write('erasure cannot be undone: repeat the patient id with --confirm ID\n');
          return 2;
        }
        const r = await client.request<{ removed: Record<string, number> }>(
          'POST',
          `/api/v1/patients/${enc}/erase`,
          { confirm: id },
        );
        out(
          json,
          r,
          () =>
            `erased patient ${id}: ${
              Object.entries(r.removed)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'nothing stored'
            }`,
        );
        return 0;
      }
      case 'consents': {
        const r = await client.request<{ decisions: Record<string, { permitted: boolean; basis: string }> }>(
          'GET',
          `/api/v1/patients/${enc}/consents`,
        );
        out(json, r, () =>
          Object.entries(r.decisions)
            .map(([p, d]) => `${p.padEnd(20)} ${d.permitted ? 'permitted' : 'refused'} (${d.basis})`)
            .join('\n'),
        );
        return 0;
      }
      case 'consent': {
        if (!values.purpose || values.permit === values.deny) return usageError(usage);
        const r = await client.request<{ consent: { id: string } }>(
          'POST',
          `/api/v1/patients/${enc}/consents`,
          {
            purpose: values.purpose,
            decision: values.permit ? 'permit' : 'deny',
          },
        );
        out(
          json,
          r,
          () =>
            `recorded Consent/${r.consent.id}: ${values.purpose} ${values.permit ? 'permitted' : 'refused'}`,
        );
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
