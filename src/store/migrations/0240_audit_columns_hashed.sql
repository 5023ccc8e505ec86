-- Audit hash v2: from `columns_hashed_from` on, each record's hash also covers its search columns
-- (id, recorded, type, subtype, action, outcome, agent, agent address, patient, entity), so an
-- edited agent_id or patient_id breaks the chain. Records before it keep their v1 hash (content
-- only); verification checks their columns against their content instead (docs/security.md).
alter table audit_chain_head add column columns_hashed_from bigint;
update audit_chain_head set columns_hashed_from = last_seq + 1 where id = 1;
alter table audit_chain_head alter column columns_hashed_from set not null;
