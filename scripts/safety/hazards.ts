import type { Hazard } from './types.ts';

/**
 * The hazard analysis (ISO 14971 shape): hazard → hazardous situation → harm, its causes, the risk
 * controls in the code and the tests that show each control. Reviewed by hand; the generator renders
 * docs/safety/hazard-analysis.md from it and test/safety/safety-file.test.ts checks that every file and
 * test named here exists.
 */
export const hazards: Hazard[] = [
  {
    id: 'H1',
    title: 'Missed alarm: a deterioration raises no alert',
    situation:
      'A monitored patient deteriorates (SpO2, blood pressure, glucose, NEWS2 or weight gain) and no alert reaches the care team, who rely on Vigil to tell them.',
    harm: 'Delayed treatment: serious deterioration or death.',
    severity: 'catastrophic',
    causes: [
      'a rule threshold or persistence set wrongly for the patient (program defaults, patient overrides)',
      'a device stops sending (battery, out of range, taken off) and the silence looks like stability',
      'readings refused by normalization (implausible, unknown unit) are silently dropped',
      'an alarm-fatigue control (persistence, hysteresis, signal-quality gating, superseding) hides a true event',
      'a NEWS2 parameter is missing, so no score is computed',
      'detection state lost on a restart or a worker crash',
    ],
    controls: [
      {
        what: 'Rule kinds are pure functions with boundary tests at every threshold (fires at the limit, not one step before).',
        code: [
          'src/detect/threshold.ts',
          'src/detect/hypoxaemia.ts',
          'src/detect/hypertensive-crisis.ts',
          'src/detect/weight-gain.ts',
          'src/detect/glucose.ts',
        ],
        tests: [
          {
            file: 'src/detect/rules.test.ts',
            name: '180/120 is not a crisis; 181 systolic or 121 diastolic is',
          },
          { file: 'src/detect/rules.test.ts', name: 'scale 1: fires after 15 s below 92 %' },
          { file: 'src/detect/rules.test.ts', name: '> 1 kg in a day fires; exactly 1 kg does not' },
          {
            file: 'src/detect/glucose.test.ts',
            name: 'level 1 low (< 70) then level 2 (< 54) escalate one condition; clears at ≥ 75',
          },
        ],
      },
      {
        what: 'A wrong monitoring configuration is refused at load with the bad field named; every version is kept.',
        code: ['src/detect/program-config.ts', 'src/pipeline/monitoring-service.ts'],
        tests: [
          {
            file: 'src/detect/program-config.test.ts',
            name: 'a wrong configuration is refused with the bad field named',
          },
          {
            file: 'test/pipeline/detection-stage.test.ts',
            name: 'refuses a wrong configuration with the field path and keeps every version',
          },
        ],
      },
      {
        what: 'A change to a program’s alarm settings is validated like a program, replayed over the program’s stored readings (alerts before and after; a removed alert that had been acknowledged is a warning) and applied only when a second clinician approves; every version is kept.',
        code: [
          'src/detect/alarm-settings.ts',
          'src/pipeline/alarm-settings-service.ts',
          'src/api/routes/alarm-settings.ts',
        ],
        tests: [
          {
            file: 'test/program/alarm-settings.test.ts',
            name: 'replays a proposal: alerts before/after per rule, the acknowledged alert that disappears is a warning',
          },
          {
            file: 'test/program/alarm-settings.test.ts',
            name: 'is reviewed by a second clinician only, and approval applies it as version 1',
          },
          {
            file: 'test/program/alarm-settings.test.ts',
            name: 'detection uses the applied version for the next reading',
          },
        ],
      },
      {
        what: 'Silence is itself an alert: missing-data rules fire from a timer on arrival time when a device misses its cadence.',
        code: ['src/detect/missing-data.ts', 'src/pipeline/detection-stage.ts'],
        tests: [
          {
            file: 'src/detect/rules.test.ts',
            name: 'fires from tick with no new data at all, once, and clears when data resume',
          },
          {
            file: 'src/detect/rules.test.ts',
            name: 'judges silence on arrival time: a device clock 40 min behind does not look silent',
          },
          {
            file: 'test/pipeline/detection.e2e.test.ts',
            name: 'raises a missing-data alert with no new data once the cadence is missed',
          },
        ],
      },
      {
        what: 'A refused payload is never dropped: it is kept as a dead letter with a coded reason, listable and replayable.',
        code: ['src/store/dead-letter-repository.ts', 'src/ingest/ingest-service.ts'],
        tests: [
          {
            file: 'test/ingest/ingest.test.ts',
            name: 'keeps every refused payload as a dead letter that can be listed and replayed',
          },
          {
            file: 'test/ingest/ingest.test.ts',
            name: 'answers per reading: accepted, duplicate (with the original id), rejected with a reason code',
          },
        ],
      },
      {
        what: 'Alarm-fatigue controls are bounded so that a true event still alarms: a persistent low is never silenced, a worse severity re-fires through a snooze.',
        code: [
          'src/detect/signal-quality.ts',
          'src/detect/condition-tracker.ts',
          'src/alerts/alert-state.ts',
        ],
        tests: [
          {
            file: 'src/detect/signal-quality.test.ts',
            name: 'a true desaturation (gradual) alarms 15 s after it first reads < 92, as before',
          },
          {
            file: 'src/detect/glucose.test.ts',
            name: 'a compression-like drop whose low persists for the hour alarms then (never silenced)',
          },
          {
            file: 'src/detect/engine.test.ts',
            name: 'does not suppress a superseded alert of equal or higher severity',
          },
          {
            file: 'src/alerts/alert-state.test.ts',
            name: 'a worse detection while snoozed notifies, ends the snooze and needs a new acknowledgement',
          },
        ],
      },
      {
        what: 'A NEWS2 score with a missing parameter is a lower bound that still alerts and names what is missing.',
        code: ['src/detect/news2.ts', 'src/detect/news2-score.ts'],
        tests: [
          {
            file: 'src/detect/news2.test.ts',
            name: 'a partial score is a lower bound that still alerts, and says what is missing',
          },
        ],
      },
      {
        what: 'Detection state survives restarts and worker crashes; a batch is acknowledged only once the state that includes it is saved.',
        code: [
          'src/pipeline/detection-stage.ts',
          'src/store/engine-state-repository.ts',
          'src/pipeline/partition-coordinator.ts',
        ],
        tests: [
          {
            file: 'test/pipeline/detection-stage.test.ts',
            name: 'keeps persistence windows across a restart (engine state saved at stop, restored at start)',
          },
          {
            file: 'test/pipeline/detection-stage.test.ts',
            name: 'acknowledges a batch only once the state that includes it is saved (NATS mode)',
          },
          {
            file: 'src/detect/engine.test.ts',
            name: 'snapshot/restore continues exactly as an uninterrupted engine',
          },
          {
            file: 'test/deploy/topology.test.ts',
            name: 'readings in through the broker, alerts out; a detect worker killed with SIGKILL and restarted loses nothing',
          },
        ],
      },
    ],
    residual:
      "Measured sensitivity on simulated and real traces is below the goal in some programs (see known anomalies A1, A2). Vigil is a secondary alarm system: the deploying organisation keeps the bedside devices' own alarms and its own observation schedule.",
  },
  {
    id: 'H2',
    title: 'Alert raised but not acted on: not delivered, not escalated',
    situation:
      'An alert is open but the notification is lost, goes to nobody, or nobody acknowledges and nobody else is told.',
    harm: 'Delayed treatment: serious deterioration or death.',
    severity: 'catastrophic',
    causes: [
      'a notification channel (webhook, e-mail, SMS) fails',
      'the process holding an escalation timer dies',
      'the escalation policy is malformed or routes outside working hours to nobody',
      'the clinician is removed from the care team while the feed is open',
    ],
    controls: [
      {
        what: 'Timed escalation to the next tier while unacknowledged, repeating the last tier; timers are durable in the database.',
        code: ['src/alerts/alert-state.ts', 'src/alerts/escalation-policy.ts', 'src/alerts/scheduler.ts'],
        tests: [
          {
            file: 'src/alerts/alert-state.test.ts',
            name: 'timer escalation moves an unacknowledged alert up a tier and repeats the last tier',
          },
          {
            file: 'test/alerts/alert-manager.test.ts',
            name: 'notifies the first tier of the care team and escalates on time when nobody acknowledges',
          },
          { file: 'test/alerts/alert-manager.test.ts', name: 'repeats the last tier until acknowledged' },
        ],
      },
      {
        what: 'Escalation policies are validated; every severity has a valid default.',
        code: ['src/alerts/escalation-policy.ts'],
        tests: [
          { file: 'src/alerts/escalation-policy.test.ts', name: 'names the first bad value' },
          { file: 'src/alerts/escalation-policy.test.ts', name: 'has a valid default for every severity' },
          { file: 'src/alerts/escalation-policy.test.ts', name: 'handles an overnight window' },
        ],
      },
      {
        what: 'Notifications go through a durable outbox with retries and backoff until delivered or expired; every attempt is logged.',
        code: ['src/alerts/outbox.ts', 'src/alerts/webhook.ts'],
        tests: [
          {
            file: 'test/alerts/webhook-outbox.test.ts',
            name: 'retries a flaky receiver with backoff until delivered; the delivery is signed and every attempt logged',
          },
          {
            file: 'test/alerts/webhook-outbox.test.ts',
            name: 'gives up only at the configured expiry, marked expired',
          },
          {
            file: 'test/alerts/alert-manager.test.ts',
            name: 'retries a failed gateway delivery with backoff and logs every attempt',
          },
        ],
      },
      {
        what: 'A pending escalation and an undelivered notification survive kill -9; with two workers, each alert escalates exactly once.',
        code: ['src/alerts/scheduler.ts', 'src/alerts/outbox.ts'],
        tests: [
          {
            file: 'test/alerts/kill-restart.test.ts',
            name: 'a pending escalation and an undelivered notification happen after SIGKILL and restart',
          },
          {
            file: 'test/alerts/alert-manager.test.ts',
            name: 'two workers polling the same timers escalate each alert exactly once',
          },
          {
            file: 'test/alerts/two-workers-kill.test.ts',
            name: 'the survivor escalates once and delivers what the dead worker left',
          },
        ],
      },
    ],
    residual:
      "Delivery outside Vigil (a pager network, a phone) is not observed beyond the gateway's answer. Time to acknowledge is measured (`GET /api/v1/alerts/metrics`) for the organisation to review.",
  },
  {
    id: 'H3',
    title: 'False alarm and alarm fatigue',
    situation:
      'Alerts fire on artefacts (probe off, motion, a wobbling value) so often that staff learn to ignore them, and a true alert is then ignored too.',
    harm: 'A true alert ignored: delayed treatment; staff time taken from care.',
    severity: 'critical',
    causes: [
      'motion or low-perfusion artefacts on pulse oximetry; ECG muscle noise',
      'a value that flaps around the threshold',
      'a single high home blood pressure that a repeat would not confirm',
      'several rules alerting for one condition',
      'repeated notifications of one open condition',
    ],
    controls: [
      {
        what: 'Persistence delays and hysteresis: a short dip does not fire; a wobble keeps one alert open.',
        code: ['src/detect/engine.ts', 'src/detect/condition-tracker.ts'],
        tests: [
          {
            file: 'src/detect/engine.test.ts',
            name: 'persistence: a 10 s dip does not fire, a 15 s dip does',
          },
          {
            file: 'src/detect/engine.test.ts',
            name: 'hysteresis: fires below 90, holds at 91–92, clears at 93',
          },
          {
            file: 'src/detect/rules.test.ts',
            name: 'a wobble back above the clear level for less than clearSeconds keeps one alert open',
          },
          {
            file: 'src/detect/condition-tracker.test.ts',
            name: 'a downgrade is taken only after downgradeDwellSeconds, so flapping does not re-notify',
          },
        ],
      },
      {
        what: 'Signal-quality gating: flagged SpO2, ECG noise contradicted by the pleth pulse, and probe-off drops do not alarm.',
        code: ['src/detect/signal-quality.ts', 'src/detect/engine.ts'],
        tests: [
          {
            file: 'src/detect/engine.test.ts',
            name: 'signal-quality gating: low-perfusion and motion-artifact SpO2 are ignored',
          },
          {
            file: 'src/detect/signal-quality.test.ts',
            name: 'ECG muscle noise at 160 beside a motion-flagged normal pleth pulse does not alarm',
          },
          {
            file: 'src/detect/signal-quality.test.ts',
            name: 'a probe-off drop that recovers within the minute raises nothing',
          },
        ],
      },
      {
        what: 'Confirm at home: a first crisis-range home blood pressure asks for a repeat before alerting (an extreme value alarms at once).',
        code: ['src/detect/hypertensive-crisis.ts'],
        tests: [
          {
            file: 'src/detect/confirm-at-home.test.ts',
            name: 'a first 190/100 opens a repeat request, not the alert; a repeat 5 min later confirms it',
          },
          {
            file: 'src/detect/confirm-at-home.test.ts',
            name: 'an extreme value (above extremeSystolic) alarms at once; without confirmRepeatMinutes every crisis does',
          },
        ],
      },
      {
        what: 'One alert per condition: further readings add evidence silently; a superseding rule opens only the higher alert; re-alerts wait for the interval.',
        code: ['src/detect/engine.ts', 'src/alerts/alert-state.ts'],
        tests: [
          {
            file: 'src/detect/engine.test.ts',
            name: 'one open condition: further low readings add evidence silently; a higher severity that holds re-fires',
          },
          {
            file: 'src/detect/engine.test.ts',
            name: 'a crisis reading opens the crisis alert only, naming the threshold it supersedes',
          },
          {
            file: 'src/detect/engine.test.ts',
            name: 're-alert interval: same severity re-fires only after realertMinutes',
          },
          {
            file: 'test/pipeline/detection.e2e.test.ts',
            name: 'updates the same alert when the condition repeats and worsens (7 → critical), no duplicate',
          },
        ],
      },
      {
        what: 'Alarm burden is measured per severity and team so the organisation can review it.',
        code: ['src/alerts/alert-metrics.ts'],
        tests: [
          {
            file: 'test/alerts/alert-manager.test.ts',
            name: 'measures time to acknowledge and resolve per severity and team, escalations and alarm burden',
          },
        ],
      },
    ],
    residual:
      'Measured alerts per stable patient-day are above the goal for CGM and inpatient continuous monitoring (known anomaly A2). Alarm burden across patients and units is not yet measured.',
  },
  {
    id: 'H4',
    title: 'Wrong patient',
    situation:
      "A reading is stored under, or an alert raised for, a patient other than the one measured; or a clinician acts on another patient's data.",
    harm: 'Treatment given to the wrong patient or withheld from the right one.',
    severity: 'catastrophic',
    causes: [
      'a device handed from one patient to the next without a new assignment',
      'readings recorded on the device before it was assigned',
      'a device posting data for a patient it is not assigned to',
      'a shared device credential',
    ],
    controls: [
      {
        what: 'Device↔patient assignments are time-bounded; a reading is attributed by its own time; unassigned readings wait unattributed and are attributed when an assignment covers them.',
        code: [
          'src/devices/device-service.ts',
          'src/ingest/ingest-service.ts',
          'src/store/observation-repository.ts',
        ],
        tests: [
          {
            file: 'test/ingest/ingest.test.ts',
            name: 'attributes a reading to the patient the device was assigned to at the reading’s own time; unassigned readings wait, then are attributed',
          },
          { file: 'test/cli/device-cli.test.ts', name: 'assigns it to a patient for a period and lists it' },
        ],
      },
      {
        what: "Unattributed or un-enrolled patients' readings are not evaluated by the rules.",
        code: ['src/detect/engine.ts', 'src/pipeline/detection-stage.ts'],
        tests: [
          {
            file: 'src/detect/engine.test.ts',
            name: 'ignores readings of unenrolled or unattributed patients',
          },
          {
            file: 'test/pipeline/detection-stage.test.ts',
            name: 'evaluates nothing for unattributed or un-enrolled patients and follows configuration changes at once',
          },
        ],
      },
      {
        what: 'Each device has its own credential and may publish only for itself and its assigned patient.',
        code: [
          'src/devices/device-credentials.ts',
          'src/auth/access-policy.ts',
          'src/ingest/mqtt/embedded-broker.ts',
        ],
        tests: [
          {
            file: 'test/pipeline/every-path.test.ts',
            name: 'a device may post a gateway bundle only for the patient it is assigned to, and creates no Patient',
          },
          {
            file: 'src/auth/access-policy.test.ts',
            name: 'a device on FHIR (PHD gateway): creates Observations for its assigned patient or none, and Devices; nothing else',
          },
          {
            file: 'test/nightscout/nightscout.test.ts',
            name: 'refuses a wrong secret, another device’s secret, and a missing credential',
          },
        ],
      },
    ],
    residual:
      "Vigil cannot tell who is wearing a device: a correct assignment is the organisation's process (assign and end assignments when a device changes hands).",
  },
  {
    id: 'H5',
    title: 'Stale data presented or scored as current',
    situation:
      'A score, a worklist rank or a chart uses old readings as if they were recent, so a changed patient looks unchanged.',
    harm: 'Delayed treatment.',
    severity: 'critical',
    causes: [
      'a NEWS2 parameter measured hours ago',
      'a device clock far off (time in the future or the past)',
      'the dashboard has lost contact with the server',
      'detection running behind ingest',
    ],
    controls: [
      {
        what: 'NEWS2 uses each parameter only within its freshness window; older parameters make the score partial.',
        code: ['src/detect/news2.ts'],
        tests: [
          {
            file: 'src/detect/news2.test.ts',
            name: 'stale parameters are not used: no score after the freshness window',
          },
          {
            file: 'src/detect/news2.test.ts',
            name: 'a temperature 5 h old still scores (freshness 360 min); at 6 h + 1 s it is stale and the score is partial',
          },
        ],
      },
      {
        what: 'Reading times far after receipt are refused; device clock drift raises a device alert; readings without a zone are flagged.',
        code: [
          'src/normalize/time.ts',
          'src/detect/device-health.ts',
          'src/normalize/profiles/hl7v2-pcd01.ts',
        ],
        tests: [
          {
            file: 'src/normalize/profiles/native-json.test.ts',
            name: 'time more than 5 minutes after receipt is refused; 4 minutes of drift is fine',
          },
          {
            file: 'src/detect/rules.test.ts',
            name: 'low battery, clock drift and errors raise device-scoped conditions',
          },
          {
            file: 'src/normalize/profiles/hl7v2-pcd01.test.ts',
            name: 'maps a bedside monitor with UCUM units; unmapped MDC codes are skipped; zone-less time is flagged',
          },
        ],
      },
      {
        what: 'The deployment reports whether detection keeps up (ok / delayed / stopped); every dashboard screen shows a bar when it does not, or when the server cannot be reached.',
        code: ['src/pipeline/service-health.ts', 'src/api/routes/service-status.ts', 'web/src/App.tsx'],
        tests: [
          {
            file: 'test/e2e/downtime-bar.test.ts',
            name: 'says when monitoring is stopped and when Vigil cannot be reached, and clears when all is well',
          },
          {
            file: 'test/pipeline/service-health.test.ts',
            name: 'delayed since the newest evaluated reading when commits run more than the delay ahead',
          },
          {
            file: 'test/pipeline/service-health.test.ts',
            name: 'stopped when readings are committed and no detector has beaten within the stale time',
          },
        ],
      },
    ],
    residual: 'The bar and the status behind it are tested in two halves (known anomaly A4).',
  },
  {
    id: 'H6',
    title: 'Outage: Vigil down and nobody knows',
    situation:
      'The server, the database or the broker stops; readings are not stored or not evaluated; clinicians believe they are being watched.',
    harm: 'Missed alarms for every monitored patient during the outage.',
    severity: 'catastrophic',
    causes: ['process crash or host failure', 'database unavailable', 'external broker down', 'network cut'],
    controls: [
      {
        what: 'When the database stops answering, ingest answers a coded 503 with Retry-After and /ready says 503: devices keep and resend; nothing is half-stored.',
        code: ['src/ingest/ingest-service.ts', 'src/api/routes/health.ts'],
        tests: [
          {
            file: 'test/ingest/database-down.test.ts',
            name: 'ingest answers a coded 503 with Retry-After, /ready 503; nothing is stored; all well again after',
          },
        ],
      },
      {
        what: "A dead-man's switch: every api worker posts a signed monitoring status to an external watchdog, so silence pages someone outside Vigil.",
        code: ['src/pipeline/watchdog.ts'],
        tests: [
          {
            file: 'test/pipeline/watchdog.test.ts',
            name: 'posts the monitoring status signed with the shared secret',
          },
          {
            file: 'test/pipeline/watchdog.test.ts',
            name: 'refuses a watchdog URL without a secret long enough to sign with',
          },
        ],
      },
      {
        what: 'Heartbeats of every process make a stopped detector visible, and a replaced process clears the state.',
        code: ['src/pipeline/service-health.ts'],
        tests: [
          {
            file: 'test/pipeline/service-health.test.ts',
            name: 'stopped when readings are committed and no detector has beaten within the stale time',
          },
          {
            file: 'test/pipeline/service-health.test.ts',
            name: 'a dead process’s last commit does not keep the status delayed once a new process runs',
          },
        ],
      },
      {
        what: 'Starting while the external broker is down is reported on /ready and recovers when the broker returns.',
        code: ['src/ingest/mqtt/external-broker-client.ts'],
        tests: [
          {
            file: 'test/broker/external-broker-durability.test.ts',
            name: 'starts while the broker is down, reports it on /ready, and takes readings once it is up',
          },
        ],
      },
    ],
    residual:
      "The downtime procedure (docs/downtime.md) is the organisation's to adopt; a watchdog must be configured (VIGIL_WATCHDOG_URL) for the dead-man's switch to exist.",
  },
  {
    id: 'H7',
    title: 'Wrong units or wrong value',
    situation:
      'A value is stored or shown in the wrong unit (mmol/L read as mg/dL, °F as °C, lb as kg) or a garbled value is taken as a measurement.',
    harm: 'A dangerous value looks normal (missed alarm) or a normal one looks dangerous (wrong treatment).',
    severity: 'critical',
    causes: [
      'vendor payloads with non-UCUM or missing units',
      'unit conversion errors',
      'garbled or out-of-range values',
      'a FHIR client posting Observations in other units',
    ],
    controls: [
      {
        what: 'Units are mapped to UCUM and converted by definition; a conversion across dimensions is refused; unknown spellings are not guessed.',
        code: ['src/normalize/units.ts', 'src/normalize/reading-draft.ts'],
        tests: [
          {
            file: 'src/normalize/units.test.ts',
            name: 'glucose: mmol/L ↔ mg/dL with the glucose-specific factor 18.016',
          },
          { file: 'src/normalize/units.test.ts', name: 'conversion across dimensions is refused' },
          { file: 'src/normalize/units.test.ts', name: 'common spellings map to UCUM, unknown ones do not' },
          { file: 'src/normalize/units.test.ts', name: 'temperature: °F ↔ °C by the scale definitions' },
        ],
      },
      {
        what: 'Implausible values are refused (kept as a dead letter), never clamped; the same rules apply to FHIR input.',
        code: ['src/normalize/reading-draft.ts', 'src/normalize/fhir-observation.ts'],
        tests: [
          {
            file: 'src/normalize/profiles/native-json.test.ts',
            name: 'implausible values are refused, never clamped',
          },
          {
            file: 'src/normalize/fhir-observation.test.ts',
            name: 'observationToReading applies plausibility and unit rules to FHIR input too',
          },
        ],
      },
      {
        what: 'Glucose rules convert mmol/L readings before comparing with mg/dL thresholds; glucose is stored in the program unit with the original kept.',
        code: ['src/detect/glucose.ts', 'src/normalize/profiles/native-json.ts'],
        tests: [
          {
            file: 'src/detect/glucose.test.ts',
            name: 'mmol/L readings are converted (3.0 mmol/L ≈ 54 mg/dL is level 1, 2.9 level 2)',
          },
          {
            file: 'src/normalize/profiles/native-json.test.ts',
            name: 'glucose goes to the program unit; original kept; code follows the unit',
          },
          {
            file: 'src/normalize/profiles/hl7v2-pcd01.test.ts',
            name: 'converts °F to Cel, keeps the original, and glucose follows the program unit',
          },
        ],
      },
    ],
    residual:
      'A vendor template maps a payload as its author wrote it; a wrong template is a configuration error of the organisation (templates are versioned and audited).',
  },
  {
    id: 'H8',
    title: 'Data loss or duplication',
    situation:
      'A reading acknowledged to its device is lost, or stored twice, so trends, counts and alerts are wrong.',
    harm: 'Missed alarm (lost reading) or false alarm and wrong billing (duplicate).',
    severity: 'critical',
    causes: [
      'a crash between acknowledgement and commit',
      'device resends',
      'broker restarts',
      'disk loss without backup',
    ],
    controls: [
      {
        what: 'A reading is acknowledged only after its group commit (HTTP answer, MQTT PUBACK, HL7 ACK).',
        code: [
          'src/ingest/batch-writer.ts',
          'src/ingest/ingest-service.ts',
          'src/ingest/mqtt/embedded-broker.ts',
        ],
        tests: [
          {
            file: 'src/ingest/batch-writer.test.ts',
            name: 'with concurrency 2 keeps two transactions in flight, acks each after its own commit, delivers in order',
          },
          {
            file: 'test/e2e/walking-skeleton.test.ts',
            name: 'stores a reading published with MQTT QoS 1 durably and serves it back after a clean restart',
          },
          {
            file: 'test/ingest/external-broker.test.ts',
            name: 'receives what a device published while Vigil was down, once, acknowledged after the commit',
          },
        ],
      },
      {
        what: 'An idempotency key per reading makes every redelivery a duplicate of the stored reading, never a second row.',
        code: ['src/store/observation-repository.ts'],
        tests: [
          {
            file: 'test/ingest/batch-duplicates.test.ts',
            name: 'two messages carrying the same reading in one group commit: accepted once, duplicate once',
          },
          {
            file: 'test/store/database.contract.test.ts',
            name: 'refuses a duplicate idempotency key silently with on conflict do nothing',
          },
          {
            file: 'test/hl7v2/mllp.test.ts',
            name: 'deduplicates true resends: the same messages again are acknowledged AA and store nothing new',
          },
        ],
      },
      {
        what: 'Broker kills mid-stream lose nothing owed and store each reading once.',
        code: ['src/ingest/mqtt/external-broker-client.ts'],
        tests: [
          {
            file: 'test/broker/external-broker-durability.test.ts',
            name: 'three kill -9 of the broker mid-stream: every owed reading stored exactly once',
          },
        ],
      },
      {
        what: 'Backup and restore of the embedded database round-trip what was stored.',
        code: ['src/cli/commands/backup.ts', 'src/cli/commands/restore.ts'],
        tests: [
          {
            file: 'test/cli/backup-restore.test.ts',
            name: 'round trip: what was stored before the backup is there after a restore into a new data directory',
          },
        ],
      },
    ],
    residual:
      'Readings committed but not yet evaluated when an in-process server dies are stored but not evaluated after the restart (known anomaly A3).',
  },
  {
    id: 'H9',
    title: 'Unauthorised access to or change of patient data',
    situation:
      "Someone outside the care team, another patient, or an attacker reads or changes patient data, or forges a device's readings.",
    harm: 'Breach of confidentiality; forged readings leading to wrong treatment.',
    severity: 'critical',
    causes: [
      'stolen or guessed passwords',
      'over-broad roles',
      'a device credential used by another device',
      'tokens replayed',
      'edited records',
    ],
    controls: [
      {
        what: "Least privilege by role and care team on the management API, FHIR and the live feed; every route's access is in a matrix test.",
        code: ['src/auth/access-policy.ts', 'src/api/auth-hooks.ts', 'src/api/fhir/access.ts'],
        tests: [
          {
            file: 'test/security/fhir-access.test.ts',
            name: 'a clinician outside the care team gets 403 on read and sees nothing of that patient in searches',
          },
          { file: 'test/security/access-matrix.test.ts', name: 'access matrix' },
          {
            file: 'test/security/access-matrix.test.ts',
            name: 'live feed (WebSocket): staff are admitted, everyone else is closed with 4401/4403',
          },
        ],
      },
      {
        what: 'Password sign-in is throttled and locks after repeated failures; refresh-token reuse revokes the session.',
        code: ['src/auth/login-throttle.ts', 'src/auth/session-service.ts', 'src/auth/account-security.ts'],
        tests: [
          {
            file: 'test/security/auth-flows.test.ts',
            name: 'brute force: five wrong passwords lock the account, even the right password is then refused; unlock and expiry',
          },
          {
            file: 'test/security/auth-flows.test.ts',
            name: 'refresh rotates; reuse of an old refresh token revokes the session; revocation endpoint',
          },
        ],
      },
      {
        what: 'Device credentials are per device, refused once revoked, and a connected device is disconnected at revocation.',
        code: ['src/devices/device-credentials.ts', 'src/ingest/mqtt/embedded-broker.ts'],
        tests: [
          {
            file: 'test/ingest/ingest.test.ts',
            name: 'refuses an unknown credential, a revoked one at once, and an oversize body, each with a code',
          },
          {
            file: 'test/security/mqtt-devices.test.ts',
            name: 'a connected device is disconnected when its credential is revoked',
          },
        ],
      },
      {
        what: 'Every access to patient data is audited in a hash chain that detects an edited, removed or appended record.',
        code: ['src/audit/audit-log.ts', 'src/api/request-audit.ts'],
        tests: [
          {
            file: 'test/security/audit-chain.test.ts',
            name: 'records chain by hash; verification passes, then detects an edited, a removed and an appended-outside record',
          },
          {
            file: 'test/security/fhir-audit.test.ts',
            name: 'a search across patients names each patient it returned',
          },
        ],
      },
      {
        what: 'No patient data or secrets in logs; secrets sealed at rest.',
        code: ['src/core/logger.ts', 'src/store/secrets-at-rest.ts'],
        tests: [
          {
            file: 'test/security/logging.test.ts',
            name: 'secrets and patient data never reach the logs (sign-in, tokens, device secrets, readings)',
          },
          {
            file: 'test/security/secrets-at-rest.test.ts',
            name: 'embedded: a key file beside the data directory (0600); TOTP, webhook and signing keys sealed; usable after restart',
          },
        ],
      },
      {
        what: 'Consent gates monitoring and sharing with integrations.',
        code: ['src/consent/consent-service.ts'],
        tests: [
          {
            file: 'test/security/governance.test.ts',
            name: 'consent: a refusal of monitoring blocks assigning a device to the patient',
          },
          {
            file: 'test/security/fhir-access.test.ts',
            name: 'an integration reaches a patient only with consent: permit applies at once, and so does revocation',
          },
        ],
      },
    ],
    residual:
      "Host hardening, TLS certificates, network segmentation and account administration are the organisation's (docs/security.md).",
  },
  {
    id: 'H10',
    title: 'Device fault unnoticed',
    situation:
      'A device runs out of battery, drifts in time or reports errors; its readings stop or become unreliable.',
    harm: 'Missed alarm once the device stops; wrong values while it misbehaves.',
    severity: 'serious',
    causes: [
      'battery depletion',
      'clock drift',
      'device error codes',
      'a device that never connected after provisioning',
      'a model under recall, without a clearance, or past its end of support (no security updates)',
    ],
    controls: [
      {
        what: 'Device-health rules raise device-scoped conditions for low battery, clock drift and errors, with boundaries tested.',
        code: ['src/detect/device-health.ts'],
        tests: [
          {
            file: 'src/detect/rules.test.ts',
            name: 'low battery, clock drift and errors raise device-scoped conditions',
          },
          { file: 'src/detect/rules.test.ts', name: 'battery at 20 % is fine; 300 s offset is within limit' },
        ],
      },
      {
        what: 'The fleet view shows offline devices by their cadence, low battery, never-seen and revoked devices.',
        code: ['src/program/fleet.ts'],
        tests: [
          { file: 'src/program/fleet.test.ts', name: 'a scale (daily) silent 30 h is online, 49 h offline' },
          { file: 'src/program/fleet.test.ts', name: 'never seen, revoked, low battery below 20 %' },
        ],
      },
      {
        what: 'Each device can point at its model in the device-model catalogue; the findings list devices with no model, no clearance, end of support reached, or an open recall or advisory.',
        code: ['src/devices/device-models.ts', 'src/api/routes/device-models.ts'],
        tests: [
          {
            file: 'src/devices/device-models.test.ts',
            name: 'a model lacking a clearance, past end of support, or with open notices is a finding',
          },
          {
            file: 'test/devices/device-models.test.ts',
            name: 'findings: no model, no clearance, end of support, open recall or advisory — JSON, filter and CSV',
          },
        ],
      },
    ],
    residual:
      "Failures are not predicted ahead of time; the device-model catalogue is what the organisation records (Vigil checks its shape, not that a clearance exists), and acting on a finding is the organisation's.",
  },
];
