import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Detection } from '../../src/core/detection.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Program and alert metrics count clinical alerts apart from technical alarms (signal quality,
 * device health, data gaps), suspected CGM compression lows (clinical-reference §9: excluded from
 * aggregate metrics), measurement requests and observation tasks.
 */
describe('alert metrics: clinical alerts apart from technical alarms and compression lows', () => {
  let t: InProcess;
  let token: string;
  const at = new Date().toISOString();
  const d = (conditionKey: string, rule: string, severity: Detection['severity'], data = {}): Detection => ({
    patientId: 'p-classes',
    conditionKey,
    rule,
    state: 'firing',
    severity,
    at,
    summary: `${conditionKey} summary`,
    evidence: [],
    data,
  });

  before(async () => {
    t = await startInProcess();
    token = await t.token();
    await t.vigil.alerts.onDetections([
      d('hypertensive-crisis', 'hypertensive-crisis', 'high'),
      d('technical:oxi-1:probe-off', 'signal-quality', 'low', { class: 'technical' }),
      d('gap:bp-gap:cuff-1', 'missing-data', 'low'),
      d('device:cuff-1:battery', 'device-health', 'low'),
      d('glucose:compression-low', 'glucose', 'low', {
        class: 'compression-suspected',
        excludeFromMetrics: true,
      }),
      d('request:repeat-bp', 'hypertensive-crisis', 'info', { class: 'measurement-request' }),
      d('news2:observations-due', 'news2', 'info'),
    ]);
  });
  after(async () => t?.stop());

  const get = async (url: string) => {
    const r = await t.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as Record<string, unknown>;
  };

  it('program metrics: `alerts` are the clinical ones; the others are reported per class', async () => {
    const until = new Date(Date.now() + 60_000).toISOString();
    const m = await get(`/api/v1/program/metrics?until=${until}`);
    assert.equal(m['alerts'], 1);
    assert.deepEqual(m['alertsByClass'], {
      clinical: 1,
      technical: 3,
      compressionSuspected: 1,
      measurementRequest: 1,
      task: 1,
    });
    const bySeverity = m['acknowledgementBySeverity'] as Array<{ severity: string; alerts: number }>;
    assert.deepEqual(
      bySeverity.map((r) => [r.severity, r.alerts]),
      [['high', 1]],
      'per-severity acknowledgement of clinical alerts only',
    );
  });

  it('alert metrics: the burden keeps every alert and says how many are clinical', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    const m = await get(`/api/v1/alerts/metrics?since=${since}&until=${until}`);
    const burden = m['burden'] as { alerts: number; byClass: Record<string, number> };
    assert.equal(burden.alerts, 7);
    assert.equal(burden.byClass['clinical'], 1);
    assert.equal(burden.byClass['technical'], 3);
    assert.equal(burden.byClass['compressionSuspected'], 1);
  });
});
