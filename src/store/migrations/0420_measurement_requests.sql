-- Measurement requests: detection asks a patient for a repeat home reading (repeat BP after 5 min,
-- re-weigh, SpO2 at rest) before it alarms on a first out-of-range spot reading. One row per request,
-- keyed by the reading that opened it; it closes fulfilled (linked to the reading that answered it),
-- expired (no reading in the window) or cancelled (an extreme reading alarmed at once).
create table measurement_request (
  id uuid primary key,
  patient_id text not null,
  kind text not null,
  code text not null,
  rule_id text,
  status text not null check (status in ('open', 'fulfilled', 'expired', 'cancelled')),
  outcome text not null,
  trigger_reading_id text not null,
  fulfilled_by text,
  requested_at timestamptz not null,
  not_before timestamptz not null,
  due_by timestamptz not null,
  closed_at timestamptz,
  instruction text,
  summary text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
-- A redelivered detection finds its request: one per (patient, kind, opening reading).
create unique index measurement_request_trigger on measurement_request (patient_id, kind, trigger_reading_id);
create index measurement_request_patient on measurement_request (patient_id, requested_at desc);
