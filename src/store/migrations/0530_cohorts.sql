-- Population analytics: saved cohort definitions (docs/populations.md). A definition is validated
-- before it is stored (src/program/cohort-definition.ts); the members are never stored, they are
-- evaluated on demand for the caller's access.
create table cohort (
  id uuid primary key,
  name text not null,
  description text,
  definition jsonb not null,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index cohort_name on cohort (name);

-- A cohort's program criterion looks patients up by program: without this index it would read
-- every patient's monitoring configuration (bench/cohort.bench.ts).
create index monitoring_config_programs on monitoring_config using gin ((enrolment -> 'programs') jsonb_path_ops);
