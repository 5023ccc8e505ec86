import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { raiseAlert, transition } from '../../src/alerts/alert-state.ts';
import { type Notification, notifiedAlert } from '../../src/alerts/notifier.ts';
import { newId } from '../../src/core/ids.ts';
import { AlertRepository } from '../../src/store/alert-repository.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { ensureTargets, type FhirHarness, type Json, startFhir } from './harness.ts';

const t0 = Date.parse('2026-03-01T10:00:00Z');

function alertFor(patientId: string, minutes: number, summary: string) {
  return raiseAlert(
    {
      patientId,
      conditionKey: `news2-${newId()}`,
      rule: 'news2',
      state: 'firing',
      severity: 'high',
      at: new Date(t0 + minutes * 60_000).toISOString(),
      summary,
      evidence: [newId()],
    },
    t0 + minutes * 60_000,
  ).alert;
}

describe('FHIR Flag, Communication and AuditEvent: read-only views of alerts and the audit log', () => {
  let h: FhirHarness;
  const p1 = `p-${newId()}`;
  const p2 = `p-${newId()}`;
  const open = alertFor(p1, 0, 'NEWS2 7');
  const resolved = transition(
    alertFor(p1, 5, 'NEWS2 5'),
    { type: 'resolve' },
    { kind: 'user', id: 'u' },
    t0 + 600_000,
  ).alert;
  const other = alertFor(p2, 10, 'NEWS2 6');
  const notificationId = newId();
  const ids = (b: Json) =>
    (b.entry ?? []).filter((e: Json) => e.search?.mode === 'match').map((e: Json) => e.resource.id);
  const search = async (q: string) => {
    const r = await h.call('GET', `/fhir/${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  before(async () => {
    h = await startFhir();
    const repo = new AlertRepository(h.vigil.db);
    for (const a of [open, resolved, other]) assert.equal(await repo.insert(h.vigil.db, a), true);
    const n: Notification = {
      id: notificationId,
      type: 'alert.notification',
      reason: 'raised',
      createdAt: new Date(t0 + 60_000).toISOString(),
      tier: 0,
      tierName: 'clinician',
      recipients: [{ practitioner: 'Practitioner/doc-1', role: 'clinician' }],
      alert: notifiedAlert(open),
    };
    await repo.insertNotification(h.vigil.db, {
      id: n.id,
      alertId: open.id,
      reason: n.reason,
      tier: n.tier,
      severity: open.severity,
      recipients: n.recipients,
      payload: n as unknown as Record<string, unknown>,
      createdAt: n.createdAt,
    });
    await repo.insertDelivery(h.vigil.db, {
      id: newId(),
      notificationId: n.id,
      channel: 'webhook',
      target: 'https://example.invalid/hook',
      status: 'delivered',
      attempts: 1,
      nextAttemptAt: n.createdAt,
      expiresAt: new Date(t0 + 3_600_000).toISOString(),
      createdAt: n.createdAt,
      deliveredAt: n.createdAt,
      lastError: null,
    });
  });
  after(async () => h?.close());

  test('GET Flag/<alert id> is the alert, valid FHIR R4', async () => {
    const r = await h.call('GET', `/fhir/Flag/${open.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, open.id);
    assert.equal(r.json.status, 'active');
    assert.equal(r.json.subject.reference, `Patient/${p1}`);
    assert.equal(r.json.meta.versionId, String(open.version));
    assert.equal(r.headers['etag'], `W/"${open.version}"`);
    assert.deepEqual(validateFhir(r.json as Resource), []);
    const gone = await h.call('GET', `/fhir/Flag/${newId()}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.resourceType, 'OperationOutcome');
    assert.equal((await h.call('GET', '/fhir/Flag/not-a-uuid')).status, 404);
  });

  test('Flag search by patient and status, newest first, with count and paging', async () => {
    assert.deepEqual(ids(await search(`Flag?patient=${p1}`)), [resolved.id, open.id]);
    assert.deepEqual(ids(await search(`Flag?patient=Patient/${p1}&status=active`)), [open.id]);
    assert.deepEqual(ids(await search(`Flag?subject=Patient/${p1}&status=inactive`)), [resolved.id]);
    assert.deepEqual(ids(await search(`Flag?patient=${p1},${p2}&_count=1`)), [other.id]);
    assert.deepEqual(ids(await search(`Flag?_id=${other.id}`)), [other.id]);
    assert.equal((await search(`Flag?patient=${p1}&_summary=count`)).total, 2);
    const page = await search(`Flag?patient=${p1}&_count=1`);
    const next = page.link.find((l: Json) => l.relation === 'next');
    assert.ok(next, 'a next link');
    assert.deepEqual(ids(await search(next.url.replace(/^http:\/\/[^/]+\/fhir\//, ''))), [open.id]);
    for (const e of (await search(`Flag?patient=${p1}`)).entry)
      assert.deepEqual(validateFhir(e.resource as Resource), []);
    // What the view cannot answer is refused, not ignored.
    assert.equal((await h.call('GET', '/fhir/Flag?date=ge2026-01-01')).status, 400);
    assert.equal((await h.call('GET', '/fhir/Flag?_lastUpdated=ge2026-01-01')).status, 400);
  });

  test('Communication: the notification about the alert, status from its deliveries', async () => {
    const r = await h.call('GET', `/fhir/Communication/${notificationId}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.about[0].reference, `Flag/${open.id}`);
    assert.equal(r.json.status, 'completed');
    assert.equal(r.json.subject.reference, `Patient/${p1}`);
    assert.deepEqual(validateFhir(r.json as Resource), []);
    assert.deepEqual(ids(await search(`Communication?patient=${p1}`)), [notificationId]);
    assert.deepEqual(ids(await search(`Communication?patient=${p2}`)), []);
    assert.deepEqual(ids(await search(`Communication?category=alert&_id=${notificationId}`)), [
      notificationId,
    ]);
  });

  test("a clinician sees the Flags and Communications of their care team's patients only", async () => {
    const careTeam = {
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: `Patient/${p1}` },
      participant: [{ member: { reference: 'Practitioner/doc-views' } }],
    };
    await ensureTargets(h, careTeam);
    const team = await h.call('POST', '/fhir/CareTeam', careTeam);
    assert.equal(team.status, 201, team.text);
    const doc = await h.token({ roles: ['clinician'], practitionerId: 'doc-views' });
    const as = (q: string) => h.call('GET', `/fhir/${q}`, undefined, { authorization: `Bearer ${doc}` });
    const all = await as('Flag');
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(ids(all.json), [resolved.id, open.id]);
    assert.equal((await as('Flag?_summary=count')).json.total, 2);
    assert.equal((await as(`Flag/${open.id}`)).status, 200);
    assert.equal((await as(`Flag/${other.id}`)).status, 403);
    const theirs = await as(`Flag?patient=${p2}`);
    assert.ok(theirs.status === 403 || ids(theirs.json).length === 0, theirs.text);
    assert.deepEqual(ids((await as('Communication')).json), [notificationId]);
  });

  test('writes are refused with 405 and an OperationOutcome', async () => {
    const cases = [
      h.call('POST', '/fhir/Flag', {
        resourceType: 'Flag',
        status: 'active',
        code: { text: 'x' },
        subject: { reference: `Patient/${p1}` },
      }),
      h.call('PUT', `/fhir/Flag/${open.id}`, {
        resourceType: 'Flag',
        id: open.id,
        status: 'inactive',
        code: { text: 'x' },
        subject: { reference: `Patient/${p1}` },
      }),
      h.call('DELETE', `/fhir/Flag/${open.id}`),
      h.call('POST', '/fhir/Communication', { resourceType: 'Communication', status: 'completed' }),
      h.call('DELETE', `/fhir/Communication/${notificationId}`),
    ];
    for (const r of await Promise.all(cases)) {
      assert.equal(r.status, 405, r.text);
      assert.equal(r.json.resourceType, 'OperationOutcome');
    }
    assert.equal((await h.call('GET', `/fhir/Flag/${open.id}`)).json.status, 'active');
  });

  test('AuditEvent: the audit log through FHIR for an admin, valid R4', async () => {
    // The FHIR calls above are audited; the log is written asynchronously, so wait for a record.
    let found: Json;
    for (let i = 0; i < 50; i++) {
      found = await search('AuditEvent?_count=5');
      if (found.entry?.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(found.entry?.length, 'audit records');
    const first = found.entry[0].resource;
    assert.equal(first.resourceType, 'AuditEvent');
    assert.deepEqual(validateFhir(first as Resource), []);
    const read = await h.call('GET', `/fhir/AuditEvent/${first.id}`);
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json.id, first.id);
    assert.ok((await search('AuditEvent?date=ge2000-01-01&_count=5')).entry?.length);
    assert.equal((await search('AuditEvent?date=lt2000-01-01')).entry?.length ?? 0, 0);
    assert.equal((await search(`AuditEvent?date=${first.recorded.slice(0, 10)}`)).entry?.length > 0, true);
    assert.equal((await h.call('GET', '/fhir/AuditEvent?date=ap2026-01-01')).status, 400);
    assert.equal((await h.call('POST', '/fhir/AuditEvent', { resourceType: 'AuditEvent' })).status, 405);
    const nurse = await h.token({ roles: ['nurse'], practitionerId: 'nurse-1' });
    const denied = await h.call('GET', '/fhir/AuditEvent', undefined, { authorization: `Bearer ${nurse}` });
    assert.equal(denied.status, 403, denied.text);
  });

  test('the CapabilityStatement says these types are read-only and lists only what they answer', async () => {
    const cs = (await h.call('GET', '/fhir/metadata')).json;
    for (const type of ['Flag', 'Communication', 'AuditEvent']) {
      const r = cs.rest[0].resource.find((x: Json) => x.type === type);
      const codes = r.interaction.map((i: Json) => i.code);
      assert.ok(!codes.includes('create') && !codes.includes('update') && !codes.includes('delete'), type);
      assert.ok(codes.includes('read') && codes.includes('search-type'), type);
      assert.ok(!r.searchParam.some((p: Json) => p.name === '_lastUpdated'), type);
    }
    const flag = cs.rest[0].resource.find((x: Json) => x.type === 'Flag');
    assert.deepEqual(flag.searchParam.map((p: Json) => p.name).sort(), [
      '_id',
      'category',
      'patient',
      'status',
      'subject',
    ]);
  });
});
