-- Consent and data governance. Consents themselves are FHIR Consent resources in fhir_resource;
-- here: retention per data class (days; null = keep) and the record of erasures.

create table retention_policy (
  data_class text primary key,
  days integer check (days is null or days >= 1),
  updated_at timestamptz not null default now()
);
insert into retention_policy (data_class, days) values
  ('observation', null),
  ('dead_letter', 90),
  ('auth_session', 30),
  ('login_throttle', 30),
  ('audit_event', 2190);

create table patient_erasure (
  patient_id text primary key,
  erased_at timestamptz not null,
  erased_by text not null,
  counts jsonb not null
);
