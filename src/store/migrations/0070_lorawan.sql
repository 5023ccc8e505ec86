-- LoRaWAN network-server integrations (ChirpStack v4, The Things Stack v3) and vendor payload codecs
-- per device model (docs/lorawan.md).
create table lorawan_integration (
  id text primary key,
  network text not null check (network in ('chirpstack', 'tts')),
  name text not null,
  -- SHA-256 of the integration's bearer secret (shown once, like device credentials)
  secret_hash text not null unique,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table lorawan_codec (
  model text not null,
  version integer not null,
  source text not null,
  -- a mapping template applied to the codec's output when it is not Vigil's native reading format
  template text,
  created_at timestamptz not null default now(),
  created_by text,
  primary key (model, version)
);
