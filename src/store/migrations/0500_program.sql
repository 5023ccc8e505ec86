-- Program: staff time spent on a patient's remote monitoring (RPM treatment management, docs/program.md).
-- One row per logged activity; `interactive` = a real-time interactive communication with the patient
-- or caregiver took place (99457/99470 need at least one per calendar month). Corrections are new rows
-- (negative minutes are refused): a billing record is never edited in place.
create table care_time (
  id uuid primary key,
  patient_id text not null,
  user_id text not null,
  username text not null,
  role text not null,
  practitioner_id text,
  started_at timestamptz not null,
  minutes integer not null check (minutes between 1 and 1440),
  activity text not null,
  interactive boolean not null default false,
  note text,
  created_at timestamptz not null
);
create index care_time_patient_start on care_time (patient_id, started_at);
create index care_time_start on care_time (started_at);
