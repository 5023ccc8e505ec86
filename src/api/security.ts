import type { Resource } from '@medplum/fhirtypes';
import { AuditLog } from '../audit/audit-log.ts';
import { AccessPolicy } from '../auth/access-policy.ts';
import { AccountSecurity } from '../auth/account-security.ts';
import { BreakGlassService } from '../auth/break-glass.ts';
import { CareTeamRepository } from '../auth/care-team-repository.ts';
import { LoginThrottle } from '../auth/login-throttle.ts';
import { OAuthClientService } from '../auth/oauth-clients.ts';
import { ScimDirectory } from '../auth/scim-directory.ts';
import { SessionService } from '../auth/session-service.ts';
import { SmartClientService } from '../auth/smart-clients.ts';
import type { Principal, TokenService } from '../auth/token-service.ts';
import { ConsentService } from '../consent/consent-service.ts';
import { PatientDataService } from '../consent/patient-data.ts';
import { RetentionService } from '../consent/retention.ts';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { BrokerSecurityEvents } from '../ingest/mqtt/embedded-broker.ts';
import { readingToObservation, upgradeQualityFlags } from '../normalize/fhir-observation.ts';
import type { Database } from '../store/database.ts';
import { rowToReading } from '../store/observation-repository.ts';
import { indexValues } from './fhir/search/index-values.ts';

/** Security, consent and audit services, built once by the composition root and shared by every route. */
export interface Security {
  audit: AuditLog;
  policy: AccessPolicy;
  careTeams: CareTeamRepository;
  /** Time-limited emergency access outside one's care teams, reviewed afterwards. */
  breakGlass: BreakGlassService;
  /** Staff accounts provisioned by the IdP over SCIM 2.0 (src/api/routes/scim.ts). */
  scim: ScimDirectory;
  consent: ConsentService;
  sessions: SessionService;
  throttle: LoginThrottle;
  accounts: AccountSecurity;
  clients: OAuthClientService;
  /** SMART App Launch apps and Backend Services clients (src/api/routes/smart.ts). */
  smartClients: SmartClientService;
  retention: RetentionService;
  patientData: PatientDataService;
  /** Allowed browser origins for CORS (none by default: the dashboard is same-origin). */
  corsOrigins: string[];
  /** The embedded MQTT broker's refused connections and publishes, into the audit log. */
  brokerEvents: BrokerSecurityEvents;
  /** Called when a device's credential is rotated or revoked (the MQTT broker drops its connection). */
  onDeviceCredentialChange: Array<(deviceId: string) => void>;
  /**
   * Bearer access token → principal, checked against the database on every call (account enabled,
   * session and token not revoked, integration not revoked). `allowEnrollment` admits the
   * short-lived token that may only enrol a TOTP second factor; `allowSmartApp` a person's token
   * issued to a SMART app (only the FHIR API takes those).
   */
  authenticate(
    token: string,
    opts?: { allowEnrollment?: boolean; allowSmartApp?: boolean },
  ): Promise<Principal>;
}

export const mfaEnrollScope = 'vigil:mfa-enroll';

function renderObservation(row: Record<string, unknown>): Record<string, unknown> {
  const id = String(row['id']);
  const stored = row['resource'] as Record<string, unknown> | null;
  if (stored) return { ...upgradeQualityFlags(stored), resourceType: 'Observation', id };
  const obs = readingToObservation(rowToReading(row)) as Resource;
  return { ...obs, id };
}

export function createSecurity(opts: {
  db: Database;
  clock: Clock;
  log: Logger;
  tokens: TokenService;
  corsOrigins?: string[];
  breakGlass?: { defaultMinutes?: number; maxMinutes?: number };
  scimGroupRoles?: Record<string, string[]>;
}): Security {
  const { db, clock, log, tokens } = opts;
  const careTeams = new CareTeamRepository(db, clock);
  const breakGlass = new BreakGlassService(db, clock, opts.breakGlass);
  breakGlass.onChange(() => careTeams.invalidate());
  // Consents carry the FHIR search index, so `Consent?patient=…` finds them.
  const consent = new ConsentService(db, clock, (c) => indexValues('Consent', c as unknown as Resource));
  const sessions = new SessionService(db, clock, tokens);
  const clients = new OAuthClientService(db, clock);
  const audit = new AuditLog(db, clock, log.child({ component: 'audit' }));
  return {
    audit,
    policy: new AccessPolicy(careTeams, consent),
    careTeams,
    breakGlass,
    scim: new ScimDirectory({
      db,
      clock,
      groupRoles: opts.scimGroupRoles ?? {},
      endSessions: (userId, reason) => sessions.revokeAllForUser(userId, reason),
    }),
    consent,
    sessions,
    throttle: new LoginThrottle(db, clock),
    accounts: new AccountSecurity(db, clock),
    clients,
    smartClients: new SmartClientService(db, clock),
    retention: new RetentionService(db, clock, (cutoff, dryRun) => sessions.purge(cutoff, dryRun)),
    patientData: new PatientDataService(db, clock, renderObservation),
    corsOrigins: opts.corsOrigins ?? [],
    onDeviceCredentialChange: [],
    brokerEvents: {
      authFailed: (deviceId, address) =>
        audit.recordLater({
          kind: 'security-alert',
          subtype: 'mqtt-auth-failed',
          action: 'E',
          outcome: 'minor',
          outcomeDesc: 'MQTT connection refused: bad device id or secret',
          agent: { kind: 'device', id: deviceId, address },
        }),
      publishDenied: (deviceId, address) =>
        audit.recordLater({
          kind: 'security-alert',
          subtype: 'mqtt-topic-denied',
          action: 'C',
          outcome: 'minor',
          outcomeDesc: "MQTT publish refused: not the device's own topic",
          agent: { kind: 'device', id: deviceId, address },
        }),
    },
    async authenticate(token, o = {}) {
      if (token.length > 4096)
        throw new VigilError('VIGIL_ERR_AUTH_TOKEN_INVALID', 'access token is invalid', 401);
      const p = await tokens.verify(token);
      if (p.kind === 'integration') {
        if (!(await clients.isActive(p.id, p.issuedAt)))
          throw new VigilError('VIGIL_ERR_AUTH_TOKEN_REVOKED', 'integration revoked', 401);
        return { ...p, roles: ['integration'] };
      }
      if (p.kind !== 'user')
        throw new VigilError('VIGIL_ERR_AUTH_TOKEN_INVALID', 'access token is invalid', 401);
      if (p.smartClientId) {
        if (!o.allowSmartApp)
          throw new VigilError(
            'VIGIL_ERR_AUTH_TOKEN_AUDIENCE',
            "a SMART app's access token is for the FHIR API only",
            401,
          );
        if (!(await clients.isActive(p.smartClientId, p.issuedAt)))
          throw new VigilError('VIGIL_ERR_AUTH_TOKEN_REVOKED', 'the app was revoked', 401);
      }
      if (p.scopes.includes(mfaEnrollScope)) {
        if (!o.allowEnrollment)
          throw new VigilError(
            'VIGIL_ERR_AUTH_MFA_ENROLLMENT_REQUIRED',
            'enrol a TOTP second factor first',
            403,
          );
        return { ...p, roles: [] };
      }
      return sessions.check(p);
    },
  };
}

/**
 * The retention purge, daily (first run an hour after start), on workers that serve the API.
 * Returns the function that stops it. Several workers may run it: deletes are idempotent.
 */
export function startRetentionSchedule(
  security: Security,
  log: Logger,
  everyMs = 24 * 3600_000,
  firstMs = 3600_000,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= security.retention
      .purge(false)
      .then(async (r) => {
        const removed = r.classes.reduce((n, c) => n + c.count, 0);
        log.info({ event: 'retention-purge', removed }, 'retention purge done');
        await security.audit.record({
          kind: 'application',
          subtype: 'purge',
          action: 'D',
          outcome: 'success',
          outcomeDesc: r.classes.map((c) => `${c.dataClass}=${c.count}`).join(' '),
          agent: { kind: 'system', name: 'retention-schedule' },
        });
      })
      .catch((err) => log.error({ err, event: 'retention-purge-failed' }, 'retention purge failed'))
      .finally(() => {
        running = undefined;
      });
  };
  let interval: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    run();
    interval = setInterval(run, everyMs);
    interval.unref();
  }, firstMs);
  first.unref();
  return async () => {
    clearTimeout(first);
    if (interval) clearInterval(interval);
    await running;
  };
}
