-- Break-glass ("emergency") access to a patient outside one's care teams (docs/break-glass.md).
-- A grant is time-limited, gives its holder the same access as a care-team member for that
-- patient, and is reviewed afterwards by a privacy officer. Kept after it ends: it is the record.
create table break_glass_grant (
  id text primary key,
  user_id uuid not null references app_user(id) on delete cascade,
  practitioner_id text not null,
  patient_id text not null,
  -- why, in the clinician's words (patient data: never logged, shown only to reviewers)
  reason text not null,
  granted_at timestamptz not null,
  expires_at timestamptz not null,
  ended_at timestamptz,
  ended_by uuid,
  -- the privacy officers were told (null: not yet; retried)
  notified_at timestamptz,
  notice_attempts integer not null default 0,
  -- a worker sending the notice holds it until then (several API workers share the table)
  notice_lease_until timestamptz,
  notice_error text,
  reviewed_at timestamptz,
  reviewed_by uuid,
  review_outcome text check (review_outcome in ('appropriate', 'inappropriate')),
  review_note text
);
create index break_glass_active on break_glass_grant (practitioner_id, expires_at) where ended_at is null;
create index break_glass_unreviewed on break_glass_grant (granted_at) where reviewed_at is null;
create index break_glass_patient on break_glass_grant (patient_id);
