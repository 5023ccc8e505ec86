import type { Reading } from '../core/reading.ts';

/**
 * What an edge gateway sends the centre (`POST /ingest/v1/edge/forward`) and what it answers. One
 * request carries records in the hub's commit order (`seq`) and the hub's health; the centre
 * answers per record, and the hub drops from its queue only the records answered for.
 */
export interface ForwardRequest {
  /** The hub's clock when it sent the request (UTC ISO). */
  sentAt: string;
  health: GatewayHealth;
  records: ForwardRecord[];
}

export type ForwardRecord =
  | { seq: number; kind: 'reading'; reading: Reading }
  | { seq: number; kind: 'alert'; alert: ForwardedAlert }
  | { seq: number; kind: 'summary'; summary: ForwardedSummary };

/** An alert as the hub's alert manager holds it (one version of it). */
export interface ForwardedAlert {
  /** The hub's alert id: with the gateway id, the alert's identity at the centre. */
  id: string;
  version: number;
  conditionKey: string;
  rule: string;
  severity: string;
  state: 'open' | 'acknowledged' | 'snoozed' | 'escalated' | 'resolved';
  summary: string;
  /** Observation ids (the hub's readings, forwarded with the same ids). */
  evidence: string[];
  data: Record<string, unknown>;
  deviceId: string | null;
  raisedAt: string;
  lastDetectionAt: string;
  resolvedAt: string | null;
}

/** Per-minute summary of a continuous stream whose readings the hub kept and did not send. */
export interface ForwardedSummary {
  id: string;
  deviceId: string;
  code: string;
  unit: string | null;
  /** Start of the minute (UTC ISO). */
  minute: string;
  n: number;
  min: number;
  mean: number;
  max: number;
}

export interface GatewayHealth {
  /** Records waiting to be sent (this request's included). */
  queueDepth: number;
  /** Commit time of the oldest waiting record; null when the queue is empty. */
  oldestQueuedAt: string | null;
  /** The hub's view of its uplink before this request. */
  uplink: 'up' | 'down' | 'starting';
  /** Hub clock minus centre clock, seconds, measured at the last answer (positive: hub ahead). */
  clockOffsetSeconds: number | null;
  /** Continuous readings summarised in place of being sent because the queue was full. */
  summarisedReadings: number;
  /** Continuous readings dropped uncounted in any summary (no numeric value) because the queue was full. */
  droppedReadings: number;
  /** Records the centre refused (kept on the hub with their reason). */
  rejectedRecords: number;
  /** Free and total bytes of the file system holding the hub's data directory (absent: not measured). */
  diskFreeBytes?: number | null;
  diskTotalBytes?: number | null;
  /** The provisioning list in force on the hub: its ETag and when it was last confirmed (absent: not provisioned from the centre). */
  provisioningVersion?: string | null;
  provisionedAt?: string | null;
}

export type RecordResult =
  | { seq: number; status: 'stored' | 'duplicate' }
  | { seq: number; status: 'rejected'; code: string; message: string };

/**
 * What people did at the centre to an alert the hub raised: the hub applies it to its own alert
 * (sent again with every answer until the hub's alert reports that state or a later one).
 */
export interface CentreAction {
  /** The hub's alert id. */
  alertId: string;
  type: 'acknowledge' | 'resolve';
  /** Who, at the centre (a user id). */
  by: string | null;
  at: string | null;
}

export interface ForwardResponse {
  /** The centre's clock when it received the request (UTC ISO). */
  receivedAt: string;
  results: RecordResult[];
  actions: CentreAction[];
}

/**
 * What the centre provisions a hub with (`GET /ingest/v1/edge/provisioning`, the gateway's own
 * secret as bearer; docs/edge.md): the devices linked to the gateway with their credential
 * verifiers (the SHA-256 the centre stores, ADR 0003: the secret itself is never stored or sent),
 * their assignments, the patients they are assigned to and those patients' monitoring enrolment.
 * Answered with an ETag; `If-None-Match` with the same one is answered 304 without a body.
 */
export interface ProvisioningDocument {
  gatewayId: string;
  /** The document's ETag (also in the header), a digest of its content. */
  version: string;
  devices: ProvisionedDevice[];
  assignments: ProvisionedAssignment[];
  patients: ProvisionedPatient[];
  monitoring: ProvisionedMonitoring[];
}

export interface ProvisionedDevice {
  id: string;
  kind: string;
  identifier: string | null;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  /** SHA-256 (hex) of the device's secret; null when revoked. */
  secretHash: string | null;
  revoked: boolean;
}

export interface ProvisionedAssignment {
  id: string;
  deviceId: string;
  patientId: string;
  periodStart: string;
  periodEnd: string | null;
}

/** A FHIR Patient resource as the centre stores it. */
export interface ProvisionedPatient {
  id: string;
  resource: Record<string, unknown>;
}

/** A patient's monitoring configuration in force at the centre (enrolment null: monitoring ended). */
export interface ProvisionedMonitoring {
  patientId: string;
  version: number;
  enrolment: Record<string, unknown> | null;
}
