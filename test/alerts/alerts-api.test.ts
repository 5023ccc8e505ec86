import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Role } from '../../src/auth/token-service.ts';
import { newId } from '../../src/core/ids.ts';
import type { Vigil } from '../../src/server.ts';
import { adminPassword, firing, signIn, startWithCareTeam, until } from './support.ts';

describe('alerts API', () => {
  let vigil: Vigil;
  let stop: () => Promise<void>;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  before(async () => {
    ({ vigil, stop } = await startWithCareTeam('vigil-alerts-api-'));
    tokens['admin'] = await signIn(vigil, 'admin', adminPassword);
    const people: Array<[string, Role[], Record<string, string>]> = [
      ['nurse', ['nurse'], { practitionerId: 'nurse-1' }],
      ['doctor', ['clinician'], { practitionerId: 'doc-1' }],
      ['outsider', ['nurse'], { practitionerId: 'nurse-elsewhere' }],
      ['patient', ['patient'], { patientId: 'pat-1' }],
    ];
    for (const [name, roles, links] of people) {
      const r = await vigil.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { authorization: `Bearer ${tokens['admin']}` },
        payload: { username: name, roles, ...links },
      });
      if (r.statusCode !== 201) throw new Error(`create user ${name}: ${r.statusCode} ${r.body}`);
      const j = r.json() as { user: { id: string }; password: string };
      ids[name] = j.user.id;
      tokens[name] = await signIn(vigil, name, j.password);
    }
  });

  after(() => stop());

  async function call(who: string, method: string, path: string, body?: unknown) {
    const res = await vigil.app.inject({
      method: method as 'GET',
      url: path,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return {
      status: res.statusCode,
      json: res.headers['content-type']?.toString().includes('json') ? res.json() : undefined,
      text: res.body,
      headers: res.headers,
    };
  }

  it('lists, shows with timeline and evidence, acts, and answers 404 / 403 / 409 clearly', async () => {
    const [raised] = await vigil.alerts.onDetections([
      firing({ conditionKey: 'news2', rule: 'news2', evidence: ['obs-a'] }),
    ]);
    assert.ok(raised);
    const list = await call('nurse', 'GET', '/api/v1/alerts?state=open&severity=high&patient=pat-1');
    assert.equal(list.status, 200);
    assert.ok(list.json.alerts.some((a: { id: string }) => a.id === raised.id));

    assert.equal(
      (await call('nurse', 'GET', `/api/v1/alerts/${newId()}`)).json.error.code,
      'VIGIL_ERR_ALERT_NOT_FOUND',
    );
    assert.equal((await call('patient', 'GET', '/api/v1/alerts')).status, 403);
    const adminAck = await call('admin', 'POST', `/api/v1/alerts/${raised.id}/acknowledge`, {});
    assert.equal(adminAck.status, 403);

    const ack = await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/acknowledge`, { note: 'seen' });
    assert.equal(ack.status, 200);
    assert.equal(ack.json.changed, true);
    assert.equal(ack.json.alert.state, 'acknowledged');
    const again = await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/acknowledge`, {});
    assert.equal(again.status, 200);
    assert.equal(again.json.changed, false);
    const loser = await call('doctor', 'POST', `/api/v1/alerts/${raised.id}/acknowledge`, {});
    assert.equal(loser.status, 409);
    assert.equal(loser.json.error.code, 'VIGIL_ERR_ALERT_ALREADY_ACKNOWLEDGED');
    assert.match(loser.json.error.message, new RegExp(ids['nurse'] as string));

    assert.equal(
      (await call('doctor', 'POST', `/api/v1/alerts/${raised.id}/snooze`, { minutes: 15 })).json.alert.state,
      'snoozed',
    );
    assert.equal(
      (await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/unsnooze`, {})).json.alert.state,
      'acknowledged',
    );
    assert.equal((await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/unsnooze`, {})).status, 409);
    assert.equal(
      (await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/assign`, { userId: ids['doctor'] })).json
        .alert.assignedTo,
      ids['doctor'],
    );
    assert.equal(
      (await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/assign`, { userId: newId() })).status,
      400,
    );
    assert.equal(
      (await call('doctor', 'POST', `/api/v1/alerts/${raised.id}/resolve`, { note: 'treated' })).json.alert
        .resolution,
      'manual',
    );
    const late = await call('nurse', 'POST', `/api/v1/alerts/${raised.id}/snooze`, { minutes: 5 });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, 'VIGIL_ERR_ALERT_RESOLVED');

    const detail = await call('doctor', 'GET', `/api/v1/alerts/${raised.id}`);
    assert.deepEqual(detail.json.evidence, ['obs-a']);
    assert.deepEqual(
      detail.json.timeline.map((e: { type: string }) => e.type),
      ['raised', 'acknowledged', 'snoozed', 'unsnoozed', 'assigned', 'resolved'],
    );
    assert.equal(detail.json.timeline[1].actor.id, ids['nurse']);
    assert.equal(detail.json.timeline[1].note, 'seen');
    assert.equal(detail.json.notifications.length, 1);
  });

  it('raises by hand, validates escalation policies and serves metrics as JSON and CSV', async () => {
    const outside = await call('doctor', 'POST', '/api/v1/alerts', {
      patientId: 'pat-2',
      severity: 'medium',
      summary: 'not my patient',
    });
    assert.equal(outside.status, 403, 'a patient outside the care team');
    const r = await call('doctor', 'POST', '/api/v1/alerts', {
      patientId: 'pat-1',
      severity: 'medium',
      summary: 'patient reports chest pain',
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.alert.rule, 'manual');
    const bad = await call('admin', 'PUT', '/api/v1/alerts/policies/high', {
      workingHoursTiers: [{ name: 'x', roles: ['nurse'], ackWithinSeconds: -1 }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'VIGIL_ERR_ALERT_POLICY_INVALID');
    assert.equal(
      (
        await call('nurse', 'PUT', '/api/v1/alerts/policies/high', {
          workingHoursTiers: [{ name: 'x', roles: ['nurse'] }],
        })
      ).status,
      403,
    );
    const ok = await call('admin', 'PUT', '/api/v1/alerts/policies/low', {
      timeZone: 'Europe/Paris',
      workingHoursTiers: [{ name: 'nurse', roles: ['nurse'], ackWithinSeconds: 600 }],
    });
    assert.equal(ok.status, 200);
    const policies = await call('nurse', 'GET', '/api/v1/alerts/policies');
    assert.equal(
      policies.json.policies.find((p: { severity: string }) => p.severity === 'low').source,
      'stored',
    );

    const m = await call('nurse', 'GET', '/api/v1/alerts/metrics');
    assert.equal(m.status, 200);
    const high = m.json.rows.find(
      (x: { severity: string; team: string }) => x.severity === 'high' && x.team === '*',
    );
    assert.ok(high.alerts >= 1);
    assert.ok(high.acknowledged >= 1);
    assert.ok(m.json.rows.some((x: { team: string }) => x.team === 'team-1'));
    const csv = await call('nurse', 'GET', '/api/v1/alerts/metrics?format=csv');
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    assert.match(csv.text.split('\r\n')[0] as string, /^severity,team,alerts,acknowledged/);
    assert.ok(m.json.burden.notifications >= high.alerts, 'each raised alert notified');
    assert.match(
      csv.text,
      /\r\nsince,until,alerts,patientDays,alertsPerPatientDay,notifications,notificationsPerPatientDay,/,
    );
  });

  it('manages webhooks (secret shown once) for admins only', async () => {
    assert.equal(
      (await call('nurse', 'POST', '/api/v1/alerts/webhooks', { url: 'https://example.org/hook' })).status,
      403,
    );
    const c = await call('admin', 'POST', '/api/v1/alerts/webhooks', {
      url: 'https://example.org/hook',
      severities: ['critical'],
    });
    assert.equal(c.status, 201);
    assert.match(c.json.secret, /^whsec_/);
    const list = await call('admin', 'GET', '/api/v1/alerts/webhooks');
    assert.equal(list.json.webhooks.length, 1);
    assert.equal(list.json.webhooks[0].secret, undefined);
    const p = await call('admin', 'PATCH', `/api/v1/alerts/webhooks/${c.json.webhook.id}`, {
      enabled: false,
    });
    assert.equal(p.json.webhook.enabled, false);
    assert.equal((await call('admin', 'DELETE', `/api/v1/alerts/webhooks/${c.json.webhook.id}`)).status, 204);
    assert.equal((await call('admin', 'GET', `/api/v1/alerts/webhooks/${c.json.webhook.id}`)).status, 404);
    assert.equal(
      (await call('admin', 'POST', '/api/v1/alerts/webhooks', { url: 'ftp://example.org/x' })).json.error
        .code,
      'VIGIL_ERR_ALERT_WEBHOOK_INVALID',
    );
  });

  it('live feed: authenticated by protocol or first message, scoped to the care team', async () => {
    const url = `ws://127.0.0.1:${vigil.httpPort}/api/v1/live`;
    const open = async (ws: WebSocket, messages: unknown[]) => {
      ws.onmessage = (e) => messages.push(JSON.parse(String(e.data)));
      await new Promise((r, j) => {
        ws.onopen = r;
        ws.onerror = j;
      });
    };
    const nurseMsgs: Array<{ type: string; alert?: { patientId: string } }> = [];
    const nurse = new WebSocket(url, ['vigil.v1', `vigil.bearer.${tokens['nurse']}`]);
    await open(nurse, nurseMsgs);
    const outsiderMsgs: Array<{ type: string }> = [];
    const outsider = new WebSocket(url);
    await open(outsider, outsiderMsgs);
    outsider.send(JSON.stringify({ type: 'auth', token: tokens['outsider'] }));
    const anonMsgs: Array<{ type: string; error?: { code: string } }> = [];
    const anon = new WebSocket(url);
    await open(anon, anonMsgs);
    anon.send(JSON.stringify({ type: 'auth', token: 'not-a-token' }));
    await until(
      () => nurseMsgs.length > 0 && outsiderMsgs.length > 0 && anonMsgs.length > 0,
      'live feed handshakes',
    );
    assert.equal(anonMsgs[0]?.error?.code, 'VIGIL_ERR_AUTH_REQUIRED');

    await vigil.alerts.onDetections([firing({ conditionKey: 'live-test', severity: 'critical' })]);
    const msg = await until(() => nurseMsgs.find((m) => m.type === 'alert'), 'a live alert');
    assert.equal(msg.alert?.patientId, 'pat-1');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(outsiderMsgs.filter((m) => m.type === 'alert').length, 0, 'not on the care team: nothing');
    nurse.close();
    outsider.close();
    anon.close();
  });
});
