import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminToken, call, type Harness, startSecured } from '../security/support.ts';

/** System $export with an audit log past 1,000 records: every AuditEvent, in pages, no failure. */
describe('bulk $export of a long audit log', () => {
  let h: Harness;
  let token: string;
  const extra = 1500;
  before(async () => {
    h = await startSecured();
    token = await adminToken(h.vigil);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < extra; i++)
      writes.push(
        h.vigil.ctx.security.audit.record({
          kind: 'rest',
          subtype: 'read',
          action: 'R',
          outcome: 'success',
          agent: { kind: 'system', name: 'export-test' },
          patientId: i % 2 ? 'pat-a' : null,
          entities: [{ type: 'Observation', id: `o${i}` }],
        }),
      );
    await Promise.all(writes);
  });
  after(async () => h?.close());

  async function runExport(
    query: string,
  ): Promise<{ status: number; body: string; lines: Array<{ resourceType: string; id: string }> }> {
    const kick = await call(h.vigil, 'GET', `/fhir/$export${query}`, {
      token,
      headers: { prefer: 'respond-async' },
    });
    assert.equal(kick.status, 202, kick.body);
    const status = String(kick.headers['content-location']).replace(/^https?:\/\/[^/]+/, '');
    let s = await call(h.vigil, 'GET', status, { token });
    for (let i = 0; i < 400 && s.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 25));
      s = await call(h.vigil, 'GET', status, { token });
    }
    if (s.status !== 200) return { status: s.status, body: s.body, lines: [] };
    const manifest = s.json() as { output: Array<{ type: string; url: string }> };
    const lines: Array<{ resourceType: string; id: string }> = [];
    for (const o of manifest.output) {
      const f = await call(h.vigil, 'GET', o.url.replace(/^https?:\/\/[^/]+/, ''), { token });
      assert.equal(f.status, 200);
      for (const l of f.body.trim().split('\n')) if (l) lines.push(JSON.parse(l));
    }
    return { status: s.status, body: s.body, lines };
  }

  for (const query of ['?_type=AuditEvent', '']) {
    test(`system export${query || ' of every type'} completes with every AuditEvent`, async () => {
      await h.vigil.ctx.security.audit.flush();
      const inLog =
        (await h.vigil.db.query<{ n: number }>('select count(*)::int as n from audit_event'))[0]?.n ?? 0;
      assert.ok(inLog > 1000);
      const r = await runExport(query);
      assert.equal(r.status, 200, r.body);
      const events = r.lines.filter((l) => l.resourceType === 'AuditEvent');
      assert.ok(events.length >= inLog, `${events.length} AuditEvents exported of ${inLog}`);
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no duplicates');
    });
  }
});
