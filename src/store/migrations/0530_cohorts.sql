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
