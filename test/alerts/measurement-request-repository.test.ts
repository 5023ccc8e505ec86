import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requestChange } from '../../src/alerts/measurement-requests.ts';
import type { Detection } from '../../src/core/detection.ts';
import { MeasurementRequestRepository } from '../../src/store/measurement-request-repository.ts';
import { describeEachDatabase } from '../support/databases.ts';

/** The detections detection emits for one request (src/detect/measurement-request.ts), by hand. */
function requestDetection(
  state: 'firing' | 'cleared',
  status: string,
  extra: Record<string, unknown> = {},
): Detection {
  return {
    patientId: 'p-mr',
    conditionKey: 'request:reweigh',
    rule: 'weight-gain',
    state,
    severity: 'info',
    at: state === 'firing' ? '2026-03-01T07:00:00.000Z' : '2026-03-01T07:04:00.000Z',
    summary: state === 'firing' ? 'Weight 71.6 kg: re-weigh requested' : 'Re-weigh: request fulfilled',
    evidence: ['r-1'],
    data: {
      ruleId: 'weight-gain',
      class: 'measurement-request',
      request: 'reweigh',
      code: '29463-7',
      trigger: 'r-1',
      requestedAt: '2026-03-01T07:00:00.000Z',
      after: '2026-03-01T07:00:00.000Z',
      dueBy: '2026-03-01T08:00:00.000Z',
      outcome: status === 'open' ? 'requested' : 'not-confirmed',
      status,
      ...extra,
    },
  };
}

describeEachDatabase('measurement request repository', (factory) => {
  it('opens once however often a detection is redelivered, closes only what is open, lists by status', async () => {
    const repo = new MeasurementRequestRepository(await factory.open());
    const now = '2026-03-01T07:00:01.000Z';
    const open = requestChange(requestDetection('firing', 'open', { instruction: 'Weigh again' }));
    assert.ok(open);
    await repo.apply([open], now);
    await repo.apply([requestChange(requestDetection('firing', 'open')) as NonNullable<typeof open>], now);
    let all = await repo.list('p-mr');
    assert.equal(all.length, 1);
    assert.equal(all[0]?.status, 'open');
    assert.equal(all[0]?.instruction, 'Weigh again');
    const close = requestChange(requestDetection('cleared', 'fulfilled', { fulfilledBy: 'r-2' }));
    assert.ok(close?.close);
    await repo.apply([close], now);
    // A later, different close of the same request (a redelivery out of order) changes nothing.
    await repo.apply(
      [requestChange(requestDetection('cleared', 'expired')) as NonNullable<typeof close>],
      now,
    );
    all = await repo.list('p-mr');
    assert.equal(all.length, 1);
    assert.equal(all[0]?.status, 'fulfilled');
    assert.equal(all[0]?.fulfilledBy, 'r-2');
    assert.equal(all[0]?.closedAt, '2026-03-01T07:04:00.000Z');
    assert.equal(all[0]?.instruction, 'Weigh again', 'the instruction of the open is kept');
    assert.deepEqual(await repo.list('p-mr', { status: ['open'] }), []);
    assert.equal((await repo.list('p-mr', { status: ['fulfilled', 'expired'] })).length, 1);
  });

  it('a close whose open was never recorded records the request closed', async () => {
    const repo = new MeasurementRequestRepository(await factory.open());
    const d = requestDetection('cleared', 'expired', { trigger: 'r-9' });
    await repo.apply(
      [requestChange(d) as NonNullable<ReturnType<typeof requestChange>>],
      '2026-03-01T08:00:00Z',
    );
    const [m] = await repo.list('p-mr', { status: ['expired'] });
    assert.equal(m?.triggerReadingId, 'r-9');
    assert.equal(m?.fulfilledBy, null);
  });

  it('other detections and request detections missing a field are not requests', () => {
    assert.equal(
      requestChange({ ...requestDetection('firing', 'open'), data: { class: 'technical' } }),
      null,
    );
    assert.equal(requestChange(requestDetection('firing', 'open', { trigger: undefined })), null);
    assert.equal(requestChange(requestDetection('firing', 'bogus')), null);
  });

  it('erasure removes a patient’s requests', async () => {
    const db = await factory.open();
    const repo = new MeasurementRequestRepository(db);
    await repo.apply(
      [requestChange(requestDetection('firing', 'open')) as NonNullable<ReturnType<typeof requestChange>>],
      '2026-03-01T07:00:00Z',
    );
    const removed = await db.transaction((tx) => MeasurementRequestRepository.erase(tx, 'p-mr'));
    assert.ok((removed['measurementRequests'] ?? 0) >= 1);
    assert.deepEqual(await repo.list('p-mr'), []);
  });
});
