import type { WebSocket } from 'ws';
import type { Principal } from '../auth/token-service.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../store/database.ts';
import type { AlertChange } from './alert-manager.ts';
import { patientsOfPractitioner } from './care-team.ts';

interface Subscriber {
  socket: WebSocket;
  principal: Principal;
  patients: Set<string> | 'all';
  refreshedAt: number;
}

const REFRESH_MS = 30_000;

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

  constructor(db: Database, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  get size(): number {
    return this.#subs.size;
  }

  async #scope(p: Principal): Promise<Set<string> | 'all'> {
    if (p.roles.includes('admin')) return 'all';
    if (!p.practitionerId) return new Set();
    return new Set(await patientsOfPractitioner(this.#db, p.practitionerId));
  }

  async add(socket: WebSocket, principal: Principal): Promise<void> {
    const sub: Subscriber = {
      socket,
      principal,
      patients: await this.#scope(principal),
      refreshedAt: Date.now(),
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
    const now = Date.now();
    for (const s of this.#subs) {
      if (s.patients !== 'all' && now - s.refreshedAt > REFRESH_MS) this.#refresh(s, now);
      if (s.patients !== 'all' && !s.patients.has(patientId)) continue;
      try {
        s.socket.send(message);
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'live feed send failed');
      }
    }
  }

  /** Care-team scopes are re-read in the background: a send never waits for the database. */
  #refresh(s: Subscriber, now: number): void {
    s.refreshedAt = now;
    this.#scope(s.principal).then(
      (p) => {
        s.patients = p;
      },
      (err) => this.#log.warn({ err: errorMessage(err) }, 'live feed scope refresh failed'),
    );
  }

  close(): void {
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
