-- Alarm settings under change control: a program's rule-field overrides (thresholds, persistence,
-- severities) are proposed, replayed against stored readings, reviewed by a second clinician, then
-- applied as a new version. docs/alarm-settings.md.

-- Every applied version of a program's alarm settings; the highest version is in force. `overrides`
-- is the whole set in force ({ <rule id>: { <field>: value } } over the program's definition), `diff`
-- what this version changed (rule, field, before, after).
create table alarm_settings_version (
  program text not null,
  version integer not null,
  overrides jsonb not null,
  diff jsonb not null,
  proposal_id uuid,
  applied_by text not null,
  applied_at timestamptz not null,
  reason text not null,
  primary key (program, version)
);

-- Proposed changes: proposer and reason, status proposed → approved (applied) | rejected | withdrawn.
-- `base_version` is the version in force when proposed (0 = the program's own definition): a proposal
-- whose base is no longer in force cannot be approved (its replay compared against other settings).
create table alarm_settings_proposal (
  id uuid primary key,
  program text not null,
  base_version integer not null,
  changes jsonb not null,
  reason text not null,
  status text not null check (status in ('proposed', 'approved', 'rejected', 'withdrawn')),
  proposed_by text not null,
  proposed_at timestamptz not null,
  replay jsonb,
  replayed_at timestamptz,
  replayed_by text,
  reviewed_by text,
  reviewed_at timestamptz,
  review_note text,
  applied_version integer
);
create index alarm_settings_proposal_program on alarm_settings_proposal (program, proposed_at desc);
