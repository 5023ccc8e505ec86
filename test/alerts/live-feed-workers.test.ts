import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { Alerting } from '../../src/alerts/alerting.ts';
import type { Principal } from '../../src/auth/token-service.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { PostgresDatabase } from '../../src/store/postgres/postgres-database.ts';
import { eventually } from '../pipeline/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { firing, seedCareTeam } from './support.ts';

interface LiveMessage {
  type: string;
  alert?: { id: string; patientId: string; state: string; evidence: string[] };
  event?: { type: string };
}

/** A WebSocket as the live feed uses it: records what it is sent. */
function fakeSocket(): { socket: WebSocket; messages: LiveMessage[] } {
  const messages: LiveMessage[] = [];
  const socket = {
    send: (m: string) => messages.push(JSON.parse(m) as LiveMessage),
    on: () => {},
    close: () => {},
  } as unknown as WebSocket;
  return { socket, messages };
}

const admin: Principal = { kind: 'user', id: 'u-admin', roles: ['admin'], scopes: [] };
const nurse: Principal = {
  kind: 'user',
  id: 'u-nurse',
  roles: ['nurse'],
  scopes: [],
  practitionerId: 'nurse-1',
};
const log = createLogger('silent');

describe('live feed across workers [postgres]', {
  skip: testDatabaseUrl ? false : 'VIGIL_TEST_DATABASE_URL is not set: two-worker live feed test skipped',
}, () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  async function workers() {
    const fresh = await createFreshPostgresDatabase();
    closers.push(fresh.drop);
    // Two workers: each its own connection pool and its own Alerting, one PostgreSQL database.
    const dbA = await PostgresDatabase.open(fresh.url, { max: 3 });
    closers.push(() => dbA.close());
    await migrate(dbA);
    const dbB = await PostgresDatabase.open(fresh.url, { max: 3 });
    closers.push(() => dbB.close());
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const a = new Alerting({ db: dbA, clock, log, pollIntervalMs: 3_600_000 });
    const b = new Alerting({ db: dbB, clock, log, pollIntervalMs: 3_600_000 });
    for (const w of [a, b]) {
      w.start();
      closers.push(() => w.stop());
      await w.ready;
    }
    assert.equal(a.bus?.kind, 'postgres');
    await seedCareTeam(dbA);
    return { a, b };
  }

  it("a change committed on one worker reaches the other worker's live feed, once, in order", async () => {
    const { a, b } = await workers();
    const onA = fakeSocket();
    const onB = fakeSocket();
    const nurseOnB = fakeSocket();
    await a.live.add(onA.socket, admin);
    await b.live.add(onB.socket, admin);
    await b.live.add(nurseOnB.socket, nurse);

    const [raised] = await a.onDetections([firing()]);
    assert.ok(raised);
    const seen = await eventually('the raise on worker B', async () =>
      onB.messages.find((m) => m.type === 'alert' && m.alert?.id === raised.id),
    );
    assert.equal(seen.alert?.state, 'open');
    assert.equal(seen.event?.type, 'raised');

    // The other way round: acknowledged on B, heard on A.
    await b.manager.act(raised.id, { type: 'acknowledge' }, { kind: 'user', id: 'u-nurse' });
    await eventually('the acknowledgement on worker A', async () =>
      onA.messages.find((m) => m.event?.type === 'acknowledged'),
    );
    const events = (msgs: LiveMessage[]) => msgs.filter((m) => m.type === 'alert').map((m) => m.event?.type);
    assert.deepEqual(events(onA.messages), ['raised', 'acknowledged'], 'no echo of its own change');
    await eventually('both events on B', async () => events(onB.messages).length === 2 || undefined);
    assert.deepEqual(events(onB.messages), ['raised', 'acknowledged']);
    // The care-team scope applies to remote changes too: the nurse of pat-1's team sees them.
    assert.deepEqual(events(nurseOnB.messages), ['raised', 'acknowledged']);

    // A patient outside the nurse's care teams: the admin on B hears of it, the nurse does not.
    const [other] = await a.onDetections([firing({ patientId: 'pat-2', conditionKey: 'other' })]);
    assert.ok(other);
    await eventually('pat-2 on B', async () => onB.messages.find((m) => m.alert?.id === other.id));
    assert.equal(
      nurseOnB.messages.some((m) => m.alert?.id === other.id),
      false,
    );
  });

  it('a change too large for a NOTIFY payload is read back by the receiving worker', async () => {
    const { a, b } = await workers();
    const onB = fakeSocket();
    await b.live.add(onB.socket, admin);
    const evidence = Array.from(
      { length: 400 },
      (_, i) => `0193a4c2-0000-7000-8000-${String(i).padStart(12, '0')}`,
    );
    const [raised] = await a.onDetections([firing({ conditionKey: 'big', evidence })]);
    assert.ok(raised);
    const seen = await eventually('the large change on B', async () =>
      onB.messages.find((m) => m.alert?.id === raised.id),
    );
    assert.equal(seen.event?.type, 'raised');
    assert.equal(seen.alert?.evidence.length, 400);
  });
});

const natsUrl = process.env['VIGIL_TEST_NATS_URL'] || undefined;

describe('live feed across workers [nats]', {
  skip: natsUrl ? false : 'VIGIL_TEST_NATS_URL is not set: NATS live feed test skipped',
}, () => {
  it('with VIGIL_NATS_URL the changes travel on NATS', async () => {
    const { PgliteDatabase } = await import('../../src/store/pglite/pglite-database.ts');
    const db = await PgliteDatabase.open();
    await migrate(db);
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const prefix = `test${Date.now().toString(36)}`;
    const opts = { db, clock, log, pollIntervalMs: 3_600_000, natsUrl, natsPrefix: prefix };
    const a = new Alerting(opts);
    const b = new Alerting(opts);
    try {
      for (const w of [a, b]) {
        w.start();
        await w.ready;
      }
      assert.equal(a.bus?.kind, 'nats');
      const onA = fakeSocket();
      const onB = fakeSocket();
      await a.live.add(onA.socket, admin);
      await b.live.add(onB.socket, admin);
      const [raised] = await a.onDetections([firing()]);
      assert.ok(raised);
      const seen = await eventually('the raise on worker B', async () =>
        onB.messages.find((m) => m.alert?.id === raised.id),
      );
      assert.equal(seen.event?.type, 'raised');
      assert.equal(onA.messages.filter((m) => m.alert?.id === raised.id).length, 1, 'no echo');
    } finally {
      await a.stop();
      await b.stop();
      await db.close();
    }
  });
});
