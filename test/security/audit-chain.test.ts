import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEventsAsFhir } from '../../src/audit/audit-fhir.ts';
import { AuditLog, verifyAuditChain } from '../../src/audit/audit-log.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';

describeEachDatabase('audit chain', (factory) => {
  test('records chain by hash; verification passes, then detects an edited, a removed and an appended-outside record', async () => {
    const db = await factory.open();
    const audit = new AuditLog(db, new FakeClock(), createLogger('silent'));
    const writes = [];
    for (let i = 0; i < 25; i++) {
      writes.push(
        audit.record({
          kind: i % 2 ? 'rest' : 'authentication',
          subtype: i % 2 ? 'read' : 'login',
          action: i % 2 ? 'R' : 'E',
          outcome: 'success',
          agent: { kind: 'user', id: `u${i % 3}`, name: 'nurse1', address: '127.0.0.1' },
          patientId: i % 2 ? 'p1' : null,
          entities: i % 2 ? [{ type: 'Observation', id: `o${i}` }] : [],
        }),
      );
    }
    await Promise.all(writes);
    const good = await audit.verifyChain();
    assert.equal(good.ok, true, JSON.stringify(good.broken));
    assert.equal(good.checked, 25);
    assert.equal(good.headSeq, 25);

    // Append-only: an update is refused by the database itself.
    await assert.rejects(db.query(`update audit_event set outcome = '0' where seq = 3`), /append-only/);
    await assert.rejects(db.query('delete from audit_event where seq = 3'), /append-only/);

    // Someone with the power to switch the trigger off edits a record: the chain shows it.
    await db.exec(`alter table audit_event disable trigger audit_event_append_only;
      update audit_event set content = jsonb_set(content, '{outcome}', '"8"') where seq = 7;`);
    const edited = await verifyAuditChain(db);
    assert.equal(edited.ok, false);
    assert.equal(edited.broken?.seq, 7);
    assert.match(edited.broken?.reason ?? '', /edited/);

    // Recomputing that record's hash to hide the edit breaks the next link instead.
    const row = (await db.query<{ hash: string }>('select hash from audit_event where seq = 7'))[0];
    await db.query(`update audit_event set hash = $1 where seq = 7`, [`f${row?.hash.slice(1)}`]);
    const relinked = await verifyAuditChain(db);
    assert.equal(relinked.ok, false);
    assert.equal(relinked.broken?.seq, 7);
    await db.exec(`alter table audit_event enable trigger audit_event_append_only`);
  });

  test('a removed record is detected', async () => {
    const db = await factory.open();
    const audit = new AuditLog(db, new FakeClock(), createLogger('silent'));
    for (let i = 0; i < 5; i++)
      await audit.record({
        kind: 'rest',
        subtype: 'read',
        action: 'R',
        outcome: 'success',
        agent: { kind: 'system' },
      });
    await db.exec(`alter table audit_event disable trigger audit_event_append_only; delete from audit_event where seq = 5;
      alter table audit_event enable trigger audit_event_append_only;`);
    const v = await verifyAuditChain(db);
    assert.equal(v.ok, false);
    assert.match(v.broken?.reason ?? '', /removed|missing/);
  });

  test('search and FHIR rendering: AuditEvents validate against FHIR R4', async () => {
    const db = await factory.open();
    const audit = new AuditLog(db, new FakeClock(), createLogger('silent'));
    await audit.record({
      kind: 'rest',
      subtype: 'search-type',
      action: 'R',
      outcome: 'success',
      agent: {
        kind: 'user',
        id: '0190a0a0-0000-7000-8000-000000000001',
        name: 'dr',
        practitionerId: 'pr1',
        roles: ['clinician'],
        address: '10.1.2.3',
      },
      patientId: 'p9',
      entities: [{ type: 'Observation', query: 'code=8867-4' }],
      requestId: 'req-1',
    });
    await audit.record({
      kind: 'authentication',
      subtype: 'login',
      action: 'E',
      outcome: 'minor',
      outcomeDesc: 'wrong password',
      agent: { kind: 'anonymous', name: 'x', address: '::1' },
    });
    const found = await auditEventsAsFhir(audit, { patient: 'Patient/p9' });
    assert.equal(found.length, 1);
    assert.equal(found[0]?.entity?.[0]?.what?.reference, 'Patient/p9');
    const failures = await audit.search({ outcome: '4' });
    assert.equal(failures.length, 1);
    for (const e of [...found, ...failures.map((f) => f.event)]) {
      const issues = validateFhir(e);
      assert.deepEqual(issues, [], JSON.stringify(issues));
    }
  });
});
