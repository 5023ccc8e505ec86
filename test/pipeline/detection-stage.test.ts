import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Detection } from '../../src/core/detection.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Reading } from '../../src/core/reading.ts';
import { DetectionStage } from '../../src/pipeline/detection-stage.ts';
import { MonitoringService } from '../../src/pipeline/monitoring-service.ts';
import type { Database } from '../../src/store/database.ts';
import { EngineStateRepository } from '../../src/store/engine-state-repository.ts';
import { MonitoringRepository } from '../../src/store/monitoring-repository.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { eventually } from './support.ts';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const log = createLogger('silent');

/** A custom program: SpO2 < 90 % held for 60 s (persistence survives restarts), and a 1-minute cadence. */
const program = {
  name: 'stage-test',
  title: 'Stage test',
  rules: [
    {
      id: 'spo2-low',
      kind: 'threshold',
      code: '2708-6',
      direction: 'below',
      levels: [{ value: 90, severity: 'high' }],
      persistSeconds: 60,
    },
    { id: 'oxi-gap', kind: 'missing-data', codes: ['2708-6'], expectedEveryMinutes: 1, gapMinutes: 2 },
  ],
};

let n = 0;
function spo2(value: number, sec: number, patientId: string | null = 'pat-s'): Reading {
  n++;
  const at = new Date(T0 + sec * 1000).toISOString();
  return {
    id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
    deviceId: 'oxi-s',
    patientId,
    code: '2708-6',
    codings: [],
    category: 'vital-signs',
    value,
    unit: '%',
    components: [],
    effective: at,
    received: at,
    flags: [],
    idempotencyKey: `oxi-s|t:${at}|2708-6`,
    transport: 'http',
    profile: 'test',
  };
}

function build(db: Database, clock: FakeClock, o: { tickMs?: number; ackAfterSave?: boolean } = {}) {
  const detections: Detection[] = [];
  const monitoring = new MonitoringService(new MonitoringRepository(db), clock);
  const stage = new DetectionStage({
    monitoring,
    states: new EngineStateRepository(db),
    alerting: {
      onDetections: async (d) => {
        detections.push(...d);
      },
    },
    storeDerived: async () => {},
    clock,
    log,
    tickMs: o.tickMs ?? 3_600_000,
    saveMs: 3_600_000,
    ...(o.ackAfterSave ? { ackAfterSave: true } : {}),
  });
  return { stage, monitoring, detections };
}

describeEachDatabase('detection stage', (factory) => {
  it('fires a missing-data detection from its own timer with no new data', async () => {
    const db = await factory.open();
    const clock = new FakeClock(T0);
    const { stage, monitoring, detections } = build(db, clock, { tickMs: 10 });
    await monitoring.putProgram(program, 'user:test');
    await monitoring.put('pat-s', { programs: ['stage-test'] }, 'user:test');
    await stage.start();
    await stage.submit({ readings: [spo2(97, 0)], statuses: [] });
    assert.equal(detections.length, 0);
    clock.set(T0 + 5 * 60_000); // only time passes: no submit, no explicit tick()
    const gap = await eventually('a gap detection', async () =>
      detections.find((d) => d.rule === 'missing-data'),
    );
    assert.equal(gap.conditionKey, 'gap:oxi-gap:oxi-s');
    assert.equal(gap.state, 'firing');
    assert.equal(gap.deviceId, 'oxi-s');
    await stage.stop();
  });

  it('keeps persistence windows across a restart (engine state saved at stop, restored at start)', async () => {
    const db = await factory.open();
    const clock = new FakeClock(T0);
    const first = build(db, clock);
    await first.monitoring.putProgram(program, 'user:test');
    await first.monitoring.put('pat-s', { programs: ['stage-test'] }, 'user:test');
    await first.stage.start();
    await first.stage.submit({ readings: [spo2(86, 0), spo2(87, 30)], statuses: [] });
    assert.deepEqual(first.detections, [], 'held for 30 s only: not yet');
    await first.stage.stop();
    const saved = await db.query<{ n: number }>('select count(*)::int as n from engine_state');
    assert.equal(saved[0]?.n, 1);

    const second = build(db, clock);
    await second.stage.start();
    await second.stage.submit({ readings: [spo2(86, 70)], statuses: [] });
    const fired = second.detections.filter((d) => d.conditionKey === 'threshold:2708-6:low');
    assert.equal(fired.length, 1, 'held since 0 s in the restored state: fires at 70 s');
    assert.equal(fired[0]?.severity, 'high');
    await second.stage.stop();

    // Control: without the saved state the same reading alone does not fire.
    const db2 = await factory.open();
    const fresh = build(db2, clock);
    await fresh.monitoring.putProgram(program, 'user:test');
    await fresh.monitoring.put('pat-s', { programs: ['stage-test'] }, 'user:test');
    await fresh.stage.start();
    await fresh.stage.submit({ readings: [spo2(86, 70)], statuses: [] });
    assert.deepEqual(fresh.detections, []);
    await fresh.stage.stop();
  });

  it('evaluates nothing for unattributed or un-enrolled patients and follows configuration changes at once', async () => {
    const db = await factory.open();
    const clock = new FakeClock(T0);
    const { stage, monitoring, detections } = build(db, clock);
    await monitoring.putProgram(program, 'user:test');
    await stage.start();
    await stage.submit({ readings: [spo2(80, 0, null), spo2(80, 0), spo2(80, 100)], statuses: [] });
    assert.equal(detections.length, 0);
    await monitoring.put(
      'pat-s',
      { programs: ['stage-test'], rules: { 'spo2-low': { persistSeconds: 0 } } },
      'user:test',
    );
    await stage.submit({ readings: [spo2(80, 200)], statuses: [] });
    assert.equal(detections.length, 1);
    assert.equal(detections[0]?.conditionKey, 'threshold:2708-6:low');
    await stage.stop();
  });

  it('acknowledges a batch only once the state that includes it is saved (NATS mode)', async () => {
    const db = await factory.open();
    const clock = new FakeClock(T0);
    const { stage, monitoring } = build(db, clock, { ackAfterSave: true });
    await monitoring.putProgram(program, 'user:test');
    await monitoring.put('pat-s', { programs: ['stage-test'] }, 'user:test');
    await stage.start();
    let acked = 0;
    await stage.submit({ readings: [spo2(95, 0)], statuses: [] }, () => acked++);
    assert.equal(acked, 0);
    await stage.save();
    assert.equal(acked, 1);
    const saved = await db.query<{ n: number }>('select count(*)::int as n from engine_state');
    assert.equal(saved[0]?.n, 1);
    await stage.stop();
  });

  it('refuses a wrong configuration with the field path and keeps every version', async () => {
    const db = await factory.open();
    const clock = new FakeClock(T0);
    const monitoring = new MonitoringService(new MonitoringRepository(db), clock);
    await assert.rejects(
      monitoring.put('pat-v', { programs: ['no-such'] }, 'user:a'),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'VIGIL_ERR_DETECT_CONFIG_INVALID');
        assert.match(e.message, /^monitoring\.programs\[0\]: unknown program 'no-such'/);
        return true;
      },
    );
    await assert.rejects(
      monitoring.put('pat-v', { programs: ['copd'], spo2Scale: 3 }, 'user:a'),
      /monitoring\.spo2Scale: must be 1 or 2/,
    );
    await monitoring.put('pat-v', { programs: ['copd'] }, 'user:a');
    clock.advance(1000);
    await monitoring.put('pat-v', { programs: ['copd'], spo2Scale: 1 }, 'user:b', {
      reason: 'no hypercapnia',
    });
    const h = await monitoring.history('pat-v');
    assert.deepEqual(
      h.map((v) => [v.version, v.changedBy, v.reason]),
      [
        [2, 'user:b', 'no hypercapnia'],
        [1, 'user:a', null],
      ],
    );
    await assert.rejects(monitoring.putProgram({ ...program, name: 'copd' }, 'user:a'), /built-in program/);
  });
});
