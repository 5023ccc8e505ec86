-- Detection: per-patient monitoring configuration (versioned), custom programs, durable engine state.

-- Every change of a patient's monitoring configuration is a new row; the highest version is in force.
-- `enrolment` is the detect module's PatientEnrolment (programs, spo2Scale, onOxygen, rule overrides,
-- disable, add); null = monitoring ended (the patient's readings are no longer evaluated).
create table monitoring_config (
  patient_id text not null,
  version integer not null,
  enrolment jsonb,
  changed_by text not null,
  changed_at timestamptz not null,
  reason text,
  primary key (patient_id, version)
);

-- Custom program definitions (validated like the built-in ones); versioned the same way.
create table monitoring_program (
  name text not null,
  version integer not null,
  definition jsonb,
  changed_by text not null,
  changed_at timestamptz not null,
  primary key (name, version)
);

-- Rule-engine state per patient (persistence windows, NEWS2 inputs, gap timers, open conditions),
-- saved periodically and at stop by the detection stage, restored at start / partition takeover.
create table engine_state (
  patient_id text primary key,
  state jsonb not null,
  saved_at timestamptz not null
);
