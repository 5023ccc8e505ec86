import type { Anomaly, Requirement } from './types.ts';

/**
 * Software requirements (IEC 62304 §5.2) traced to the tests that verify them. Each requirement is
 * specified in detail in the doc it names; the tests are cited by file and name.
 */
export const requirements: Requirement[] = [
  {
    id: 'R1',
    text: 'A reading is acknowledged to its device only once it is durably stored.',
    doc: 'docs/architecture.md',
    tests: [
      {
        file: 'src/ingest/batch-writer.test.ts',
        name: 'with concurrency 2 keeps two transactions in flight, acks each after its own commit, delivers in order',
      },
      {
        file: 'test/security/mqtt-devices.test.ts',
        name: 'the right secret on its own topic is accepted (QoS 1, acknowledged after commit)',
      },
      {
        file: 'test/hl7v2/mllp.test.ts',
        name: 'acknowledges all 11 corpus messages after commit: AA with the control id echoed, AR/AE for the invalid one',
      },
    ],
  },
  {
    id: 'R2',
    text: 'Redelivery never creates a duplicate reading.',
    doc: 'docs/architecture.md',
    tests: [
      {
        file: 'test/ingest/batch-duplicates.test.ts',
        name: 'three copies in one request after a stored one: every copy is a duplicate of the stored id',
      },
      { file: 'test/nightscout/nightscout.test.ts', name: 'deduplicates resent entries' },
    ],
  },
  {
    id: 'R3',
    text: 'What is refused is kept as a dead letter with a machine-readable reason, and can be replayed.',
    doc: 'docs/reading-format.md',
    tests: [
      {
        file: 'test/ingest/ingest.test.ts',
        name: 'keeps every refused payload as a dead letter that can be listed and replayed',
      },
      {
        file: 'test/ingest/ingest.test.ts',
        name: 'replays a dead letter through the profile it arrived as (GATT bytes are not re-read as JSON)',
      },
      {
        file: 'test/nightscout/nightscout.test.ts',
        name: 'a body that is not JSON is refused with 400 and kept as a dead letter',
      },
    ],
  },
  {
    id: 'R4',
    text: 'Values are stored in UCUM units with LOINC codes; conversions are by definition; implausible values are refused.',
    doc: 'docs/reading-format.md',
    tests: [
      { file: 'src/normalize/units.test.ts', name: 'pressure: kPa → mmHg (101.325 kPa = 760 mmHg)' },
      {
        file: 'src/normalize/profiles/mdc.test.ts',
        name: 'MDC codes and MDC units map to LOINC and UCUM (§3.2), MDC coding kept',
      },
      {
        file: 'src/normalize/profiles/native-json.test.ts',
        name: 'implausible values are refused, never clamped',
      },
    ],
  },
  {
    id: 'R5',
    text: "A reading is attributed to the patient its device was assigned to at the reading's own time.",
    doc: 'docs/architecture.md',
    tests: [
      {
        file: 'test/ingest/ingest.test.ts',
        name: 'attributes a reading to the patient the device was assigned to at the reading’s own time; unassigned readings wait, then are attributed',
      },
    ],
  },
  {
    id: 'R6',
    text: 'Rules run on event time, so a replay of history gives the same detections.',
    doc: 'docs/pipeline.md',
    tests: [
      {
        file: 'src/detect/replay.test.ts',
        name: 'fires a data gap from event time alone, then clears it when data resume',
      },
      {
        file: 'src/detect/engine.test.ts',
        name: 'snapshot/restore continues exactly as an uninterrupted engine',
      },
    ],
  },
  {
    id: 'R7',
    text: 'Each rule kind fires at its documented threshold and persistence, and clears with hysteresis.',
    doc: 'src/detect/README.md',
    tests: [
      { file: 'src/detect/rules.test.ts', name: 'clears only below 170/110 (hysteresis)' },
      { file: 'src/detect/rules.test.ts', name: 'scale 2 patient: 90 % is not hypoxaemia, 87 % is' },
      {
        file: 'src/detect/rules.test.ts',
        name: 'HR and RR rising together fire before any threshold is crossed',
      },
      {
        file: 'src/detect/glucose.test.ts',
        name: 'fast fall heading below 70 fires glucose:fall at ≥ 2 and escalates at ≥ 3 mg/dL/min',
      },
    ],
  },
  {
    id: 'R8',
    text: 'A device or data source that falls silent raises a missing-data alert without new data.',
    doc: 'docs/alerts.md',
    tests: [
      {
        file: 'test/pipeline/detection-stage.test.ts',
        name: 'fires a missing-data detection from its own timer with no new data',
      },
      {
        file: 'test/pipeline/detection.e2e.test.ts',
        name: 'raises a missing-data alert with no new data once the cadence is missed',
      },
    ],
  },
  {
    id: 'R9',
    text: 'Monitoring settings come from the program with per-patient overrides; a wrong setting is refused with its field named.',
    doc: 'docs/program.md',
    tests: [
      {
        file: 'src/detect/program-config.test.ts',
        name: 'program settings apply unless the patient overrides them',
      },
      {
        file: 'src/detect/program-config.test.ts',
        name: 'patient overrides replace program defaults: a COPD patient’s SpO2 floor',
      },
      {
        file: 'src/detect/program-config.test.ts',
        name: 'a wrong configuration is refused with the bad field named',
      },
    ],
  },
  {
    id: 'R10',
    text: 'An alert moves open → acknowledged → resolved (snoozed, escalated) with who and when recorded; concurrent acknowledgements have one winner.',
    doc: 'docs/alerts.md',
    tests: [
      {
        file: 'src/alerts/alert-state.test.ts',
        name: 'open → acknowledged records who and when; a second acknowledge by the same user is harmless',
      },
      {
        file: 'test/alerts/alert-manager.test.ts',
        name: 'two acknowledges at once: one winner, the other gets 409 naming the winner; the same user twice is harmless',
      },
      {
        file: 'test/alerts/alerts-api.test.ts',
        name: 'lists, shows with timeline and evidence, acts, and answers 404 / 403 / 409 clearly',
      },
    ],
  },
  {
    id: 'R11',
    text: 'An unacknowledged alert escalates tier by tier on time, durably across restarts.',
    doc: 'docs/alerts.md',
    tests: [
      {
        file: 'test/alerts/alert-manager.test.ts',
        name: 'notifies the first tier of the care team and escalates on time when nobody acknowledges',
      },
      {
        file: 'test/alerts/kill-restart.test.ts',
        name: 'a pending escalation and an undelivered notification happen after SIGKILL and restart',
      },
    ],
  },
  {
    id: 'R12',
    text: 'Notifications are delivered through a durable outbox with retries; each person on their own channels in order, falling through when one fails; webhooks are signed.',
    doc: 'docs/notifications.md',
    tests: [
      {
        file: 'test/alerts/webhook-outbox.test.ts',
        name: 'retries a flaky receiver with backoff until delivered; the delivery is signed and every attempt logged',
      },
      {
        file: 'src/alerts/webhook.test.ts',
        name: 'rejects a changed body, a wrong secret, a replay outside the tolerance and a malformed header',
      },
      {
        file: 'test/alerts/sms-channel.test.ts',
        name: 'Twilio-compatible: one form-encoded Messages request per number, Basic auth, no patient identifier',
      },
      {
        file: 'test/alerts/notification-routing.test.ts',
        name: 'a failing push service falls through to SMS; a subscription the service calls gone is removed',
      },
      {
        file: 'test/alerts/notification-routing.test.ts',
        name: 'the on-call tier reaches whoever holds a current shift for the care team, not an ended one',
      },
    ],
  },
  {
    id: 'R13',
    text: 'Vigil says when it is not watching: status ok / delayed / stopped, a watchdog ping, and a coded 503 when the database is down.',
    doc: 'docs/downtime.md',
    tests: [
      {
        file: 'test/pipeline/service-health.test.ts',
        name: 'unknown before any process reports; ok while one process keeps up',
      },
      {
        file: 'test/pipeline/watchdog.test.ts',
        name: 'posts the monitoring status signed with the shared secret',
      },
      {
        file: 'test/ingest/database-down.test.ts',
        name: 'ingest answers a coded 503 with Retry-After, /ready 503; nothing is stored; all well again after',
      },
    ],
  },
  {
    id: 'R14',
    text: "Staff see only their care teams' patients; a patient sees only their own data; an integration needs consent.",
    doc: 'docs/security.md',
    tests: [
      {
        file: 'test/security/fhir-access.test.ts',
        name: 'a clinician outside the care team gets 403 on read and sees nothing of that patient in searches',
      },
      { file: 'test/security/fhir-access.test.ts', name: 'a patient reads only their own Observations' },
      {
        file: 'test/dashboard/dashboard-api.test.ts',
        name: 'refuses patients outside the care team and anonymous callers',
      },
    ],
  },
  {
    id: 'R15',
    text: 'Every read and write of patient data is audited in a verifiable chain.',
    doc: 'docs/security.md',
    tests: [
      {
        file: 'test/security/audit-chain.test.ts',
        name: 'records chain by hash; verification passes, then detects an edited, a removed and an appended-outside record',
      },
      {
        file: 'test/security/governance.test.ts',
        name: 'audit API: search by patient and outcome, NDJSON export, every use of the log is itself audited',
      },
    ],
  },
  {
    id: 'R16',
    text: 'No default passwords: the first start creates an admin with a random password shown once.',
    doc: 'docs/security.md',
    tests: [
      {
        file: 'test/cli/first-start.test.ts',
        name: 'a start that stops on a taken MQTT port creates no account; the next start shows the password',
      },
    ],
  },
  {
    id: 'R17',
    text: 'No patient data or secrets in logs.',
    doc: 'docs/security.md',
    tests: [
      {
        file: 'test/security/logging.test.ts',
        name: 'secrets and patient data never reach the logs (sign-in, tokens, device secrets, readings)',
      },
      { file: 'test/ingest/ingest.test.ts', name: 'writes no patient data and no secrets to the logs' },
    ],
  },
  {
    id: 'R18',
    text: 'Bad input gets a coded error, never a 500; the FHIR API answers OperationOutcomes.',
    doc: 'docs/errors.md',
    tests: [
      {
        file: 'test/fhir/error-codes.test.ts',
        name: '404, 410, 412, 400 and 401 each name their code, and stay valid OperationOutcomes',
      },
      {
        file: 'test/security/fuzz.test.ts',
        name: 'fuzz: random bodies and headers against the auth and ingest parsers',
      },
      {
        file: 'test/lorawan/lorawan.test.ts',
        name: 'bad uplinks get a coded answer and a dead letter, never a 500',
      },
    ],
  },
  {
    id: 'R19',
    text: 'Patient data can be exported and erased; the audit trail stays and still verifies.',
    doc: 'docs/retention.md',
    tests: [
      {
        file: 'test/security/governance.test.ts',
        name: 'erasure: the patient data goes, the audit trail stays and still verifies',
      },
      {
        file: 'test/security/erasure.test.ts',
        name: 'a patient with data on every path is erased; only the allow-list still names them',
      },
    ],
  },
  {
    id: 'R20',
    text: 'Each device model has a regulatory record (UDI-DI, FDA and EU MDR status, SBOM, end of support, recalls and advisories); a CSV import is refused whole with each bad row named by number and reason.',
    doc: 'docs/device-models.md',
    tests: [
      {
        file: 'test/devices/device-models.test.ts',
        name: 'CSV import: bad rows refused by row number and reason, nothing stored; a good file imports once',
      },
      {
        file: 'test/devices/device-models.test.ts',
        name: 'FHIR: DeviceDefinition read and search (UDI-DI, kind), Device points at it, writes refused',
      },
      {
        file: 'src/devices/device-models.test.ts',
        name: 'GS1 check digits: the published examples pass, a changed last digit fails',
      },
    ],
  },
  {
    id: 'R21',
    text: 'The safety file is true to the code: every control and requirement cites files and tests that exist, and the SOUP list matches the lockfile.',
    doc: 'docs/safety/README.md',
    tests: [
      {
        file: 'test/safety/safety-file.test.ts',
        name: 'every file and test the hazard analysis and the requirements cite exists',
      },
      {
        file: 'test/safety/safety-file.test.ts',
        name: 'the SOUP list names every direct dependency at its locked version',
      },
    ],
  },
];

/** Known residual anomalies (IEC 62304 §5.8.3 / §9): reviewed by hand, each with the doc that records it. */
export const anomalies: Anomaly[] = [
  {
    id: 'A1',
    text: 'Detection sensitivity is below its goal in some simulated scenarios (for example one of two hypertensive-crisis and one of two post-surgical-sepsis patients on held-out seeds were detected).',
    hazard: 'H1',
    doc: 'docs/benchmarks.md',
  },
  {
    id: 'A2',
    text: 'Alert burden is above its goal for CGM patients (clinical alerts per stable patient-day, and notifications per alert opened) on held-out simulated seeds.',
    hazard: 'H3',
    doc: 'docs/benchmarks.md',
  },
  {
    id: 'A3',
    text: "In-process mode: readings committed but not yet evaluated when the process dies are stored but not evaluated after the restart (no outbox between commit and bus); with NATS a crash between commit and publish loses that batch's evaluation.",
    hazard: 'H8',
    doc: 'docs/pipeline.md',
  },
  {
    id: 'A4',
    text: "The dashboard's downtime bar is tested in Chromium with the status given to the browser (and the server cut off by aborting its refreshes); the status the server computes is tested at the API. No single test stops a real detector and watches the bar.",
    hazard: 'H5',
    doc: 'docs/downtime.md',
  },
  {
    id: 'A5',
    text: 'Roles do not yet gate HTTP routes in a scaled-out deployment (an `api` process still serves ingest routes).',
    hazard: 'H6',
    doc: 'docs/pipeline.md',
  },
  {
    id: 'A6',
    text: "Tick-driven (missing-data) detections depend on when the partition owner's timer runs; a partition handover delays them by up to the lease time.",
    hazard: 'H1',
    doc: 'docs/pipeline.md',
  },
];
