import type { WebSocket } from 'ws';
import type { Principal } from '../auth/token-service.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../store/database.ts';
import { defaultPatientScope, type PatientScopePolicy } from './access.ts';
import type { AlertChange } from './alert-manager.ts';

interface Subscriber {
  socket: WebSocket;
  principal: Principal;
  patients: Set<string> | 'all';
  /** Tasks (a scope re-check, the messages that arrived meanwhile) run in order on this chain. */
  chain: Promise<void>;
  /** Tasks on the chain not yet run: while > 0, a message waits its turn behind the re-check. */
  queued: number;
}

/** How often every open socket's scope is re-checked (changes made on other workers). */
export const liveRecheckMs = 5_000;

/**
 * Live feed of alert changes for the dashboard. A user receives the alerts of the patients of the
 * care teams they belong to (admins: all). Changes made on other workers arrive through the
 * alert change bus (PostgreSQL NOTIFY or NATS). Best effort: durable delivery is the outbox's job;
 * the dashboard reloads the list when it reconnects.
 */
export class LiveFeed {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #subs = new Set<Subscriber>();
  readonly #timer: NodeJS.Timeout;

  constructor(db: Database, log: Logger, recheckMs = liveRecheckMs) {
    this.#db = db;
    this.#log = log;
    this.#timer = setInterval(() => this.recheck(), recheckMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#subs.size;
  }

  #policy: PatientScopePolicy | undefined;

  /** The one access policy decides (care-team status, team and participant periods). */
  decideWith(policy: PatientScopePolicy): void {
    this.#policy = policy;
  }

  #scope(p: Principal): Promise<Set<string> | 'all'> {
    return this.#policy ? this.#policy(p) : defaultPatientScope(this.#db, p);
  }

  async add(socket: WebSocket, principal: Principal): Promise<void> {
    const sub: Subscriber = {
      socket,
      principal,
      patients: await this.#scope(principal),
      chain: Promise.resolve(),
      queued: 0,
    };
    this.#subs.add(sub);
    socket.on('close', () => this.#subs.delete(sub));
    socket.send(JSON.stringify({ type: 'ready', scope: sub.patients === 'all' ? 'all' : 'care-team' }));
  }

  /** A change committed on this worker. */
  publish(c: AlertChange): void {
    this.publishMessage(c.alert.patientId, liveMessage(c));
  }

  /** A live-feed message (JSON text) about a patient's alert: sent at once to every subscriber allowed to see it. */
  publishMessage(patientId: string, message: string): void {
    for (const s of this.#subs) {
      if (s.queued > 0) this.#enqueue(s, async () => this.#deliver(s, patientId, message));
      else this.#deliver(s, patientId, message);
    }
  }

  /**
   * Re-checks every open socket's scope now (a care team changed on this worker; the timer for
   * the others'). Messages published meanwhile wait behind the re-check, so a removal applies to
   * the very next message.
   */
  recheck(): void {
    for (const s of this.#subs) {
      this.#enqueue(s, async () => {
        try {
          s.patients = await this.#scope(s.principal);
        } catch (err) {
          // Fail closed: without an answer of the access policy, nothing but admin scope is kept.
          if (s.patients !== 'all') s.patients = new Set();
          this.#log.warn({ err: errorMessage(err) }, 'live feed scope re-check failed');
        }
      });
    }
  }

  /** Resolves when every queued re-check and message has run (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.#subs].map((s) => s.chain));
  }

  #enqueue(s: Subscriber, task: () => Promise<void>): void {
    s.queued += 1;
    s.chain = s.chain
      .then(task)
      .catch((err) => this.#log.warn({ err: errorMessage(err) }, 'live feed task failed'))
      .finally(() => {
        s.queued -= 1;
      });
  }

  #deliver(s: Subscriber, patientId: string, message: string): void {
    if (!this.#subs.has(s)) return;
    if (s.patients !== 'all' && !s.patients.has(patientId)) return;
    try {
      s.socket.send(message);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'live feed send failed');
    }
  }

  /** A message for every open socket that is not about a patient (the deployment's monitoring status). */
  broadcast(message: object): void {
    const text = JSON.stringify(message);
    for (const s of this.#subs)
      try {
        s.socket.send(text);
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'live feed send failed');
      }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#subs) s.socket.close(1001, 'server stopping');
    this.#subs.clear();
  }
}

/** The live-feed message of a change (JSON text): `{type:'alert', event, alert, notification?}`. */
export function liveMessage(c: AlertChange): string {
  return JSON.stringify({
    type: 'alert',
    event: {
      type: c.event.type,
      at: c.event.at,
      actor: c.event.actor,
      fromState: c.event.fromState,
      toState: c.event.toState,
      note: c.event.note,
    },
    alert: c.alert,
    ...(c.notification
      ? {
          notification: {
            id: c.notification.id,
            reason: c.notification.reason,
            tier: c.notification.tier,
            tierName: c.notification.tierName,
          },
        }
      : {}),
  });
}
