-- FHIR R4 API: search indexes for the versioned resources in fhir_resource, history and coding
-- search for Observations (kept in the narrow observation table), bulk-export jobs.

-- One row per indexed value of the CURRENT version of a resource (rewritten on every write).
create table fhir_token (
  resource_type text not null,
  id text not null,
  param text not null,
  system text,
  code text not null
);
create index fhir_token_lookup on fhir_token (resource_type, param, code, system);
create index fhir_token_owner on fhir_token (resource_type, id);

create table fhir_reference (
  resource_type text not null,
  id text not null,
  param text not null,
  target text not null -- 'Type/id'
);
create index fhir_reference_lookup on fhir_reference (resource_type, param, target);
create index fhir_reference_owner on fhir_reference (resource_type, id);

create table fhir_string (
  resource_type text not null,
  id text not null,
  param text not null,
  value text not null -- lower-cased
);
create index fhir_string_lookup on fhir_string (resource_type, param, value text_pattern_ops);
create index fhir_string_owner on fhir_string (resource_type, id);

create table fhir_date (
  resource_type text not null,
  id text not null,
  param text not null,
  low timestamptz not null,
  high timestamptz not null -- exclusive
);
create index fhir_date_lookup on fhir_date (resource_type, param, low, high);
create index fhir_date_owner on fhir_date (resource_type, id);

-- Observation codings: every coding of every Observation, whether written by ingest (data.codings
-- beside the primary LOINC `code` column) or through FHIR (resource.code.coding), searchable by
-- jsonb containment. An expression index costs ingest nothing beyond the index maintenance.
create index observation_codings on observation
  using gin ((coalesce(resource -> 'code' -> 'coding', data -> 'codings')) jsonb_path_ops);
create index observation_time on observation (effective desc, id desc);

-- Earlier versions of Observations and tombstones of deleted ones (the current version stays in
-- observation; an ingest-created row has no history until it is first updated through FHIR).
create table observation_history (
  id uuid not null,
  version_id integer not null,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  resource jsonb not null,
  primary key (id, version_id)
);

-- Bulk Data $export jobs and their NDJSON output.
create table fhir_export_job (
  id uuid primary key,
  status text not null, -- accepted | running | completed | failed | cancelled
  level text not null, -- system | patient | group
  group_id text,
  types jsonb not null,
  since timestamptz,
  request_url text not null,
  owner_id text not null,
  error text,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);

create table fhir_export_file (
  job_id uuid not null references fhir_export_job(id) on delete cascade,
  seq integer not null,
  resource_type text not null,
  count integer not null,
  content text not null,
  primary key (job_id, seq)
);
