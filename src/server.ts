import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AdtService } from './adt/adt-service.ts';
import { setPatientAccessPolicy } from './alerts/access.ts';
import { AckLinks } from './alerts/ack-links.ts';
import { Alerting } from './alerts/alerting.ts';
import { BreakGlassNotices } from './alerts/break-glass-notices.ts';
import type { ContactChannel } from './alerts/contact-channel.ts';
import { DirectNotifier } from './alerts/direct-notifier.ts';
import { EmailChannel } from './alerts/email-channel.ts';
import { type Notifier, RecordingNotifier } from './alerts/notifier.ts';
import { loadVapidKeys, PushChannel } from './alerts/push-channel.ts';
import { SmsChannel } from './alerts/sms-channel.ts';
import { buildApp, type RoutePlugin } from './api/app.ts';
import type { ApiContext } from './api/context.ts';
import { fhirRoutes } from './api/fhir/http.ts';
import { ResourceStore } from './api/fhir/resource-store.ts';
import { Subscriptions } from './api/fhir/subscriptions/subscriptions.ts';
import { adherenceRoutes } from './api/routes/adherence.ts';
import { alarmBurdenRoutes } from './api/routes/alarm-burden.ts';
import { alarmSettingsRoutes } from './api/routes/alarm-settings.ts';
import { alertRoutes } from './api/routes/alerts.ts';
import { breakGlassRoutes } from './api/routes/break-glass.ts';
import { cohortRoutes } from './api/routes/cohorts.ts';
import { dashboardRoutes } from './api/routes/dashboard.ts';
import { deviceModelRoutes } from './api/routes/device-models.ts';
import { edgeGatewayRoutes } from './api/routes/edge-gateway.ts';
import { equipmentRoutes } from './api/routes/equipment.ts';
import { erasureRequestRoutes } from './api/routes/erasure-requests.ts';
import { invitationRoutes } from './api/routes/invitations.ts';
import { lorawanRoutes } from './api/routes/lorawan.ts';
import { measurementRequestRoutes } from './api/routes/measurement-requests.ts';
import { monitoringRoutes } from './api/routes/monitoring.ts';
import { nightscoutRoutes } from './api/routes/nightscout.ts';
import { notificationRoutes } from './api/routes/notifications.ts';
import { oidcRoutes } from './api/routes/oidc.ts';
import { passkeyRoutes } from './api/routes/passkeys.ts';
import { patientCoverageRoutes } from './api/routes/patient-coverage.ts';
import { patientDeviceRoutes } from './api/routes/patient-devices.ts';
import { patientEntryRoutes } from './api/routes/patient-entry.ts';
import { programRoutes } from './api/routes/program.ts';
import { scimRoutes } from './api/routes/scim.ts';
import { serviceStatusRoutes } from './api/routes/service-status.ts';
import { smartRoutes } from './api/routes/smart.ts';
import { vendorTemplateRoutes } from './api/routes/vendor-templates.ts';
import { webRoutes } from './api/routes/web.ts';
import { createSecurity, startRetentionSchedule } from './api/security.ts';
import { bootstrapAdmin } from './auth/bootstrap-admin.ts';
import { TokenService } from './auth/token-service.ts';
import type { Config } from './config/config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { errorMessage, VigilError } from './core/errors.ts';
import { newId } from './core/ids.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics, type Metrics } from './core/metrics.ts';
import type { DeviceStatusReport, Reading } from './core/reading.ts';
import { configureSecretBox, loadSecretsKey, SecretBox } from './core/secret-box.ts';
import { SqlDeviceLookup } from './devices/device-lookup.ts';
import { DeviceService, SqlPatientDirectory } from './devices/device-service.ts';
import { EquipmentService } from './devices/equipment-service.ts';
import { BatchWriter } from './ingest/batch-writer.ts';
import { DeviceTouchThrottle } from './ingest/device-touch.ts';
import { MllpServer } from './ingest/hl7v2/mllp-server.ts';
import { IngestService } from './ingest/ingest-service.ts';
import { DynsecProvisioner } from './ingest/mqtt/dynsec.ts';
import { EmbeddedBroker } from './ingest/mqtt/embedded-broker.ts';
import { ExternalBrokerClient } from './ingest/mqtt/external-broker-client.ts';
import { NightscoutCredentials } from './ingest/nightscout/nightscout-credentials.ts';
import { VendorTemplateResolver } from './ingest/vendor-templates.ts';
import { readingToObservation } from './normalize/fhir-observation.ts';
import { normalize } from './normalize/normalize.ts';
import type { PatientIdentifier } from './normalize/profiles/hl7v2-cx.ts';
import { inspectPcd01 } from './normalize/profiles/hl7v2-pcd01.ts';
import { storedTemplateRegistry } from './normalize/profiles/template.ts';
import { AlarmSettingsService } from './pipeline/alarm-settings-service.ts';
import { DeviceAlarmStage } from './pipeline/device-alarms.ts';
import { createPipeline, type Pipeline } from './pipeline/pipeline.ts';
import { ServiceHealth } from './pipeline/service-health.ts';
import { startWatchdog } from './pipeline/watchdog.ts';
import { withScheduleRules } from './program/medication-schedule-rules.ts';
import { AdtRepository } from './store/adt-repository.ts';
import { AlarmSettingsRepository } from './store/alarm-settings-repository.ts';
import type { Database, Sql } from './store/database.ts';
import { DeadLetterRepository } from './store/dead-letter-repository.ts';
import { DeviceModelRepository } from './store/device-model-repository.ts';
import { DeviceRepository } from './store/device-repository.ts';
import { EquipmentRepository } from './store/equipment-repository.ts';
import { SUBSCRIPTION_CHANNEL } from './store/fhir-subscription-repository.ts';
import { MedicationEventRepository } from './store/medication-event-repository.ts';
import { migrate } from './store/migrate.ts';
import { ObservationRepository } from './store/observation-repository.ts';
import { openDatabase } from './store/open-database.ts';
import { sealLegacySecrets } from './store/secrets-at-rest.ts';
import { UserRepository } from './store/user-repository.ts';
import { VendorTemplateRepository } from './store/vendor-template-repository.ts';

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
  /** Where the once-only lines (admin password, URLs) go; default stdout. */
  print?: (line: string) => void;
  routes?: RoutePlugin[];
  /**
   * Called inside the ingest commit's transaction with the readings stored by it (not the
   * duplicates): the edge gateway queues them for the centre atomically with their rows.
   */
  onCommit?: (sql: Sql, stored: Reading[]) => Promise<void>;
}

/** Listener of committed readings (detection, live feed). Called after the commit, never before. */
export type ReadingListener = (readings: Reading[], statuses: DeviceStatusReport[]) => void;

export interface Vigil {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
  app: FastifyInstance;
  ctx: ApiContext;
  httpPort: number;
  mqttPort: number | undefined;
  /** HL7 v2 MLLP listener port (VIGIL_MLLP_PORT), when enabled. */
  mllpPort: number | undefined;
  httpUrl: string;
  onReadings(listener: ReadingListener): void;
  /** Alert management: `alerts.onDetections(detections)` after readings are committed and evaluated. */
  alerts: Alerting;
  /** Detection pipeline: monitoring configuration, bus, detection stage (roles all/detect). */
  pipeline: Pipeline;
  /** Graceful stop: stop accepting, commit what was accepted, close. */
  stop(): Promise<void>;
}

/**
 * The composition root: builds the adapters the configuration names and wires the stages
 * ingest → normalize → store → (listeners: detect, alerts, live feed). The only place that knows
 * which adapters exist.
 */
export async function startVigil(config: Config, opts: StartOptions = {}): Promise<Vigil> {
  const log = opts.log ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const metrics = createMetrics();
  const cleanups: Array<() => Promise<void>> = [];
  const fail = async (e: unknown): Promise<never> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw e;
  };

  let db: Database;
  try {
    db = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      timeoutMs: config.databaseTimeoutMs,
    });
  } catch (e) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_DATABASE_UNREACHABLE',
      config.databaseUrl
        ? `cannot reach the database at VIGIL_DATABASE_URL: ${errorMessage(e)}`
        : `cannot open the embedded database in ${config.dataDir}: ${errorMessage(e)}`,
      1,
    );
  }
  cleanups.push(() => db.close());

  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'database migrated');

    // Secrets at rest are sealed under a key outside the database (src/core/secret-box.ts). Embedded:
    // a key file beside the data directory is created at first start. A server database is shared by
    // several processes, which must share the key: it has to be provided.
    const secretsKey = loadSecretsKey({
      key: config.secretsKey,
      keyFile: config.secretsKeyFile,
      defaultFile: config.databaseUrl ? undefined : join(`${config.dataDir}-keys`, 'secrets.key'),
    });
    if (secretsKey) configureSecretBox(db, new SecretBox(secretsKey.key));
    else
      log.warn(
        { event: 'secrets-not-sealed' },
        'no VIGIL_SECRETS_KEY or VIGIL_SECRETS_KEY_FILE: secrets at rest (TOTP seeds, webhook secrets, signing keys) are stored unsealed in the database',
      );
    const resealed = secretsKey ? await sealLegacySecrets(db) : 0;
    if (resealed > 0) log.info({ sealed: resealed }, 'secrets stored before sealing are now sealed');

    const users = new UserRepository(db);
    const tokens = await TokenService.load(db, clock);
    const security = createSecurity({
      db,
      clock,
      log,
      tokens,
      corsOrigins: config.corsOrigins,
      breakGlass: config.breakGlass,
      scimGroupRoles: config.scimGroupRoles,
    });
    cleanups.push(() => security.audit.close());
    // Alerts ask the one access policy whether a principal may see a patient (care teams).
    setPatientAccessPolicy(
      async (p, patientId) => (await security.policy.canAccessPatient(p, patientId, 'read')).allowed,
    );
    const deviceRepo = new DeviceRepository(db);
    const devices = new DeviceService(deviceRepo, new SqlPatientDirectory(db), clock);
    // A corrected reading (HL7 OBX-11 C) keeps the version it replaces in the FHIR history.
    const observations = new ObservationRepository(db, {
      renderVersion: (r, v) => {
        const obs = readingToObservation(r);
        return { ...obs, meta: { ...obs.meta, versionId: String(v.versionId), lastUpdated: v.lastUpdated } };
      },
    });
    // Device credentials enforced by an external broker (Mosquitto dynamic security)
    let dynsec: DynsecProvisioner | undefined;
    if (config.mqttUrl && config.mqttDynsecUsername && config.mqttDynsecPassword) {
      dynsec = await startDynsec(config, db, log.child({ component: 'mqtt-dynsec' }));
      devices.setBrokerCredentials(dynsec);
      cleanups.push(() => (dynsec as DynsecProvisioner).close());
    }
    const deadLetters = new DeadLetterRepository(db);

    const listeners: ReadingListener[] = [];
    // FHIR Subscriptions: events recorded in the transactions below, sent by the alert outbox.
    const subscriptions = new Subscriptions({
      db,
      clock,
      log,
      store: new ResourceStore({ db, clock, log }),
      baseUrl: config.publicUrl ? `${config.publicUrl.replace(/\/$/, '')}/fhir` : undefined,
      audit: (input) => security.audit.recordLater(input),
      access: {
        mayRead: async (p, patientId, type) =>
          (await security.policy.canAccessPatient(p, patientId, 'read', type)).allowed,
        readable: (p, type) => security.policy.readablePatients(p, type),
      },
    });
    const touches = new DeviceTouchThrottle();
    const writer = new BatchWriter({
      db,
      maxBatch: config.ingestBatchSize,
      maxWaitMs: config.ingestBatchWaitMs,
      // PostgreSQL: several group commits in flight over the pool; PGlite has a single connection
      concurrency: db.kind === 'postgres' ? 4 : 1,
      sink: {
        async commit(sql, batch) {
          const touched = new Map<string, Parameters<DeviceRepository['touch']>[1][number]>();
          for (const s of batch.statuses) {
            touched.set(s.deviceId, {
              id: s.deviceId,
              lastSeen: s.received,
              battery: s.batteryPercent ?? touched.get(s.deviceId)?.battery,
              clockOffsetSeconds: s.clockOffsetSeconds ?? touched.get(s.deviceId)?.clockOffsetSeconds,
              firmware: s.firmware ?? touched.get(s.deviceId)?.firmware,
            });
          }
          // the three statements are sent together (one round trip to the database, not three)
          const [inserted] = await Promise.all([
            observations.insertBatch(sql, batch.readings),
            deadLetters.insertBatch(sql, batch.deadLetters),
            deviceRepo.touch(sql, touches.select(touched.values())),
          ]);
          if (inserted.size > 0) {
            const stored = batch.readings.filter((r) => inserted.has(r.id));
            await subscriptions.onReadings(sql, stored);
            if (opts.onCommit) await opts.onCommit(sql, stored);
          }
          return inserted;
        },
      },
      onCommitted: (readings, statuses, ms, size) => {
        metrics.ingestBatchSeconds.observe(ms / 1000);
        metrics.ingestBatchSize.observe(size);
        const byTransport = new Map<string, number>();
        for (const r of readings) byTransport.set(r.transport, (byTransport.get(r.transport) ?? 0) + 1);
        for (const [t, n] of byTransport) metrics.readingsAccepted.inc({ transport: t }, n);
        for (const l of listeners) {
          try {
            l(readings, statuses);
          } catch (err) {
            log.error({ err }, 'reading listener failed');
          }
        }
      },
    });
    // Vendor mapping templates: stored versions, assigned to devices or models (managed through the API).
    const vendorTemplates = new VendorTemplateRepository(db);
    const templateResolver = new VendorTemplateResolver(vendorTemplates);
    const ingest = new IngestService({
      normalize: (input) =>
        normalize(
          {
            format: input.format,
            payload: input.payload as Uint8Array | string | object,
            deviceId: input.deviceId,
            receivedAt: input.receivedAt,
            programGlucoseUnit: input.glucoseUnit,
          },
          input.template ? { templates: storedTemplateRegistry(input.template) } : {},
        ),
      templates: templateResolver,
      attribution: devices,
      duplicates: observations,
      writer,
      clock,
      log: log.child({ component: 'ingest' }),
      glucoseUnit: config.glucoseUnit,
    });

    const readiness: ApiContext['readiness'] = [];
    // Not ready until the start has finished (listeners bound, first admin created).
    let started = false;
    readiness.push({ name: 'startup', check: () => started });
    let broker: EmbeddedBroker | undefined;
    let external: ExternalBrokerClient | undefined;
    let mqttPort: number | undefined;
    const tls =
      config.tlsCertFile && config.tlsKeyFile
        ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
        : undefined;
    if (config.role === 'all' || config.role === 'ingest') {
      if (config.mqttUrl) {
        // retried until the broker is reachable; /ready says whether it is
        external = ExternalBrokerClient.start({
          url: config.mqttUrl,
          clientId: externalClientId(config),
          shareGroup: config.mqttClientId,
          subscription: config.mqttSubscription,
          ingest,
          devices,
          log: log.child({ component: 'mqtt' }),
          maxPayloadBytes: config.maxPayloadBytes,
          receiveMaximum: config.mqttReceiveMaximum,
        });
        cleanups.push(() => (external as ExternalBrokerClient).close());
        readiness.push({ name: 'mqtt', check: () => (external as ExternalBrokerClient).ready });
      } else if (config.mqttPort !== null) {
        broker = await EmbeddedBroker.create({
          devices,
          ingest,
          log: log.child({ component: 'mqtt' }),
          metrics,
          maxPayloadBytes: config.maxPayloadBytes,
          tls,
          security: security.brokerEvents,
        });
        security.onDeviceCredentialChange.push((id) => broker?.disconnectDevice(id));
        cleanups.push(() => (broker as EmbeddedBroker).close());
        try {
          mqttPort = await broker.listen(config.mqttPort, config.mqttHost);
        } catch (e) {
          throw listenError(e, 'VIGIL_MQTT_PORT', config.mqttPort);
        }
        readiness.push({ name: 'mqtt', check: () => true });
      }
    }

    // HL7 v2 (IHE PCD-01) over MLLP: devices identified by EUI-64, acknowledged after commit.
    let mllp: MllpServer | undefined;
    let mllpPort: number | undefined;
    if (config.mllpPort !== null && (config.role === 'all' || config.role === 'ingest')) {
      // ADT drives admission, transfer, discharge and merges; its patients hold PCD-01 readings to account.
      const fhirRecords = new ResourceStore();
      const adt = new AdtService({
        db,
        repo: new AdtRepository(db),
        fhir: {
          async read(sql, type, id) {
            const f = await fhirRecords.for(type).read(sql, id);
            return f?.kind === 'found'
              ? (f.stored.resource as unknown as { resourceType: string; id: string })
              : undefined;
          },
          async create(sql, resource) {
            await fhirRecords
              .for(resource.resourceType as 'Patient')
              .create(sql, resource as never, resource.id);
          },
          async update(sql, resource) {
            const { meta: _meta, ...rest } = resource;
            await fhirRecords.for(resource.resourceType as 'Patient').update(sql, resource.id, rest as never);
          },
        },
        devices,
        attribute: (deviceId, patientId, start) => observations.attribute(deviceId, patientId, start, null),
        audit: security.audit,
        monitoringPermitted: (patientId) => security.consent.isPermitted(patientId, 'monitoring'),
        clock,
        log: log.child({ component: 'adt' }),
        senders: config.adtSenders,
      });
      mllp = new MllpServer({
        adt,
        patientCheck: (deviceId, identifiers, at) =>
          adt.checkReading(deviceId, identifiers as PatientIdentifier[], at),
        ingest,
        inspect: (bytes) => inspectPcd01(bytes),
        devices: new SqlDeviceLookup(db),
        clock,
        log: log.child({ component: 'mllp' }),
        maxMessageBytes: config.maxPayloadBytes,
        ackMode: config.mllpAckMode,
        allow: config.mllpAllow,
        tls,
      });
      cleanups.push(() => (mllp as MllpServer).close());
      try {
        mllpPort = await mllp.listen(config.mllpPort, config.mllpHost);
      } catch (e) {
        throw listenError(e, 'VIGIL_MLLP_PORT', config.mllpPort);
      }
    }

    // A patient's erasure removes the visits ADT recorded (docs/retention.md).
    security.patientData.erasureSteps.push(AdtRepository.erase);
    const ctx: ApiContext = {
      db,
      clock,
      log,
      metrics,
      tokens,
      users,
      devices,
      observations,
      deadLetters,
      ingest,
      security,
      maxPayloadBytes: config.maxPayloadBytes,
      readiness,
      readyTimeoutMs: config.readyTimeoutMs,
      publicUrl: config.publicUrl,
      fhirNamespace: config.fhirNamespace,
    };
    // Changes reach every worker's live feed (NATS, else PostgreSQL NOTIFY); VIGIL_NOTIFY_FILE records notifications.
    const notifiers: Notifier[] = config.notifyFile
      ? [new RecordingNotifier('recording', config.notifyFile)]
      : [];
    // People are reached on their own contact methods, in their order (direct-notifier.ts).
    const channels: ContactChannel[] = [];
    const push = config.pushSubject
      ? new PushChannel({ keys: await loadVapidKeys(db), subject: config.pushSubject })
      : undefined;
    if (push) channels.push(push);
    if (config.sms) channels.push(new SmsChannel(config.sms));
    if (config.smtpUrl && config.smtpFrom) {
      const email = new EmailChannel({ smtpUrl: config.smtpUrl, from: config.smtpFrom });
      channels.push(email);
      cleanups.push(async () => email.close());
      // Break-glass grants are told to the privacy officers (the grant row is the outbox).
      if (config.role === 'all' || config.role === 'api') {
        const notices = new BreakGlassNotices({
          db,
          grants: security.breakGlass,
          mailer: email,
          log: log.child({ component: 'break-glass' }),
          publicUrl: config.publicUrl,
        });
        notices.start();
        cleanups.push(() => notices.stop());
      }
    }
    const ackLinks = await AckLinks.load(db, clock);
    if (channels.length > 0)
      notifiers.push(
        new DirectNotifier({
          db,
          clock,
          channels,
          ackLinks,
          publicUrl: config.publicUrl,
          onSend: (channel, outcome) => metrics.notificationSends.inc({ channel, outcome }),
        }),
      );
    const alerting = new Alerting({
      db,
      clock,
      log,
      natsUrl: config.natsUrl,
      natsPrefix: config.natsPrefix,
      notifiers,
      metrics,
    });
    alerting.manager.inTransaction(subscriptions.onAlertChanges, subscriptions.wantsAlertChanges);
    alerting.outbox.addChannel(SUBSCRIPTION_CHANNEL, subscriptions.deliver);
    await subscriptions.start({ heartbeats: config.role === 'all' || config.role === 'api' });
    cleanups.push(async () => subscriptions.stop());
    ctx.subscriptions = subscriptions;
    alerting.start(); // durable timers and outbox: resumes what a previous process left due
    // PCD-04 device alarms over MLLP become alerts (source "device alarm"), after their readings are stored.
    mllp?.setAlarmSink(new DeviceAlarmStage({ alerts: alerting.manager, attribution: devices }));
    // The live feed asks the access policy; a care-team change reaches its open sockets at once.
    alerting.live.decideWith((p) => security.policy.readablePatients(p, 'Flag'));
    security.careTeams.onInvalidate(() => alerting.live.recheck());
    cleanups.push(() => alerting.stop());
    // Service health: every process beats; api workers answer one status for the deployment.
    const instance = newId();
    const health = new ServiceHealth({ db, clock, log, instance, role: config.role });
    listeners.push((rs) => health.onCommitted(rs));
    health.start();
    cleanups.push(() => health.stop());
    // Detection: committed readings → bus → rule engine → alerting; derived readings back through the writer.
    const medicationRequests = new MedicationEventRepository(db);
    const pipeline = await createPipeline({
      onEvaluated: health.onEvaluated,
      // The MedicationRequest is the one source of a scheduled dose's times (docs/adherence.md §5).
      scheduleRules: async (patientId, enrolment, programs) =>
        withScheduleRules(enrolment, await medicationRequests.medicationRequests(patientId), programs),
      role: config.role,
      natsUrl: config.natsUrl,
      natsPrefix: config.natsPrefix,
      leaseMs: config.detectLeaseMs,
      db,
      clock,
      log,
      metrics,
      alerting,
      attribution: devices,
      storeDerived: async (rs) => {
        await writer.write({ readings: rs, deadLetters: [], statuses: [] }).catch(async () => {
          await db.transaction((sql) => observations.insertBatch(sql, rs)); // writer closed (stopping)
        });
      },
    });
    cleanups.push(() => pipeline.stop());
    listeners.push(pipeline.onCommitted);
    ctx.readingsStored = (rs) => pipeline.onCommitted(rs, []); // Observations written through FHIR
    ctx.medicationRequestsChanged = (ids) => {
      for (const patientId of ids) pipeline.monitoring.changed({ patientId });
    };
    const attribute = observations.attribute.bind(observations); // late assignment: evaluate old readings too
    observations.attribute = async (...a) => {
      const rs = await attribute(...a);
      pipeline.onAttributed(rs);
      return rs;
    };
    // Route plugins of the other modules (FHIR, alerts, dashboard, …) are added here, one line each.
    const routes: RoutePlugin[] = [
      fhirRoutes,
      alertRoutes(alerting),
      monitoringRoutes(pipeline.monitoring),
      dashboardRoutes,
      programRoutes,
      alarmBurdenRoutes,
      cohortRoutes,
      alarmSettingsRoutes(
        new AlarmSettingsService({
          repo: new AlarmSettingsRepository(db),
          monitoring: pipeline.monitoring,
          clock,
          log,
        }),
      ),
      notificationRoutes({ alerting, ackLinks, push }),
      invitationRoutes,
      passkeyRoutes,
      measurementRequestRoutes,
      patientEntryRoutes,
      patientDeviceRoutes,
      patientCoverageRoutes(alerting),
      erasureRequestRoutes,
      breakGlassRoutes,
      scimRoutes,
      adherenceRoutes,
      smartRoutes,
      oidcRoutes(config.oidc),
      nightscoutRoutes(new NightscoutCredentials(db)),
      lorawanRoutes,
      vendorTemplateRoutes(vendorTemplates, templateResolver),
      deviceModelRoutes(new DeviceModelRepository(db)),
      serviceStatusRoutes(health),
      edgeGatewayRoutes(alerting),
      equipmentRoutes(
        new EquipmentService({
          repo: new EquipmentRepository(db),
          deadLetters,
          clock,
          settings: config.rtls,
          deviceKind: async (id) => (await deviceRepo.get(id))?.kind,
        }),
      ),
      ...(opts.routes ?? []),
      webRoutes(),
    ];
    if (config.role === 'all' || config.role === 'api') {
      // The live feed carries the monitoring status; the watchdog hears it from outside.
      const pushStatus = setInterval(
        () => void health.status().then((status) => alerting.live.broadcast({ type: 'monitoring', status })),
        15_000,
      );
      pushStatus.unref();
      cleanups.push(async () => clearInterval(pushStatus));
      if (config.watchdog) {
        const stopWatchdog = startWatchdog({
          ...config.watchdog,
          instance,
          status: () => health.status(),
          clock,
          log,
        });
        cleanups.push(async () => stopWatchdog());
      }
    }
    const https = tls ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : undefined;
    const app = await buildApp(ctx, routes, { https, role: config.role });
    cleanups.push(() => app.close());
    let httpPort: number;
    try {
      if (https) log.info('TLS certificate configured for HTTP and MQTT');
      await app.listen({ port: config.httpPort, host: config.httpHost });
      const addr = app.server.address();
      httpPort = typeof addr === 'object' && addr ? addr.port : config.httpPort;
    } catch (e) {
      throw listenError(e, 'VIGIL_HTTP_PORT', config.httpPort);
    }
    // The admin is created only once every listener is bound: a start that stops on a port in use
    // creates no account, so the next start still creates it and shows its password.
    const admin = await bootstrapAdmin(users, config.adminPassword);
    started = true;
    const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? 'localhost' : config.httpHost;
    const httpUrl = config.publicUrl ?? `${https ? 'https' : 'http'}://${host}:${httpPort}`;
    const stopRetention =
      config.role === 'all' || config.role === 'api' ? startRetentionSchedule(security, log) : async () => {};
    cleanups.push(stopRetention);

    print(
      `Vigil is running (${db.kind === 'pglite' ? `embedded PostgreSQL in ${config.dataDir}` : 'PostgreSQL server'})`,
    );
    print(`  HTTP API and dashboard  ${httpUrl}/`);
    print(`  FHIR R4 API             ${httpUrl}/fhir`);
    print(`  health / ready          ${httpUrl}/health  ${httpUrl}/ready`);
    print(`  metrics                 ${httpUrl}/metrics`);
    if (config.role === 'all' || config.role === 'api')
      print(`  API docs (OpenAPI 3)    ${httpUrl}/docs  ${httpUrl}/openapi.json`);
    if (mqttPort !== undefined)
      print(
        `  MQTT (embedded)         ${tls ? 'mqtts' : 'mqtt'}://${host}:${mqttPort}  topics devices/{deviceId}/readings, devices/{deviceId}/gatt/{uuid}`,
      );
    if (external) print('  MQTT (external broker)  subscribed with a persistent session');
    if (mllpPort !== undefined)
      print(`  HL7 v2 MLLP (PCD-01/04) ${tls ? 'tls' : 'tcp'}://${host}:${mllpPort}`);
    if (admin.created && admin.generated) {
      print('');
      print('  First start: created user "admin" with this password (shown only once, store it now):');
      print(`    ${admin.password}`);
      print('');
    } else if (admin.created) {
      print('  First start: created user "admin" with the password from VIGIL_ADMIN_PASSWORD');
    }

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        log.info('stopping: no new connections; committing what was accepted');
        broker?.stopAccepting();
        external?.stopAccepting();
        mllp?.stopAccepting();
        await app.close(); // waits for in-flight HTTP requests (they await their commits)
        await mllp?.close(); // acknowledges the HL7 v2 messages already being stored
        await writer.close(); // commits everything already accepted (MQTT in flight too)
        await pipeline.stop(); // evaluates what was committed, saves engine state
        await alerting.stop();
        await external?.close();
        await dynsec?.close();
        await broker?.close();
        await stopRetention();
        await security.audit.close(); // the last audit records are durable before the store closes
        await db.close();
        log.info('stopped cleanly');
      })();
      return stopping;
    };

    return {
      config,
      db,
      log,
      metrics,
      app,
      ctx,
      httpPort,
      mqttPort,
      mllpPort,
      httpUrl,
      onReadings: (l) => listeners.push(l),
      alerts: alerting,
      pipeline,
      stop,
    };
  } catch (e) {
    return fail(e);
  }
}

/** Admin connection to the dynamic-security plugin; reconciled with the registry once connected. */
async function startDynsec(config: Config, db: Database, log: Logger): Promise<DynsecProvisioner> {
  const p = DynsecProvisioner.start({
    url: config.mqttUrl as string,
    username: config.mqttDynsecUsername as string,
    password: config.mqttDynsecPassword as string,
    clientId: `${externalClientId(config)}-dynsec`,
    log,
  });
  const reconcile = async () => {
    for (let attempt = 0; attempt < 600 && !p.connected; attempt++)
      await new Promise((r) => setTimeout(r, 500));
    const rows = await db.query<{ id: string; revoked: boolean }>(
      'select id, revoked_at is not null as revoked from device',
    );
    const { deleted, missing } = await p.reconcile(rows);
    log.info({ deleted: deleted.length, missing: missing.length }, 'broker device accounts reconciled');
  };
  // in the background: the broker may be down at start
  reconcile().catch((err) => log.error({ err }, 'broker device accounts not reconciled'));
  return p;
}

/** One client id per ingest worker (a shared session would be taken over by each in turn). */
function externalClientId(config: Config): string {
  if (config.role === 'all' && config.mqttWorkerId === undefined) return config.mqttClientId;
  return `${config.mqttClientId}-${config.role}-${config.mqttWorkerId ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`;
}

function listenError(e: unknown, variable: string, port: number): VigilError {
  const code = (e as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return new VigilError(
      'VIGIL_ERR_CONFIG_PORT_IN_USE',
      `port ${port} is already in use (set ${variable} to another port)`,
      1,
    );
  }
  if (code === 'EACCES') {
    return new VigilError(
      'VIGIL_ERR_CONFIG_PORT_DENIED',
      `not allowed to listen on port ${port} (set ${variable})`,
      1,
    );
  }
  return new VigilError(
    'VIGIL_ERR_CONFIG_LISTEN',
    `cannot listen on port ${port} (${variable}): ${errorMessage(e)}`,
    1,
  );
}
