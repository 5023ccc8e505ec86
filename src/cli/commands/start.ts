import { loadConfig } from '../../config/config.ts';
import { startVigil } from '../../server.ts';
import { parse } from '../args.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  name: 'start',
  summary: 'start Vigil (embedded PostgreSQL and MQTT unless VIGIL_DATABASE_URL / VIGIL_MQTT_URL are set)',
  usage: 'vigil start [--demo]',
  async run(args) {
    const { values } = parse(args, { demo: { type: 'boolean' } }, this.usage);
    const config = loadConfig();
    const vigil = await startVigil(config);
    if (values.demo) {
      const demoModule = '../demo.ts';
      const { startDemo } = (await import(demoModule).catch(() => ({}))) as {
        startDemo?: (v: typeof vigil) => Promise<void>;
      };
      if (!startDemo) vigil.log.warn('demo mode is not available in this build');
      else await startDemo(vigil);
    }
    return new Promise<number>((resolve) => {
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) return;
        signalled = true;
        vigil.log.info({ signal }, 'signal received');
        const deadline = setTimeout(() => {
          vigil.log.error('graceful stop took too long; exiting');
          resolve(1);
        }, config.shutdownTimeoutMs);
        deadline.unref();
        vigil.stop().then(
          () => {
            clearTimeout(deadline);
            resolve(0);
          },
          (err) => {
            vigil.log.error({ err }, 'error while stopping');
            resolve(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
  },
};
