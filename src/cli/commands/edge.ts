import type { Resource } from '@medplum/fhirtypes';
import { indexValues } from '../../api/fhir/search/index-values.ts';
import { loadConfig } from '../../config/config.ts';
import { systemClock } from '../../core/clock.ts';
import { VigilError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { applyCentreActions } from '../../edge/centre-actions.ts';
import { EdgeGateway } from '../../edge/edge.ts';
import type { ProvisioningTarget } from '../../edge/provisioning.ts';
import { startVigil, type Vigil } from '../../server.ts';
import { FhirResourceRepository } from '../../store/fhir-resource-repository.ts';
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
      dataDir: config.dataDir,
    });
    const vigil = await startVigil(config, { log, onCommit: edge.onCommit });
    // what people did at the centre reaches the hub's alerts (its live feed, its escalation timers);
    // the centre's device list, patients and monitoring are applied to the hub's own
    edge.start(vigil.db, {
      onCentreActions: async (actions) => {
        await applyCentreActions(vigil.alerts.manager, actions, log);
      },
      provisioning: hubProvisioningTarget(vigil),
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

/**
 * How a hub applies the centre's provisioning (docs/edge.md): device caches dropped, Patient
 * resources stored with their search index, monitoring set through the monitoring service (validated,
 * detection told) — each only when the hub's differs from the centre's.
 */
export function hubProvisioningTarget(vigil: Vigil): ProvisioningTarget {
  const fhir = new FhirResourceRepository();
  // audited on the hub too: its registry and its patients' records changed by the centre's list
  const agent = { kind: 'system' as const, id: 'centre-provisioning' };
  const audit = vigil.ctx.security.audit;
  return {
    devicesChanged(ids) {
      for (const id of ids) vigil.ctx.devices.forget(id);
      if (ids.length > 0)
        audit.recordLater({
          kind: 'object-security',
          subtype: 'device-credential-provisioned',
          action: 'U',
          outcome: 'success',
          agent,
          entities: ids.map((id) => ({ type: 'Device', id })),
        });
    },
    async patient(p) {
      const resource = { ...p.resource, resourceType: 'Patient', id: p.id } as Resource;
      await vigil.db.transaction(async (sql) => {
        const cur = await fhir.read(sql, 'Patient', p.id);
        if (cur && !cur.deleted && JSON.stringify(cur.content) === JSON.stringify(p.resource)) return;
        await fhir.write(sql, {
          type: 'Patient',
          id: p.id,
          content: p.resource,
          index: indexValues('Patient', resource),
        });
        audit.recordLater({
          kind: 'rest',
          subtype: 'update',
          action: 'U',
          outcome: 'success',
          agent,
          patientId: p.id,
          entities: [{ type: 'Patient', id: p.id }],
        });
      });
    },
    async monitoring(m) {
      const cur = await vigil.pipeline.monitoring.get(m.patientId);
      if (JSON.stringify(cur?.enrolment ?? null) === JSON.stringify(m.enrolment)) return;
      if (!cur && m.enrolment === null) return;
      await vigil.pipeline.monitoring.put(m.patientId, m.enrolment, 'centre', {
        reason: `provisioned from the centre (its version ${m.version})`,
      });
      audit.recordLater({
        kind: 'rest',
        subtype: 'update',
        action: 'U',
        outcome: 'success',
        agent,
        patientId: m.patientId,
        entities: [{ type: 'Patient', id: m.patientId, description: 'monitoring configuration' }],
      });
    },
  };
}
