-- Audit log: FHIR AuditEvent per record, append-only and hash-chained (each record's hash covers
-- its canonical JSON and the previous record's hash). The chain head row serializes writers across
-- workers (select … for update); `base_*` is where verification starts after a retention purge.

create table audit_event (
  seq bigint primary key,
  id uuid not null unique,
  recorded timestamptz not null,
  type_code text not null,
  subtype_code text,
  action text not null,
  outcome text not null,
  agent_id text,
  agent_address text,
  patient_id text,
  entity_type text,
  entity_id text,
  content jsonb not null,
  prev_hash text not null,
  hash text not null
);
create index audit_event_recorded on audit_event (recorded);
create index audit_event_patient on audit_event (patient_id, recorded) where patient_id is not null;
create index audit_event_agent on audit_event (agent_id, recorded);

create table audit_chain_head (
  id integer primary key check (id = 1),
  last_seq bigint not null,
  last_hash text not null,
  base_seq bigint not null,
  base_hash text not null
);
insert into audit_chain_head (id, last_seq, last_hash, base_seq, base_hash)
values (1, 0, repeat('0', 64), 0, repeat('0', 64));

-- Append-only: no update; delete only by the retention purge, which announces itself.
create function audit_event_append_only() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' and current_setting('vigil.audit_purge', true) = 'on' then
    return old;
  end if;
  raise exception 'audit_event is append-only';
end;
$$;
create trigger audit_event_append_only before update or delete on audit_event
  for each row execute function audit_event_append_only();
