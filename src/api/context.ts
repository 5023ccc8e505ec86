import type { TokenService } from '../auth/token-service.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Reading } from '../core/reading.ts';
import type { DeviceService } from '../devices/device-service.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { Database } from '../store/database.ts';
import type { DeadLetterRepository } from '../store/dead-letter-repository.ts';
import type { ObservationRepository } from '../store/observation-repository.ts';
import type { UserRepository } from '../store/user-repository.ts';
import type { Subscriptions } from './fhir/subscriptions/subscriptions.ts';
import type { Security } from './security.ts';

/** What the HTTP layer needs, built by the composition root (server.ts). */
export interface ApiContext {
  db: Database;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  tokens: TokenService;
  users: UserRepository;
  devices: DeviceService;
  observations: ObservationRepository;
  deadLetters: DeadLetterRepository;
  ingest: IngestService;
  /** Access policy, audit log, consent, sessions (src/api/security.ts). */
  security: Security;
  maxPayloadBytes: number;
  /** Readiness of parts other than the database (the MQTT broker or its connection). */
  readiness: Array<{ name: string; check: () => Promise<boolean> | boolean }>;
  /** Readings stored outside ingest (FHIR), after their commit: to detection (set by server.ts). */
  readingsStored?: (readings: Reading[]) => void;
  /** A MedicationRequest of these patients was written through FHIR: detection re-derives their schedule rules (set by server.ts). */
  medicationRequestsChanged?: (patientIds: string[]) => void;
  /** Longest `/ready` waits for each check before counting it failing, ms (VIGIL_READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
  /** VIGIL_PUBLIC_URL: the address people reach this server at (links in messages, invitations). */
  publicUrl?: string | undefined;
  /** VIGIL_FHIR_NAMESPACE: the base of Vigil's own FHIR URLs as the FHIR API shows them (default the internal one). */
  fhirNamespace?: string;
  /** FHIR Subscriptions (set by server.ts on workers that serve the API). */
  subscriptions?: Subscriptions | undefined;
}
