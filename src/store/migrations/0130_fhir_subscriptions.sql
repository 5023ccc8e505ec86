-- FHIR Subscriptions (R4 Subscriptions Backport IG, topic-based; docs/fhir.md, docs/adr/0017).
-- A subscription, its numbered events (kept for `$events` replay), and its notifications queued on
-- the alert outbox (alert_delivery), the one durable queue that also carries webhooks.
create table fhir_subscription (
  id uuid primary key,
  -- the Subscription as accepted; `status` below is the truth, written into it when served
  resource jsonb not null,
  topic text not null,
  status text not null check (status in ('requested', 'active', 'error', 'off')),
  -- who created it (the principal's kind, id, roles, scopes, patient and practitioner links):
  -- events and deliveries are decided for them, again at delivery
  owner jsonb not null,
  owner_id text not null,
  -- the `_criteria` filter, parsed: the patient whose events are wanted (null: every readable patient)
  filter_patient text,
  events_since_start bigint not null default 0,
  last_sent_at timestamptz,
  last_error text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index fhir_subscription_topic on fhir_subscription (topic) where status in ('active', 'error');
create index fhir_subscription_owner on fhir_subscription (owner_id);

-- One row per event of a subscription, numbered from 1 (eventsSinceSubscriptionStart), written in
-- the transaction that stores what it is about (the reading, the alert change).
create table fhir_subscription_event (
  subscription_id uuid not null references fhir_subscription(id) on delete cascade,
  event_number bigint not null,
  at timestamptz not null,
  -- the focus, 'Observation/<id>' or 'Flag/<id>'
  focus text not null,
  patient_id text,
  primary key (subscription_id, event_number)
);
-- Their outbox rows are alert_delivery rows (migration 0339: that table is created by 0300).
