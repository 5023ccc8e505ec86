-- FHIR Subscriptions (migration 0130) deliver on the alert outbox, the queue webhooks use (docs/adr/0017).
-- Outbox rows of a subscription name no alert notification: they carry the subscription (target),
-- what to send (handshake, heartbeat, event-notification) and the event number.
alter table alert_delivery alter column notification_id drop not null;
alter table alert_delivery add column subscription_kind text;
alter table alert_delivery add column event_number bigint;
