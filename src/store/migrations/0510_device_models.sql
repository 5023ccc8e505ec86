-- Device-model catalogue: the regulatory record of each model (served as FHIR DeviceDefinition),
-- recalls and advisories recorded against a model, and the model each registered device is.
create table device_model (
  id text primary key,
  manufacturer text not null,
  model text not null,
  device_kind text,
  -- UDI device identifier (GS1 GTIN, HIBCC or ICCBBA), unique where given
  udi_di text unique,
  fda_class text check (fda_class in ('I', 'II', 'III')),
  fda_pathway text check (fda_pathway in ('510k', 'de-novo', 'pma', 'exempt')),
  fda_number text,
  eu_mdr_class text check (eu_mdr_class in ('I', 'IIa', 'IIb', 'III')),
  ce_notified_body text,
  software_version text,
  sbom_url text,
  end_of_support date,
  notes text,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table device_model_advisory (
  id uuid primary key,
  model_id text not null references device_model(id),
  kind text not null check (kind in ('recall', 'advisory', 'field-safety-notice')),
  -- the issuer's reference (an FDA recall number, a field safety notice number); one row per reference
  reference text not null,
  title text not null,
  issued_on date not null,
  status text not null check (status in ('open', 'closed')),
  closed_on date,
  url text,
  affected_versions text,
  source text not null check (source in ('manual', 'csv')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (model_id, reference)
);
create index device_model_advisory_open on device_model_advisory (model_id) where status = 'open';

alter table device add column model_id text references device_model(id);
create index device_model_id on device (model_id);
