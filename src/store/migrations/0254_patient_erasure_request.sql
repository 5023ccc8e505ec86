-- A patient's request that their data be erased (the patient app's "Consent and my data"). Never a
-- self-delete: an administrator reviews it and erases through /api/v1/patients/:id/erase, or
-- declines it with a reason. The erasure removes the patient's requests with the rest of their data;
-- patient_erasure and the audit trail (erasure-requested, erasure) stay as the proof it was honoured.
create table patient_erasure_request (
  id uuid primary key,
  patient_id text not null,
  requested_by text not null,
  requested_at timestamptz not null,
  reason text,
  status text not null default 'open' check (status in ('open', 'declined')),
  closed_by text,
  closed_at timestamptz,
  response text
);
create index patient_erasure_request_patient on patient_erasure_request (patient_id, requested_at desc);
create index patient_erasure_request_open on patient_erasure_request (requested_at) where status = 'open';
