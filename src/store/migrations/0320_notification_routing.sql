-- Personal notification routing: the order a person wants to be reached in, Web Push subscriptions,
-- quiet hours, on-call shifts per care team, and one row per send to one person on one channel.

-- Contact methods are tried in `priority` order (lowest first); a push subscription keeps its keys.
alter table user_contact_method add column priority integer not null default 0;
alter table user_contact_method add column details jsonb;

create table user_notification_settings (
  user_id uuid primary key references app_user(id) on delete cascade,
  -- 'HH:MM' local times in time_zone; both null = no quiet hours. An end before the start spans midnight.
  quiet_start text,
  quiet_end text,
  time_zone text not null default 'UTC',
  -- Alerts at or above this severity reach the person during quiet hours on every channel.
  breakthrough_severity text not null default 'high'
    check (breakthrough_severity in ('info', 'low', 'medium', 'high', 'critical')),
  updated_at timestamptz not null default now()
);

-- Who is on call for a care team (FHIR CareTeam id), from when to when, in which escalation role.
create table care_team_on_call (
  id uuid primary key,
  care_team_id text not null,
  user_id uuid not null references app_user(id) on delete cascade,
  role text not null default 'on-call',
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_by text,
  created_at timestamptz not null default now(),
  check (ends_at > starts_at)
);
create index care_team_on_call_team on care_team_on_call (care_team_id, ends_at);

-- Every send of a notification to one person on one channel, with its outcome.
create table notification_send (
  id uuid primary key,
  notification_id uuid not null references alert_notification(id),
  user_id uuid,
  channel text not null,
  address text,
  outcome text not null check (outcome in
    ('sent', 'failed', 'quiet-hours', 'no-contact-method', 'channel-off', 'subscription-gone')),
  status_code integer,
  error text,
  at timestamptz not null
);
create index notification_send_notification on notification_send (notification_id, at);
