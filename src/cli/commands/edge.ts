import { loadConfig } from '../../config/config.ts';
import { systemClock } from '../../core/clock.ts';
import { VigilError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { applyCentreActions } from '../../edge/centre-actions.ts';
import { EdgeGateway } from '../../edge/edge.ts';
import { startVigil } from '../../server.ts';
import { parse } from '../args.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  name: 'edge',
  summary:
    'run as an edge gateway on a hub: local ingest and detection, store-and-forward to the centre (VIGIL_EDGE_*)',
  usage: 'vigil edge',
  async run(args) {
    parse(args, {}, this.usage);
    const config = loadConfig();
    if (!config.edge)
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        'vigil edge needs VIGIL_EDGE_CENTRE_URL, VIGIL_EDGE_GATEWAY_ID and VIGIL_EDGE_GATEWAY_SECRET (docs/edge.md)',
        1,
      );
    // One process with embedded defaults: the queue's order and durability are those of PGlite.
    for (const [name, set] of [
      ['VIGIL_DATABASE_URL', config.databaseUrl],
      ['VIGIL_NATS_URL', config.natsUrl],
    ] as const)
      if (set)
        throw new VigilError(
          'VIGIL_ERR_CONFIG_INVALID',
          `vigil edge runs on its embedded database and bus: unset ${name}`,
          1,
        );
    if (config.role !== 'all')
      throw new VigilError('VIGIL_ERR_CONFIG_INVALID', 'vigil edge is one process: unset VIGIL_ROLE', 1);
    const log = createLogger(config.logLevel);
    const edge = new EdgeGateway({
      config: config.edge,
      log: log.child({ component: 'edge' }),
      clock: systemClock,
    });
    const vigil = await startVigil(config, { log, onCommit: edge.onCommit });
    // what people did at the centre reaches the hub's alert (its live feed, its escalation timers)
    // what people did at the centre reaches the hub's alerts
    edge.start(vigil.db, {
      onCentreActions: async (actions) => {
        await applyCentreActions(vigil.alerts.manager, actions, log);
      },
    });
    process.stdout.write(
      `  Edge gateway            ${config.edge.gatewayId} forwarding to ${config.edge.centreUrl}\n`,
    );
    return new Promise<number>((resolve) => {
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) return;
        signalled = true;
        log.info({ signal }, 'signal received');
        const deadline = setTimeout(() => {
          log.error('graceful stop took too long; exiting');
          resolve(1);
        }, config.shutdownTimeoutMs);
        deadline.unref();
        // the forwarder first (an unanswered request leaves its records queued), then the server,
        // which commits what was accepted and so queues it for the next start
        edge
          .stop()
          .then(() => vigil.stop())
          .then(
            () => {
              clearTimeout(deadline);
              resolve(0);
            },
            (err) => {
              log.error({ err }, 'error while stopping');
              resolve(1);
            },
          );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
  },
};
