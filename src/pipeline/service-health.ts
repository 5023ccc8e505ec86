/**
 * Is monitoring working? Every process beats into `service_heartbeat` (role, when it last committed
 * readings, how far its detection has got); any api worker reads the rows and answers one status for
 * the whole deployment, shown on the dashboard and pushed on the live feed:
 *
 * - `stopped`: readings are being committed but no process that evaluates them has beaten within
 *   `staleMs` ("detection stopped since 10:42"), or this is known for the ingest side likewise;
 * - `delayed`: readings were committed more than `delayMs` after the newest reading detection has
 *   evaluated was received ("monitoring delayed since 10:42": what arrived after 10:42 is not yet
 *   checked by the rules);
 * - `ok` otherwise (also when nothing arrives at all: silence is the missing-data rules' job).
 *
 * The beat is one small upsert every `beatMs` per process; the hot path only keeps two maxima.
 */
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Reading } from '../core/reading.ts';
import type { Database } from '../store/database.ts';

export type MonitoringState = 'ok' | 'delayed' | 'stopped' | 'unknown';

export interface ServiceStatus {
  state: MonitoringState;
  /** ISO time since when monitoring is delayed or stopped. */
  since: string | null;
  message: string;
  checkedAt: string;
  processes: Array<{ role: string; beatAt: string; alive: boolean }>;
}

const detectRoles = new Set(['all', 'detect']);
const ingestRoles = new Set(['all', 'ingest']);

export class ServiceHealth {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #role: string;
  readonly #startedAt: string;
  readonly beatMs: number;
  readonly staleMs: number;
  readonly delayMs: number;
  #lastCommitted = 0;
  #evaluatedReceived = 0;
  #evaluatedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: {
    db: Database;
    clock: Clock;
    log: Logger;
    instance: string;
    role: string;
    beatMs?: number;
    staleMs?: number;
    delayMs?: number;
  }) {
    this.#db = o.db;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#instance = o.instance;
    this.#role = o.role;
    this.#startedAt = new Date(o.clock.now()).toISOString();
    this.beatMs = o.beatMs ?? 5_000;
    this.staleMs = o.staleMs ?? 3 * this.beatMs + 5_000;
    this.delayMs = o.delayMs ?? 60_000;
  }

  /** BatchWriter listener: readings committed by this process. */
  readonly onCommitted = (readings: readonly Reading[]): void => {
    // Only what detection will evaluate: attributed readings, not Vigil's own derived ones
    // (unattributed readings are evaluated when an assignment covers them).
    if (readings.some((r) => r.patientId !== null && r.transport !== 'derived' && r.transport !== 'edge'))
      this.#lastCommitted = this.#clock.now();
  };

  /** Detection stage listener: a batch evaluated. */
  readonly onEvaluated = (batch: { readings: readonly Reading[] }): void => {
    const last = batch.readings[batch.readings.length - 1];
    if (!last) return;
    const received = Date.parse(last.received);
    if (Number.isFinite(received) && received > this.#evaluatedReceived) this.#evaluatedReceived = received;
    this.#evaluatedAt = this.#clock.now();
  };

  start(): void {
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.beatMs);
    this.#timer.unref();
  }

  /**
   * Stops beating. The row stays: a stage that was stopped on purpose has stopped all the same, and
   * the status says so until another process of that role beats (rows older than a day are dropped).
   */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async beat(): Promise<void> {
    const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
    try {
      await this.#db.query(
        `insert into service_heartbeat (instance, role, started_at, beat_at, last_committed_at, evaluated_received_at, evaluated_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (instance) do update set beat_at = excluded.beat_at,
           last_committed_at = coalesce(excluded.last_committed_at, service_heartbeat.last_committed_at),
           evaluated_received_at = coalesce(excluded.evaluated_received_at, service_heartbeat.evaluated_received_at),
           evaluated_at = coalesce(excluded.evaluated_at, service_heartbeat.evaluated_at)`,
        [
          this.#instance,
          this.#role,
          this.#startedAt,
          new Date(this.#clock.now()).toISOString(),
          iso(this.#lastCommitted),
          iso(this.#evaluatedReceived),
          iso(this.#evaluatedAt),
        ],
      );
      if (Math.random() < 0.01)
        await this.#db.query('delete from service_heartbeat where beat_at < $1', [
          new Date(this.#clock.now() - 24 * 3600_000).toISOString(),
        ]);
    } catch (e) {
      this.#log.warn({ event: 'heartbeat-failed', err: errorMessage(e) }, 'service heartbeat not written');
    }
  }

  /** The deployment's monitoring status, from every process's last beat. */
  async status(): Promise<ServiceStatus> {
    const now = this.#clock.now();
    const checkedAt = new Date(now).toISOString();
    let rows: Array<{
      role: string;
      beat_at: unknown;
      last_committed_at: unknown;
      evaluated_received_at: unknown;
    }>;
    try {
      rows = await this.#db.query(
        `select role, beat_at, last_committed_at, evaluated_received_at from service_heartbeat
         where beat_at > $1 order by beat_at desc`,
        [new Date(now - 24 * 3600_000).toISOString()],
      );
    } catch (e) {
      return {
        state: 'unknown',
        since: null,
        message: `status unavailable: ${errorMessage(e)}`,
        checkedAt,
        processes: [],
      };
    }
    const ms = (v: unknown) => (v == null ? 0 : v instanceof Date ? v.getTime() : Date.parse(String(v)));
    const procs = rows.map((r) => ({
      role: r.role,
      beatAt: ms(r.beat_at),
      committed: ms(r.last_committed_at),
      evaluatedReceived: ms(r.evaluated_received_at),
      alive: now - ms(r.beat_at) <= this.staleMs,
    }));
    const processes = procs.map((p) => ({
      role: p.role,
      beatAt: new Date(p.beatAt).toISOString(),
      alive: p.alive,
    }));
    // What live processes committed (a dead process's last commit says nothing about now: its
    // absence is the `stopped` check's concern); how far any detector has got, alive or not.
    const lastCommitted = Math.max(0, ...procs.filter((p) => p.alive).map((p) => p.committed));
    const detectors = procs.filter((p) => detectRoles.has(p.role));
    const aliveDetectors = detectors.filter((p) => p.alive);
    const evaluated = Math.max(0, ...detectors.map((p) => p.evaluatedReceived));
    const fmt = (t: number) => new Date(t).toISOString();
    if (lastCommitted > 0 && detectors.length > 0 && aliveDetectors.length === 0) {
      const since = Math.max(...detectors.map((p) => p.beatAt));
      return {
        state: 'stopped',
        since: fmt(since),
        message: 'new readings are stored but not checked by the rules',
        checkedAt,
        processes,
      };
    }
    const ingesters = procs.filter((p) => ingestRoles.has(p.role));
    if (ingesters.length > 0 && !ingesters.some((p) => p.alive)) {
      const since = Math.max(...ingesters.map((p) => p.beatAt));
      return {
        state: 'stopped',
        since: fmt(since),
        message: 'devices cannot deliver readings (ingest has stopped)',
        checkedAt,
        processes,
      };
    }
    if (lastCommitted > 0 && lastCommitted - Math.max(evaluated, 0) > this.delayMs) {
      const since = evaluated > 0 ? evaluated : lastCommitted;
      return {
        state: 'delayed',
        since: fmt(since),
        message: 'readings that arrived since then are not yet checked by the rules',
        checkedAt,
        processes,
      };
    }
    return {
      state: procs.length ? 'ok' : 'unknown',
      since: null,
      message: procs.length ? 'monitoring is running' : 'no process has reported yet',
      checkedAt,
      processes,
    };
  }
}
