-- Alerts: lifecycle, timeline, durable timers, notification outbox, webhooks, escalation policies.

create table alert (
  id uuid primary key,
  patient_id text not null,
  condition_key text not null,
  rule text not null,
  severity text not null,
  state text not null check (state in ('open', 'acknowledged', 'snoozed', 'escalated', 'resolved')),
  summary text not null,
  evidence jsonb not null default '[]'::jsonb,
  data jsonb not null default '{}'::jsonb,
  device_id text,
  raised_at timestamptz not null,
  last_detection_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  acknowledged_at timestamptz,
  acknowledged_by text,
  first_acknowledged_at timestamptz,
  snoozed_until timestamptz,
  snoozed_by text,
  assigned_to text,
  resolved_at timestamptz,
  resolved_by text,
  resolution text,
  escalation_tier integer not null default 0,
  escalation_count integer not null default 0,
  version integer not null default 1
);
-- One active alert per (patient, condition): a second firing updates it, never a second alert.
create unique index alert_one_active on alert (patient_id, condition_key) where state <> 'resolved';
create index alert_state_created on alert (state, created_at desc);
create index alert_patient_created on alert (patient_id, created_at desc);
create index alert_created on alert (created_at desc);

-- The timeline: every transition with who, when and an optional note.
create table alert_event (
  id uuid primary key,
  alert_id uuid not null references alert(id),
  at timestamptz not null,
  type text not null,
  actor_kind text not null,
  actor_id text not null,
  actor_name text,
  from_state text,
  to_state text not null,
  note text,
  data jsonb not null default '{}'::jsonb
);
create index alert_event_alert on alert_event (alert_id, at, id);

-- Escalations and snooze ends as rows with due times: they survive a kill -9 and are shared by workers.
create table alert_timer (
  alert_id uuid not null references alert(id),
  kind text not null check (kind in ('escalate', 'snooze-end')),
  due_at timestamptz not null,
  created_at timestamptz not null,
  primary key (alert_id, kind)
);
create index alert_timer_due on alert_timer (due_at);

create table alert_notification (
  id uuid primary key,
  alert_id uuid not null references alert(id),
  reason text not null,
  tier integer not null,
  severity text not null,
  recipients jsonb not null default '[]'::jsonb,
  -- What was sent: the alert as it was when the notification was decided.
  payload jsonb not null,
  created_at timestamptz not null
);
create index alert_notification_alert on alert_notification (alert_id, created_at);

-- The outbox: one row per (notification, channel target), retried with backoff until delivered or expired.
create table alert_delivery (
  id uuid primary key,
  notification_id uuid not null references alert_notification(id),
  channel text not null,
  target text not null,
  status text not null check (status in ('pending', 'delivered', 'expired')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  expires_at timestamptz not null,
  created_at timestamptz not null,
  delivered_at timestamptz,
  last_error text
);
create index alert_delivery_due on alert_delivery (next_attempt_at) where status = 'pending';
create index alert_delivery_notification on alert_delivery (notification_id);

create table alert_delivery_attempt (
  id uuid primary key,
  delivery_id uuid not null references alert_delivery(id),
  attempt integer not null,
  at timestamptz not null,
  ok boolean not null,
  status_code integer,
  error text,
  duration_ms integer not null
);
create index alert_delivery_attempt_delivery on alert_delivery_attempt (delivery_id, attempt);

create table webhook_subscription (
  id uuid primary key,
  url text not null,
  -- HMAC key: needed in clear to sign; shown once at creation, never returned afterwards.
  secret text not null,
  description text,
  severities jsonb,
  enabled boolean not null default true,
  expiry_seconds integer not null default 86400,
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table escalation_policy (
  severity text primary key,
  config jsonb not null,
  updated_at timestamptz not null,
  updated_by text
);
