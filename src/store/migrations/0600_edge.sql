-- Edge gateway (`vigil edge`, docs/edge.md). One schema for both sides of the uplink: the hub uses
-- the store-and-forward queue, the centre the tables of the gateways it manages.

-- Hub: every record the edge commits to send, in commit order (seq). A reading is queued in the
-- same transaction as its own row, an alert version by the sweep after its transaction: a kill -9
-- loses neither. Rows leave the queue only when the centre has answered for them.
create table edge_outbox (
  seq bigserial primary key,
  kind text not null check (kind in ('reading', 'alert', 'summary')),
  device_id text,
  ref_id text not null,
  ref_version integer not null default 1,
  -- 'keep': alerts, spot readings, alert evidence (never dropped); 'continuous': a dense stream's
  -- reading, which may be summarised when the queue is full (oldest first, counted).
  class text not null check (class in ('keep', 'continuous')),
  payload jsonb not null,
  created_at timestamptz not null default now(),
  -- refused by the centre with a coded reason: kept, not sent again
  rejected_at timestamptz,
  rejected_reason text
);
create unique index edge_outbox_ref on edge_outbox (kind, ref_id, ref_version);
create index edge_outbox_pending on edge_outbox (seq) where rejected_at is null;
create index edge_outbox_continuous on edge_outbox (seq) where class = 'continuous' and rejected_at is null;

-- Hub: counters and cursors of the forwarder (dropped/summarised counts, the alert sweep cursor).
create table edge_state (
  key text primary key,
  value jsonb not null
);

-- Centre: which devices are behind which gateway (set by an administrator). A gateway may forward
-- only for the devices linked to it.
create table gateway_device (
  device_id text primary key references device(id),
  gateway_id text not null references device(id),
  linked_at timestamptz not null
);
create index gateway_device_gateway on gateway_device (gateway_id);

-- Centre: the centre's alert for each alert a gateway raised (one view: the same alert, not a copy
-- per resend), with the last version of the edge's alert applied and the state the hub last
-- reported (an acknowledgement or resolution at the centre is sent back until the hub reports it).
create table edge_alert (
  gateway_id text not null,
  edge_alert_id text not null,
  alert_id uuid not null references alert(id),
  edge_version integer not null,
  edge_state text not null,
  primary key (gateway_id, edge_alert_id)
);
create index edge_alert_alert on edge_alert (alert_id);

-- Centre: per-minute summaries (min/mean/max) a gateway sent in place of the full-resolution
-- readings of a continuous stream (marked summarised; the readings themselves stayed on the hub).
create table edge_summary (
  id text primary key,
  gateway_id text not null,
  device_id text not null,
  patient_id text,
  code text not null,
  unit text,
  minute timestamptz not null,
  n integer not null,
  min double precision not null,
  mean double precision not null,
  max double precision not null,
  received timestamptz not null
);
create index edge_summary_device on edge_summary (device_id, code, minute);
