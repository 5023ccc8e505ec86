import type { Observation } from '@medplum/fhirtypes';
import type { Reading } from '../../core/reading.ts';
import { observationToReading } from '../../normalize/fhir-observation.ts';
import type { Database, Sql } from '../../store/database.ts';

/** Readings stored through FHIR in a transaction not yet committed, by transaction. */
const pending = new WeakMap<Sql, Reading[]>();

/**
 * Notes an Observation just written in transaction `sql` for detection: handed to the pipeline once
 * the transaction commits (never for a rollback). An Observation the rules cannot read (a code Vigil
 * does not know, no time) is stored but not evaluated, as at ingest.
 */
export function noteStoredObservation(sql: Sql, obs: Observation, id: string, received: string): void {
  let reading: Reading;
  try {
    reading = observationToReading(
      { ...obs, id, resourceType: 'Observation' },
      { transport: 'fhir', received, id, deviceId: 'fhir' },
    );
  } catch {
    return;
  }
  if (reading.patientId === null) return;
  const list = pending.get(sql);
  if (list) list.push(reading);
  else pending.set(sql, [reading]);
}

/**
 * The database as FHIR handlers see it: each transaction, once committed, hands the Observations
 * stored in it to `onStored` (the detection pipeline), in the order they were written; before it
 * commits, to `beforeCommit` (FHIR Subscription events, stored atomically with them).
 */
export function withStoredReadings(
  db: Database,
  onStored: () => ((readings: Reading[]) => void) | undefined,
  beforeCommit: () => ((sql: Sql, readings: Reading[]) => Promise<void>) | undefined = () => undefined,
): Database {
  return {
    kind: db.kind,
    query: (text, params) => db.query(text, params),
    exec: (text) => db.exec(text),
    ping: () => db.ping(),
    close: () => db.close(),
    ...(db.listen ? { listen: db.listen.bind(db) } : {}),
    async transaction(fn) {
      let key: Sql | undefined;
      const out = await db.transaction(async (tx) => {
        key = tx;
        const result = await fn(tx);
        const stored = pending.get(tx);
        if (stored?.length) await beforeCommit()?.(tx, stored);
        return result;
      });
      const readings = key ? pending.get(key) : undefined;
      if (key) pending.delete(key);
      if (readings?.length) onStored()?.(readings);
      return out;
    },
  };
}
