-- The payload format a dead letter was received as (json, gatt:2A35, mdc, hl7v2, nightscout, …), so a
-- replay runs it through the same profile whatever the transport.
alter table dead_letter add column format text;
