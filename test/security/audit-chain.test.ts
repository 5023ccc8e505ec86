import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toAuditEvent } from '../../src/audit/audit-event.ts';
import { auditEventsAsFhir } from '../../src/audit/audit-fhir.ts';
import { AuditLog, chainHash, verifyAuditChain } from '../../src/audit/audit-log.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
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

describeEachDatabase('audit chain covers who and whom', (factory) => {
  const record = (audit: AuditLog, i: number) =>
    audit.record({
      kind: 'rest',
      subtype: 'read',
      action: 'R',
      outcome: 'success',
      agent: { kind: 'user', id: `user-${i}`, name: 'dr', address: '10.0.0.1' },
      patientId: `patient-${i}`,
      entities: [{ type: 'Observation', id: `o${i}` }],
    });

  for (const [column, value] of [
    ['agent_id', 'someone-else'],
    ['patient_id', 'another-patient'],
    ['agent_address', '10.9.9.9'],
    ['recorded', '2001-01-01T00:00:00Z'],
    ['entity_id', 'o-other'],
  ] as const) {
    test(`an edited ${column} column breaks the chain`, async () => {
      const db = await factory.open();
      const audit = new AuditLog(db, new FakeClock(), createLogger('silent'));
      for (let i = 0; i < 4; i++) await record(audit, i);
      assert.equal((await audit.verifyChain()).ok, true);
      await db.exec(`alter table audit_event disable trigger audit_event_append_only`);
      await db.query(`update audit_event set ${column} = $1 where seq = 3`, [value]);
      await db.exec(`alter table audit_event enable trigger audit_event_append_only`);
      const v = await verifyAuditChain(db);
      assert.equal(v.ok, false, `${column} edit not detected`);
      assert.equal(v.broken?.seq, 3);
    });
  }

  test('records written before columns were hashed (v1) still verify; an edited column of theirs is detected', async () => {
    const db = await factory.open();
    // A chain written by the v1 writer: hash over the content only.
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 3; seq++) {
      const event = toAuditEvent(
        {
          kind: 'rest',
          subtype: 'read',
          action: 'R',
          outcome: 'success',
          agent: { kind: 'user', id: `legacy-${seq}`, name: 'dr', address: '10.0.0.2' },
          patientId: `legacy-patient-${seq}`,
          entities: [{ type: 'Observation', id: `lo${seq}` }],
        },
        newId(),
        new Date(Date.UTC(2024, 0, seq)).toISOString(),
      );
      const hash = chainHash(seq, prev, event);
      await db.query(
        `insert into audit_event (seq, id, recorded, type_code, subtype_code, action, outcome, agent_id, agent_address,
           patient_id, entity_type, entity_id, content, prev_hash, hash)
         values ($1, $2, $3, 'rest', 'read', 'R', '0', $4, '10.0.0.2', $5, 'Observation', $6, $7::jsonb, $8, $9)`,
        [
          seq,
          event.id,
          event.recorded,
          `legacy-${seq}`,
          `legacy-patient-${seq}`,
          `lo${seq}`,
          JSON.stringify(event),
          prev,
          hash,
        ],
      );
      prev = hash;
    }
    await db.query('update audit_chain_head set last_seq = 3, last_hash = $1, columns_hashed_from = 4', [
      prev,
    ]);
    const audit = new AuditLog(db, new FakeClock(), createLogger('silent'));
    for (let i = 0; i < 3; i++) await record(audit, i);
    const good = await audit.verifyChain();
    assert.equal(good.ok, true, JSON.stringify(good.broken));
    assert.equal(good.checked, 6);
    for (const column of ['patient_id', 'agent_id']) {
      await db.exec(`alter table audit_event disable trigger audit_event_append_only`);
      await db.query(`update audit_event set ${column} = 'x' where seq = 2`);
      const v = await verifyAuditChain(db);
      assert.equal(v.ok, false, `${column} edit of a v1 record not detected`);
      assert.equal(v.broken?.seq, 2);
      assert.match(v.broken?.reason ?? '', new RegExp(column));
      await db.query(`update audit_event set ${column} = $1 where seq = 2`, [
        column === 'patient_id' ? 'legacy-patient-2' : 'legacy-2',
      ]);
      await db.exec(`alter table audit_event enable trigger audit_event_append_only`);
    }
    assert.equal((await verifyAuditChain(db)).ok, true);
  });
});
