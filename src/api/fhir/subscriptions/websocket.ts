import { createHash, randomBytes } from 'node:crypto';
import type { Bundle } from '@medplum/fhirtypes';
import type { WebSocket } from 'ws';
import type { Clock } from '../../../core/clock.ts';

/** How long a `$get-ws-binding-token` token may be used to bind a socket (it binds once). */
export const bindingTokenMs = 60_000;
/** Subscriptions one socket may be bound to. */
export const maxBindingsPerSocket = 20;

interface Binding {
  /** The caller the token was issued to (owner key) and whether it may bind any subscription (admin). */
  ownerId: string;
  anyOwner: boolean;
  subscriptionId: string;
  expiresAtMs: number;
}

// Only a hash of each token is kept: the token itself is in the caller's answer and nowhere else.
const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * The websocket channel of FHIR Subscriptions (R4 Backport IG): short-lived binding tokens, each
 * tied to the caller and one subscription, and the sockets bound with them. Tokens and sockets live
 * in this process: a token binds on the worker that issued it, and notifications reach the sockets
 * of the process that delivers the outbox (one process: role `all`). docs/fhir.md (Subscriptions).
 */
export class WebSocketBindings {
  readonly #clock: Clock;
  readonly #tokens = new Map<string, Binding>();
  readonly #sockets = new Map<string, Set<WebSocket>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A new token for the owner and subscription, with its expiry (ms since the epoch). */
  issue(ownerId: string, anyOwner: boolean, subscriptionId: string): { token: string; expiresAtMs: number } {
    const now = this.#clock.now();
    for (const [k, b] of this.#tokens) if (b.expiresAtMs <= now) this.#tokens.delete(k);
    const token = randomBytes(32).toString('base64url');
    const expiresAtMs = now + bindingTokenMs;
    this.#tokens.set(hashOf(token), { ownerId, anyOwner, subscriptionId, expiresAtMs });
    return { token, expiresAtMs };
  }

  /** Takes a token (once): its owner and subscription, or undefined if unknown or expired. */
  take(token: string): Omit<Binding, 'expiresAtMs'> | undefined {
    const key = hashOf(token);
    const b = this.#tokens.get(key);
    if (!b) return undefined;
    this.#tokens.delete(key);
    if (b.expiresAtMs <= this.#clock.now()) return undefined;
    return { ownerId: b.ownerId, anyOwner: b.anyOwner, subscriptionId: b.subscriptionId };
  }

  bind(subscriptionId: string, socket: WebSocket): void {
    let set = this.#sockets.get(subscriptionId);
    if (!set) {
      set = new Set();
      this.#sockets.set(subscriptionId, set);
    }
    set.add(socket);
  }

  unbind(socket: WebSocket): void {
    for (const [id, set] of this.#sockets) {
      set.delete(socket);
      if (set.size === 0) this.#sockets.delete(id);
    }
  }

  /** Forgets the bindings of a deleted subscription (its sockets stay open for their other bindings). */
  drop(subscriptionId: string): void {
    this.#sockets.delete(subscriptionId);
  }

  bound(subscriptionId: string): number {
    return this.#sockets.get(subscriptionId)?.size ?? 0;
  }

  /** Sends a notification Bundle to every socket bound to the subscription: how many got it. */
  send(subscriptionId: string, bundle: Bundle): number {
    const text = JSON.stringify(bundle);
    let sent = 0;
    for (const s of this.#sockets.get(subscriptionId) ?? []) {
      if (s.readyState !== s.OPEN) continue;
      try {
        s.send(text);
        sent += 1;
      } catch {
        /* a closing socket: its close handler unbinds it */
      }
    }
    return sent;
  }
}
