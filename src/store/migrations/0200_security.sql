-- Security: sign-in throttling and lockout, TOTP second factor, sessions (refresh tokens),
-- revoked access tokens, OAuth2 clients of integrations, MFA policy per role.

alter table app_user add column totp_secret text;
alter table app_user add column totp_pending_secret text;
alter table app_user add column totp_enabled boolean not null default false;
-- Last TOTP time step accepted: a code is never accepted twice.
alter table app_user add column totp_last_step bigint;
-- "Sign out everywhere": access tokens issued before this instant are refused.
alter table app_user add column tokens_valid_after timestamptz;

-- Failed sign-ins per username (also for names that do not exist, so a lockout does not reveal
-- which accounts exist).
create table login_throttle (
  username text primary key,
  failures integer not null default 0,
  lockouts integer not null default 0,
  locked_until timestamptz,
  last_failure timestamptz not null
);

-- One row per sign-in (a refresh-token family). The refresh token is stored as its SHA-256 (it is a
-- 256-bit random value, as device secrets are); the previous one is kept to detect reuse.
create table auth_session (
  id uuid primary key,
  user_id uuid not null references app_user(id) on delete cascade,
  refresh_hash text unique,
  previous_refresh_hash text,
  created_at timestamptz not null,
  last_used_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  address text
);
create index auth_session_user on auth_session (user_id) where revoked_at is null;

-- Access tokens revoked before their expiry (RFC 7009); rows are purged after expiry.
create table revoked_token (
  jti text primary key,
  expires_at timestamptz not null
);

-- Integrations (an EHR, an analytics job): OAuth2 client credentials with SMART-style scopes.
create table oauth_client (
  id text primary key,
  name text not null,
  secret_hash text not null,
  scopes jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  revoked_at timestamptz
);

-- Security settings an administrator changes at run time (e.g. roles that must use TOTP).
create table security_setting (
  name text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
insert into security_setting (name, value) values ('mfa_required_roles', '[]'::jsonb);
