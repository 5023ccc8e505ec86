-- Per-person contact methods for notifications (e-mail now; sms and push addresses beside them).
create table user_contact_method (
  user_id uuid not null references app_user(id) on delete cascade,
  kind text not null check (kind in ('email', 'sms', 'push')),
  address text not null,
  created_at timestamptz not null default now(),
  primary key (user_id, kind, address)
);
