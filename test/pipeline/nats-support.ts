import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { readingsStreamName } from '../../src/pipeline/nats-bus.ts';
import { testDatabaseUrl } from '../support/databases.ts';

export const natsUrl = process.env['VIGIL_TEST_NATS_URL'] || undefined;

/** Why a scaled-out test cannot run here, or false. */
export const scaledOutSkip = !natsUrl
  ? 'VIGIL_TEST_NATS_URL is not set: scaled-out (NATS JetStream) test skipped'
  : !testDatabaseUrl
    ? 'VIGIL_TEST_DATABASE_URL is not set: the scaled-out roles need a shared PostgreSQL; test skipped'
    : false;

/**
 * A NATS prefix of its own for one test run: runs on the same NATS server (other suites, other
 * checkouts) never share a stream, subject or consumer.
 */
export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** Deletes the readings stream of a test prefix (only ever a test's own). */
export async function deleteStream(prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl as string });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(readingsStreamName(prefix)).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Last stream sequence of each partition subject that has messages. */
export async function lastSeqs(prefix: string, partitions: number): Promise<Map<number, number>> {
  const nc = await connect({ servers: natsUrl as string });
  try {
    const jsm = await jetstreamManager(nc);
    const out = new Map<number, number>();
    for (let p = 0; p < partitions; p++) {
      const m = await jsm.streams
        .getMessage(readingsStreamName(prefix), { last_by_subj: `${prefix}.readings.${p}` })
        .catch(() => null);
      if (m) out.set(p, m.seq);
    }
    return out;
  } finally {
    await nc.close();
  }
}
