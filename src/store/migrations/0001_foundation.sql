-- Foundation schema: devices, assignments, readings (observations), dead letters, users, FHIR resources.

create table device (
  id text primary key,
  identifier text,
  kind text not null,
  manufacturer text,
  model text,
  serial text,
  firmware text,
  -- SHA-256 of the device secret (a 256-bit random value; see docs/adr/0003-device-credentials.md)
  secret_hash text unique,
  credential_issued_at timestamptz,
  revoked_at timestamptz,
  last_seen timestamptz,
  battery_percent integer,
  clock_offset_seconds double precision,
  status jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table device_assignment (
  id uuid primary key,
  device_id text not null references device(id),
  patient_id text not null,
  period_start timestamptz not null,
  period_end timestamptz,
  created_at timestamptz not null default now(),
  check (period_end is null or period_end > period_start)
);
create index device_assignment_device on device_assignment (device_id, period_start);
create index device_assignment_patient on device_assignment (patient_id);

-- One narrow row per reading; rendered as a FHIR Observation on the way out. `resource` holds the
-- full FHIR JSON only for Observations written through the FHIR API (kept as sent).
create table observation (
  id uuid primary key,
  patient_id text,
  device_id text,
  code text not null,
  category text,
  effective timestamptz not null,
  received timestamptz not null,
  value double precision,
  unit text,
  data jsonb not null default '{}'::jsonb,
  idem_key text not null unique,
  version_id integer not null default 1,
  last_updated timestamptz not null default now(),
  resource jsonb
);
create index observation_patient_code_time on observation (patient_id, code, effective desc);
create index observation_device_time on observation (device_id, effective desc);
create index observation_unattributed on observation (device_id, effective) where patient_id is null;
create index observation_last_updated on observation (last_updated);

create table dead_letter (
  id uuid primary key,
  received timestamptz not null,
  transport text not null,
  device_id text,
  topic text,
  reason_code text not null,
  reason text not null,
  content_type text,
  payload bytea not null,
  replayed_at timestamptz,
  replay_result jsonb
);
create index dead_letter_received on dead_letter (received desc);
create index dead_letter_device on dead_letter (device_id, received desc);

create table app_user (
  id uuid primary key,
  username text not null unique,
  password_hash text not null,
  roles jsonb not null default '[]'::jsonb,
  display_name text,
  practitioner_id text,
  patient_id text,
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- FHIR resources other than Observation: versioned JSON, current version here, all versions in history.
create table fhir_resource (
  resource_type text not null,
  id text not null,
  version_id integer not null,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  content jsonb not null,
  primary key (resource_type, id)
);
create index fhir_resource_last_updated on fhir_resource (resource_type, last_updated);

create table fhir_resource_history (
  resource_type text not null,
  id text not null,
  version_id integer not null,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  content jsonb not null,
  primary key (resource_type, id, version_id)
);

-- Server-generated keys (token signing key); created on first start, never a built-in value.
create table server_key (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now()
);
