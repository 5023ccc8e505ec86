import { writeFileSync } from 'node:fs';
import { parse } from '../args.ts';
import { ApiClient } from '../client.ts';
import type { Command } from '../command.ts';
import { out } from '../output.ts';

const usage = `vigil patient <action> ID [options]   (--url, --token, --json)
  export ID [--out FILE]        everything about the patient as FHIR NDJSON (audited)
  erase ID --confirm ID         erase the patient's data (administrators; audited; the audit trail is kept)
  consents ID                   consent decisions and records
  consent ID --purpose monitoring|integration-sharing|research --permit|--deny
  enrol ID --program NAME …     monitoring programs (same as \`vigil monitoring enrol\`)`;

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;

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
    const { values, positionals } = parse(
      rest,
      {
        ...common,
        out: { type: 'string' },
        confirm: { type: 'string' },
        purpose: { type: 'string' },
        permit: { type: 'boolean' },
        deny: { type: 'boolean' },
      },
      usage,
    );
    const id = positionals[0];
    if (!id) return usageError();
    const client = new ApiClient(values);
    const enc = encodeURIComponent(id);
    switch (action) {
      case 'export': {
        const r = await client.request<unknown>('GET', `/api/v1/patients/${enc}/export`);
        const text = r === undefined ? '' : typeof r === 'string' ? r : `${JSON.stringify(r)}\n`;
        if (values.out) {
          writeFileSync(values.out, text, { mode: 0o600 });
          process.stderr.write(
            `wrote ${text.split('\n').filter(Boolean).length} resources to ${values.out}\n`,
          );
        } else process.stdout.write(text);
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
          values.json ?? false,
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
        out(values.json ?? false, r, () =>
          Object.entries(r.decisions)
            .map(([p, d]) => `${p.padEnd(20)} ${d.permitted ? 'permitted' : 'refused'} (${d.basis})`)
            .join('\n'),
        );
        return 0;
      }
      case 'consent': {
        if (!values.purpose || values.permit === values.deny) return usageError();
        const r = await client.request<{ consent: { id: string } }>(
          'POST',
          `/api/v1/patients/${enc}/consents`,
          {
            purpose: values.purpose,
            decision: values.permit ? 'permit' : 'deny',
          },
        );
        out(
          values.json ?? false,
          r,
          () =>
            `recorded Consent/${r.consent.id}: ${values.purpose} ${values.permit ? 'permitted' : 'refused'}`,
        );
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
