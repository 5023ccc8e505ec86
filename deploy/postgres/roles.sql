-- Least privilege on PostgreSQL (docs/operations.md): the migration role owns the schema and runs
-- `vigil migrate`; the runtime role the workers use reads and writes rows, and cannot change the
-- schema. Passwords are set by the operator afterwards: \password vigil_migrate / \password vigil_app
create role vigil_migrate login;
create role vigil_app login;
grant connect, create on database vigil to vigil_migrate;
grant connect on database vigil to vigil_app;
create schema if not exists vigil authorization vigil_migrate;
alter role vigil_migrate set search_path = vigil;
alter role vigil_app set search_path = vigil;
revoke create on schema public from public;
grant usage on schema vigil to vigil_app;
-- Tables and sequences the migration role creates later are usable by the runtime role.
alter default privileges for role vigil_migrate in schema vigil
  grant select, insert, update, delete on tables to vigil_app;
alter default privileges for role vigil_migrate in schema vigil
  grant usage, select on sequences to vigil_app;
alter default privileges for role vigil_migrate in schema vigil
  grant execute on functions to vigil_app;
