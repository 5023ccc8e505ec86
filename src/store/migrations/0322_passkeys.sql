-- Passkeys (WebAuthn credentials) for signing in without a password, and the one-time challenges
-- of registration and sign-in ceremonies.
create table user_passkey (
  id text primary key,             -- the credential id (base64url)
  user_id uuid not null references app_user(id) on delete cascade,
  public_key text not null,        -- COSE public key (base64url)
  counter bigint not null default 0,
  transports jsonb,
  name text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index user_passkey_user on user_passkey (user_id);

create table webauthn_challenge (
  id uuid primary key,
  user_id uuid references app_user(id) on delete cascade,
  purpose text not null check (purpose in ('register', 'sign-in')),
  challenge text not null,
  expires_at timestamptz not null
);
