-- HL7 v2 ADT (docs/hl7v2.md § ADT): beds, visits, and the ADT messages already applied.

-- A bedside device placed at a bed: it is associated with whoever is admitted to that bed. `bed` is
-- the ADT bed key (PV1-3 point of care ^ room ^ bed ^ facility, trailing empty parts dropped).
create table bedside_device (
  device_id text primary key references device(id),
  bed text not null,
  created_at timestamptz not null default now()
);
create index bedside_device_bed on bedside_device (bed);

-- A visit as ADT drives it; the FHIR Encounter of the same id is its record.
create table adt_visit (
  encounter_id text primary key,
  patient_id text not null,
  bed text,
  status text not null check (status in ('in-progress', 'finished', 'cancelled')),
  started_at timestamptz not null,
  ended_at timestamptz,
  updated_at timestamptz not null default now()
);
create index adt_visit_patient on adt_visit (patient_id, started_at desc);
create index adt_visit_bed on adt_visit (bed) where status = 'in-progress';

-- ADT messages applied, by sender and MSH-10: a resent message is acknowledged and changes nothing.
create table adt_message (
  sender text not null,
  control_id text not null,
  event text not null,
  patient_id text,
  received_at timestamptz not null,
  primary key (sender, control_id)
);
