-- Nightscout uploader credentials (docs/adr/0006-nightscout-api-secret.md). Uploaders send
-- `api-secret: SHA-1(secret)`; we keep only SHA-256 of that SHA-1 (the verifier), bound to the device
-- credential it was derived from: when the device secret is rotated or revoked, the verifier no longer
-- matches `device.secret_hash` and stops working until Nightscout access is issued again.
create table nightscout_credential (
  device_id text primary key references device(id),
  -- hex SHA-256 of the lower-case hex SHA-1 of the device secret
  api_secret_verifier text not null,
  -- device.secret_hash at the time the verifier was issued
  device_secret_hash text not null,
  issued_at timestamptz not null default now()
);
