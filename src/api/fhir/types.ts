import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../auth/token-service.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Database, Sql } from '../../store/database.ts';
import type { ResourceStore } from './resource-store.ts';
import type { Subscriptions } from './subscriptions/subscriptions.ts';

/** A FHIR interaction as a plain value: what HTTP, batch entries, the CLI and tests all produce. */
export interface FhirRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';
  /** Path below the FHIR base, without leading slash: 'Observation/123/_history/2'. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body?: unknown;
  principal: Principal;
  /** Absolute base URL of the FHIR endpoint, e.g. 'https://vigil.example/fhir' (no trailing slash). */
  baseUrl: string;
}

export interface FhirResponse {
  status: number;
  resource?: Resource | OperationOutcome;
  headers?: Record<string, string>;
  /** A non-FHIR-JSON body (NDJSON download, export manifest). */
  raw?: { contentType: string; body: string };
}

/** What handlers work with. `sql` is the database or, inside a transaction Bundle, its transaction. */
export interface FhirServices {
  db: Database;
  sql: Sql;
  /** Inside a transaction Bundle: 'Type/id' of the resources its entries create (references to them resolve). */
  pending?: ReadonlySet<string>;
  store: ResourceStore;
  clock: Clock;
  log: Logger;
  /** Starts the background run of an accepted $export job (in-process runner). */
  startExport(jobId: string): void;
  /** Patients whose consent currently refuses the purpose (read now: revocations apply at once). */
  consentRefusing(purpose: 'integration-sharing'): Promise<Set<string>>;
  /** FHIR Subscriptions (absent: the Subscription endpoints answer not-supported). */
  subscriptions?: Subscriptions | undefined;
}

export type FhirHandler = (req: FhirRequest, svc: FhirServices) => Promise<FhirResponse>;
