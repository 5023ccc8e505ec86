-- Coding search without a GIN entry per ingest reading.
--
-- 0100 indexed the codings of every observation row (coalesce(resource.code.coding, data.codings)),
-- which roughly halved PGlite's batched ingest throughput. Ingest rows' extra codings are few and
-- come from normalize's code tables (the code's fixed extra codings, or the MDC code a device sent,
-- which maps to the row's primary code), so the FHIR layer finds them through the candidate primary
-- codes on (patient_id, code, effective) and rechecks data.codings (src/api/fhir/search/ingest-codings.ts).
-- Only Observations written through FHIR (resource not null), whose codings can be anything, keep
-- a GIN index; ingest rows do not satisfy the predicates below and cost these indexes nothing.
drop index if exists observation_codings;
create index observation_fhir_codings on observation
  using gin ((resource -> 'code' -> 'coding') jsonb_path_ops) where resource is not null;
create index observation_fhir_patient_time on observation (patient_id, effective desc)
  where resource is not null;
