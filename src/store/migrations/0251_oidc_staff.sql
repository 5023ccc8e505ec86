-- Staff sign-in through the hospital's OpenID Connect provider (docs/oidc.md).
-- An account provisioned from the IdP is bound to its issuer and subject ("issuer|sub").
alter table app_user add column external_subject text unique;

-- Sign-ins on their way through the IdP: state (as SHA-256), the browser binding, nonce, PKCE verifier.
create table oidc_login (
  state_hash text primary key,
  browser_hash text not null,
  nonce text not null,
  code_verifier text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
