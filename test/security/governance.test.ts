import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { RetentionService } from '../../src/consent/retention.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { call, type Harness, seedWorld, startSecured, type World } from './support.ts';

describe('consent, export, erasure, retention, audit API', () => {
  let h: Harness;
  let w: World;

  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
  });
  after(async () => h?.close());

  const auditCount = async (where: string, params: unknown[] = []) => {
    await h.vigil.ctx.security.audit.flush();
    return (
      (
        await h.vigil.db.query<{ n: number }>(
          `select count(*)::int as n from audit_event where ${where}`,
          params,
        )
      )[0]?.n ?? 0
    );
  };

  test('consent: a revocation takes effect at once for integrations, and is itself a recorded Consent', async () => {
    const url = `/api/v1/readings/${w.readings.own}`;
    assert.equal((await call(h.vigil, 'GET', url, { token: w.tokens.integration })).status, 200);
    // The patient revokes sharing themselves.
    const revoke = await call(h.vigil, 'POST', `/api/v1/patients/${w.own}/consents`, {
      token: w.tokens.patient,
      body: { purpose: 'integration-sharing', decision: 'deny' },
    });
    assert.equal(revoke.status, 201);
    const denied = await call(h.vigil, 'GET', url, { token: w.tokens.integration });
    assert.equal(denied.status, 403);
    assert.equal((denied.json()['error'] as { code: string }).code, 'VIGIL_ERR_CONSENT_DENIED');
    // Care is unaffected: the clinician still reads.
    assert.equal((await call(h.vigil, 'GET', url, { token: w.tokens.clinician })).status, 200);

    const list = (
      await call(h.vigil, 'GET', `/api/v1/patients/${w.own}/consents`, { token: w.tokens.patient })
    ).json() as {
      consents: Resource[];
      decisions: Record<string, { permitted: boolean; basis: string }>;
    };
    assert.equal(list.decisions['integration-sharing']?.permitted, false);
    assert.equal(list.decisions['research']?.permitted, false, 'research needs an explicit permit');
    assert.equal(list.decisions['monitoring']?.permitted, true);
    for (const c of list.consents) assert.deepEqual(validateFhir(c), [], JSON.stringify(c));
    assert.ok(await auditCount(`subtype_code = 'consent-revoked' and patient_id = $1`, [w.own]));

    // Given again: sharing resumes at once; the earlier refusal is kept, inactive.
    await call(h.vigil, 'POST', `/api/v1/patients/${w.own}/consents`, {
      token: w.tokens.admin,
      body: { purpose: 'integration-sharing', decision: 'permit' },
    });
    assert.equal((await call(h.vigil, 'GET', url, { token: w.tokens.integration })).status, 200);
    const again = (
      await call(h.vigil, 'GET', `/api/v1/patients/${w.own}/consents`, { token: w.tokens.admin })
    ).json() as { consents: Array<{ status: string }> };
    assert.ok(again.consents.some((c) => c.status === 'inactive'));
  });

  test('consent: a refusal of monitoring blocks assigning a device to the patient', async () => {
    await call(h.vigil, 'POST', '/api/v1/devices', {
      token: w.tokens.admin,
      body: { id: 'dev-consent', kind: 'scale' },
    });
    await call(h.vigil, 'POST', `/api/v1/patients/${w.other}/consents`, {
      token: w.tokens.admin,
      body: { purpose: 'monitoring', decision: 'deny' },
    });
    const r = await call(h.vigil, 'POST', '/api/v1/devices/dev-consent/assignments', {
      token: w.tokens.admin,
      body: { patientId: w.other },
    });
    assert.equal(r.status, 409);
    assert.equal((r.json()['error'] as { code: string }).code, 'VIGIL_ERR_CONSENT_DENIED');
  });

  test("export: all of a patient's data as FHIR NDJSON, for the patient themselves, audited", async () => {
    const r = await call(h.vigil, 'GET', `/api/v1/patients/${w.own}/export`, { token: w.tokens.patient });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/fhir\+ndjson/);
    assert.equal(r.headers['cache-control'], 'no-store');
    const resources = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Resource);
    const types = new Set(resources.map((x) => x.resourceType));
    for (const t of ['Patient', 'CareTeam', 'Consent', 'Observation', 'AuditEvent'])
      assert.ok(types.has(t as Resource['resourceType']), `export has ${t}`);
    assert.ok(!r.body.includes(w.other), 'nothing of the other patient');
    for (const x of resources.filter(
      (x) => x.resourceType === 'Observation' || x.resourceType === 'Consent',
    )) {
      assert.deepEqual(validateFhir(x), [], JSON.stringify(x));
    }
    assert.ok(await auditCount(`type_code = '110106' and patient_id = $1`, [w.own]));
    const other = await call(h.vigil, 'GET', `/api/v1/patients/${w.other}/export`, {
      token: w.tokens.patient,
    });
    assert.equal(other.status, 403);
  });

  test('erasure: the patient data goes, the audit trail stays and still verifies', async () => {
    await call(h.vigil, 'POST', '/api/v1/patients/pat-other/consents', {
      token: w.tokens.admin,
      body: { purpose: 'research', decision: 'permit' },
    });
    const before = await auditCount('patient_id = $1', [w.other]);
    const refused = await call(h.vigil, 'POST', `/api/v1/patients/${w.other}/erase`, {
      token: w.tokens.admin,
      body: { confirm: 'wrong' },
    });
    assert.equal(refused.status, 400);
    const r = await call(h.vigil, 'POST', `/api/v1/patients/${w.other}/erase`, {
      token: w.tokens.admin,
      body: { confirm: w.other },
    });
    assert.equal(r.status, 200, r.body);
    const removed = r.json()['removed'] as Record<string, number>;
    assert.equal(removed['observations'], 1);
    assert.equal(removed['fhir:Patient'], 1);
    assert.ok((removed['fhir:Consent'] ?? 0) >= 2);
    assert.equal(removed['deviceAssignments'], 1);
    const left = await h.vigil.db.query<{ n: number }>(
      `select (select count(*)::int from observation where patient_id = $1) + (select count(*)::int from fhir_resource where content::text like $2)
         + (select count(*)::int from fhir_resource_history where content::text like $2) as n`,
      [w.other, `%Patient/${w.other}"%`],
    );
    assert.equal(left[0]?.n, 0);
    assert.ok((await auditCount('patient_id = $1', [w.other])) > before, 'audit kept, erasure recorded');
    assert.ok(await auditCount(`subtype_code = 'erasure'`));
    const v = await call(h.vigil, 'GET', '/api/v1/audit/verify', { token: w.tokens.admin });
    assert.equal(v.json()['ok'], true);
  });

  test('audit API: search by patient and outcome, NDJSON export, every use of the log is itself audited', async () => {
    const s = await call(h.vigil, 'GET', `/api/v1/audit?patient=${w.own}&limit=5`, { token: w.tokens.admin });
    assert.equal(s.status, 200);
    const events = s.json()['events'] as Array<{
      entity?: Array<{ what?: { reference?: string } }>;
      recorded: string;
    }>;
    assert.ok(events.length > 0 && events.length <= 5);
    for (const e of events) assert.ok(e.entity?.some((x) => x.what?.reference === `Patient/${w.own}`));
    const failures = await call(h.vigil, 'GET', '/api/v1/audit?outcome=4&type=110113', {
      token: w.tokens.admin,
    });
    assert.equal(failures.status, 200);
    const bad = await call(h.vigil, 'GET', '/api/v1/audit?outcome=99', { token: w.tokens.admin });
    assert.equal(bad.status, 400);
    const ex = await call(h.vigil, 'GET', `/api/v1/audit/export?patient=${w.own}`, { token: w.tokens.admin });
    assert.equal(ex.status, 200);
    const lines = ex.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Resource);
    assert.ok(lines.length >= events.length);
    for (const l of lines.slice(0, 20)) assert.deepEqual(validateFhir(l), [], JSON.stringify(l));
    assert.ok(await auditCount(`type_code = '110101'`), 'audit log use is audited');
  });

  test('security headers, CORS closed by default, no PHI cached', async () => {
    const r = await call(h.vigil, 'GET', `/api/v1/readings/${w.readings.own}`, {
      token: w.tokens.clinician,
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.ok(r.headers['strict-transport-security']);
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(r.headers['cache-control'], 'no-store');
    const pre = await call(h.vigil, 'OPTIONS', '/api/v1/readings/x', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const big = await call(h.vigil, 'POST', '/auth/token', {
      body: JSON.stringify({ username: 'a', password: 'x'.repeat(20_000) }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(big.status, 413);
  });

  test('retention: dry run counts, purge removes; the audit log is purged from its oldest end and still verifies', async () => {
    await h.vigil.db.query(`insert into dead_letter (id, received, transport, reason_code, reason, payload) values
      ('01900000-0000-7000-8000-0000000000d1', now() - interval '400 days', 'http', 'X', 'x', '\\x00'::bytea)`);
    const dry = (
      await call(h.vigil, 'POST', '/api/v1/retention/purge?dryRun=true', { token: w.tokens.admin })
    ).json() as {
      classes: Array<{ dataClass: string; count: number }>;
    };
    assert.equal(dry.classes.find((c) => c.dataClass === 'dead_letter')?.count, 1);
    assert.equal(
      (await h.vigil.db.query<{ n: number }>('select count(*)::int as n from dead_letter'))[0]?.n,
      1,
      'dry run removed nothing',
    );
    await call(h.vigil, 'POST', '/api/v1/retention/purge', { token: w.tokens.admin });
    assert.equal(
      (await h.vigil.db.query<{ n: number }>('select count(*)::int as n from dead_letter'))[0]?.n,
      0,
    );
    assert.ok(
      (await h.vigil.db.query<{ n: number }>('select count(*)::int as n from audit_event'))[0]?.n,
      'young audit records stay',
    );
    const tooShort = await call(h.vigil, 'PUT', '/api/v1/retention/audit_event', {
      token: w.tokens.admin,
      body: { days: 30 },
    });
    assert.equal(tooShort.status, 400);

    // Seven years on, the audit records of today are past retention: purged, the chain base moves.
    await h.vigil.ctx.security.audit.flush();
    const later = new RetentionService(
      h.vigil.db,
      { now: () => Date.now() + 7 * 365 * 86_400_000 },
      async () => 0,
    );
    const r = await later.purge(false);
    assert.ok((r.classes.find((c) => c.dataClass === 'audit_event')?.count ?? 0) > 10);
    assert.equal(
      (await h.vigil.db.query<{ n: number }>('select count(*)::int as n from audit_event'))[0]?.n,
      0,
    );
    assert.equal(
      (await call(h.vigil, 'GET', '/api/v1/audit/verify', { token: w.tokens.admin })).json()['ok'],
      true,
    );
    const v = (await call(h.vigil, 'GET', '/api/v1/audit/verify', { token: w.tokens.admin })).json() as {
      ok: boolean;
      checked: number;
    };
    assert.equal(v.ok, true);
    assert.equal(v.checked, 1, 'new records chain on from the moved base');
  });
});
