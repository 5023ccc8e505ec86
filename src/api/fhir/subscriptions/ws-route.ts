import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../context.ts';
import { outcome } from '../outcomes.ts';
import { maxBindingsPerSocket } from './websocket.ts';

/** A socket that binds nothing within this time is closed. */
export const bindWithinMs = 10_000;

const refusal = (details: string) =>
  JSON.stringify(outcome('error', 'security', details, undefined, 'VIGIL_ERR_FHIR_SUBSCRIPTION_BINDING'));

/**
 * GET /fhir/ws: the websocket channel of FHIR Subscriptions (R4 Backport IG). The client sends
 * `bind-with-token <token>` (a token of `Subscription/<id>/$get-ws-binding-token`, never in the URL)
 * and receives that subscription's handshake, then its heartbeat and event-notification Bundles.
 * A token that is unknown, expired or used is refused and the socket closed (4401).
 * Needs @fastify/websocket registered on `app`.
 */
export function fhirWebSocketRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/fhir/ws', { websocket: true }, (socket) => {
    const subs = ctx.subscriptions;
    if (!subs) {
      socket.send(refusal('Subscriptions are not enabled on this worker'));
      socket.close(4404, 'not enabled');
      return;
    }
    let bindings = 0;
    const timer = setTimeout(() => {
      if (bindings === 0) socket.close(4401, 'bind within 10 s');
    }, bindWithinMs);
    timer.unref();
    socket.on('close', () => {
      clearTimeout(timer);
      subs.ws.unbind(socket);
    });
    // Messages are handled one after another (a bind answers its handshake before the next).
    let chain = Promise.resolve();
    socket.on('message', (data) => {
      chain = chain.then(async () => {
        const text = String(data).trim();
        const m = /^bind-with-token\s+(\S{1,200})$/.exec(text);
        if (!m) {
          socket.send(refusal("messages are 'bind-with-token <token>'"));
          return;
        }
        const handshake =
          bindings < maxBindingsPerSocket ? await subs.bindWithToken(m[1] as string, socket) : undefined;
        if (!handshake) {
          socket.send(refusal('the binding token is unknown, expired or used'));
          if (bindings === 0) socket.close(4401, 'unauthorized');
          return;
        }
        bindings += 1;
        socket.send(JSON.stringify(handshake));
      });
      chain = chain.catch(() => socket.close(1011, 'server error'));
    });
  });
}
