-- Invitations from the care team to a patient: a one-time code (stored hashed) that lets the patient
-- create their own account for the patient app, until it expires.
create table patient_invitation (
  id uuid primary key,
  patient_id text not null,
  code_hash text not null unique,
  created_by uuid,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  used_by uuid
);
create index patient_invitation_patient on patient_invitation (patient_id, created_at);
