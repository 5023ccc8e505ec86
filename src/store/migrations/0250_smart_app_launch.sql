-- SMART App Launch 2 and Backend Services (docs/smart.md).

-- SMART clients share the integrations' table (one client id space; a revoked client's tokens stop
-- at once through the same check). kind: integration (client secret, system scopes; /auth/oauth2/token),
-- public (browser or native app, PKCE, no secret), confidential (app with a client secret),
-- backend (SMART Backend Services: private_key_jwt against a registered JWKS or JWKS URL).
alter table oauth_client alter column secret_hash drop not null;
alter table oauth_client add column kind text not null default 'integration';
alter table oauth_client add column redirect_uris jsonb not null default '[]'::jsonb;
alter table oauth_client add column jwks jsonb;
alter table oauth_client add column jwks_uri text;
alter table oauth_client add column launch_url text;

-- A sign-in through a SMART app is a session like any other (sign-out, revocation, refresh rotation),
-- carrying the app, the granted scopes and the launch patient.
alter table auth_session add column smart_client_id text;
alter table auth_session add column smart_scopes jsonb;
alter table auth_session add column smart_patient_id text;

-- EHR launch contexts, created by a clinician or administrator (POST /api/v1/smart/launch).
create table smart_launch (
  id text primary key,
  user_id uuid not null references app_user(id) on delete cascade,
  patient_id text not null,
  client_id text,
  created_at timestamptz not null,
  expires_at timestamptz not null
);

-- Authorization requests between /oauth/authorize and the user's decision (ids stored as SHA-256).
create table smart_authorization (
  id_hash text primary key,
  client_id text not null,
  params jsonb not null,
  user_id uuid references app_user(id) on delete cascade,
  consent_hash text,
  created_at timestamptz not null,
  expires_at timestamptz not null
);

-- Authorization codes (single use, short-lived, stored as SHA-256).
create table smart_code (
  code_hash text primary key,
  client_id text not null,
  user_id uuid not null references app_user(id) on delete cascade,
  redirect_uri text not null,
  code_challenge text not null,
  scopes jsonb not null,
  patient_id text,
  nonce text,
  session_id uuid,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz
);

-- Client assertion ids seen (private_key_jwt replay protection), kept until the assertion expires.
create table smart_assertion_jti (
  client_id text not null,
  jti text not null,
  expires_at timestamptz not null,
  primary key (client_id, jti)
);
