import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyAuditChain } from '../../src/audit/audit-log.ts';
import { call, type Harness, seedWorld, startSecured, type World } from './support.ts';

/**
 * Every /fhir interaction's AuditEvent names the authenticated agent (user or integration client)
 * and the patient whose data it touched — and that agent and patient are inside the hash chain.
 */
describe('FHIR audit records name who and whom', () => {
  let h: Harness;
  let w: World;
  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
  });
  after(async () => h?.close());

  async function recordsOf(requestId: string): Promise<
    Array<{
      agent_id: string | null;
      patient_id: string | null;
      content: { agent: Array<{ who?: { display?: string } }> };
    }>
  > {
    for (let i = 0; i < 200; i++) {
      await h.vigil.ctx.security.audit.flush();
      const rows = await h.vigil.db.query<{
        agent_id: string | null;
        patient_id: string | null;
        content: { agent: Array<{ who?: { display?: string } }> };
      }>(
        `select agent_id, patient_id, content from audit_event
         where content->'entity' @> $1::jsonb order by seq`,
        [JSON.stringify([{ what: { identifier: { value: requestId } } }])],
      );
      if (rows.length) return rows;
      await new Promise((r) => setTimeout(r, 20));
    }
    return [];
  }

  const agents = () => ({
    admin: undefined as string | undefined,
    clinician: w.users.clinician.id,
    patient: w.users.patient.id,
    integration: w.integration.id,
  });

  for (const role of ['admin', 'clinician', 'patient', 'integration'] as const) {
    for (const path of [
      'Patient/pat-own',
      'Observation?patient=Patient/pat-own',
      'Observation?subject=pat-own',
    ]) {
      test(`${role}: GET /fhir/${path} is audited with the ${role} as agent and the patient`, async () => {
        const requestId = `fhir-audit-${role}-${path}`;
        const r = await call(h.vigil, 'GET', `/fhir/${path}`, {
          token: w.tokens[role],
          headers: { 'x-request-id': requestId },
        });
        assert.equal(r.status, 200, r.body);
        const rows = await recordsOf(r.headers['x-request-id'] as string);
        assert.ok(rows.length >= 1, 'no audit record');
        for (const row of rows) {
          assert.notEqual(row.content.agent[0]?.who?.display, 'anonymous');
          assert.notEqual(row.agent_id, null);
          const expectedAgent = agents()[role];
          if (expectedAgent) assert.equal(row.agent_id, expectedAgent);
        }
        assert.deepEqual(
          rows.map((x) => x.patient_id),
          [w.own],
        );
      });
    }
  }

  test('a search across patients names each patient it returned', async () => {
    const r = await call(h.vigil, 'GET', '/fhir/Observation', {
      token: w.tokens.admin,
      headers: { 'x-request-id': 'fhir-audit-all-observations' },
    });
    assert.equal(r.status, 200, r.body);
    const rows = await recordsOf(r.headers['x-request-id'] as string);
    assert.deepEqual(new Set(rows.map((x) => x.patient_id)), new Set([w.own, w.other]));
  });

  test('a refused FHIR read names the agent who tried', async () => {
    const r = await call(h.vigil, 'GET', `/fhir/Patient/${w.other}`, {
      token: w.tokens.clinician,
      headers: { 'x-request-id': 'fhir-audit-refused' },
    });
    assert.ok(r.status === 403 || r.status === 404, r.body);
    const rows = await recordsOf(r.headers['x-request-id'] as string);
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.equal(row.agent_id, w.users.clinician.id);
  });

  test('vigil audit verify detects an edited agent or patient of a FHIR record', async () => {
    const r = await call(h.vigil, 'GET', `/fhir/Patient/${w.own}`, {
      token: w.tokens.clinician,
      headers: { 'x-request-id': 'fhir-audit-tamper' },
    });
    assert.equal(r.status, 200);
    await recordsOf('fhir-audit-tamper');
    assert.equal((await verifyAuditChain(h.vigil.db)).ok, true);
    const db = h.vigil.db;
    const seq = (
      await db.query<{ seq: number }>(
        `select seq::int as seq from audit_event where content->'entity' @> $1::jsonb`,
        [JSON.stringify([{ what: { identifier: { value: 'fhir-audit-tamper' } } }])],
      )
    )[0]?.seq;
    for (const [column, value] of [
      ['agent_id', w.users.nurse.id],
      ['patient_id', w.other],
    ] as const) {
      await db.exec('alter table audit_event disable trigger audit_event_append_only');
      const before = (
        await db.query<Record<string, string>>(`select ${column} from audit_event where seq = $1`, [seq])
      )[0]?.[column];
      await db.query(`update audit_event set ${column} = $1 where seq = $2`, [value, seq]);
      const v = await verifyAuditChain(db);
      await db.query(`update audit_event set ${column} = $1 where seq = $2`, [before, seq]);
      await db.exec('alter table audit_event enable trigger audit_event_append_only');
      assert.equal(v.ok, false, `${column} edit not detected`);
      assert.equal(v.broken?.seq, seq);
    }
    assert.equal((await verifyAuditChain(db)).ok, true);
  });
});
