-- SCIM 2.0 provisioning of staff accounts by the hospital's identity provider (docs/scim.md).
-- Accounts the IdP provisions are marked so; SCIM sees and changes only those.
alter table app_user add column provisioned_by text check (provisioned_by in ('scim'));
alter table app_user add column scim_external_id text;
-- the roles the IdP sent in User.roles (the account's roles add those of its mapped groups)
alter table app_user add column scim_roles jsonb not null default '[]'::jsonb;
-- RFC 7644 §3.6: a deleted resource is gone for SCIM; the account stays disabled (audit, grants).
alter table app_user add column scim_deleted_at timestamptz;

-- Bearer tokens a SCIM client (Entra ID, Okta, …) presents, stored as SHA-256 (high-entropy secrets).
create table scim_token (
  id text primary key,
  name text not null,
  token_hash text not null unique,
  created_at timestamptz not null,
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- Groups pushed by the IdP; a group mapped in VIGIL_SCIM_GROUP_ROLES gives its members that role.
create table scim_group (
  id uuid primary key,
  display_name text not null unique,
  external_id text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create table scim_group_member (
  group_id uuid not null references scim_group(id) on delete cascade,
  user_id uuid not null references app_user(id) on delete cascade,
  primary key (group_id, user_id)
);
