import type { Actor } from '../alerts/alert.ts';
import type { AlertManager } from '../alerts/alert-manager.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { CentreAction } from './wire.ts';

/**
 * Applies what people did at the centre to the hub's own alerts (its live feed, its escalation
 * timers stop). An action the hub's alert cannot take (already resolved) is logged; the centre sends
 * it again only until the hub reports that state or a later one.
 */
export async function applyCentreActions(
  manager: Pick<AlertManager, 'act'>,
  actions: readonly CentreAction[],
  log: Logger,
): Promise<number> {
  let applied = 0;
  for (const a of actions) {
    const actor: Actor = { kind: 'system', id: 'centre', ...(a.by ? { name: `centre:${a.by}` } : {}) };
    const action =
      a.type === 'resolve'
        ? { type: 'resolve' as const, note: 'resolved at the centre' }
        : { type: 'acknowledge' as const, note: 'acknowledged at the centre' };
    try {
      const { event } = await manager.act(a.alertId, action, actor);
      if (event) applied += 1;
    } catch (err) {
      log.warn({ err: errorMessage(err), alertId: a.alertId }, 'centre action not applied');
    }
  }
  return applied;
}
