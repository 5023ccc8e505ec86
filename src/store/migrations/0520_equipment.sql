-- Equipment and asset tracking (docs/equipment.md): zones as a site → building → floor → unit → room
-- hierarchy (served as FHIR Location), BLE tags and the gateways that hear them, RTLS sightings, the
-- smoothed "last seen in zone X at T" per device, availability and its history (utilisation), and
-- operational (never clinical) equipment alerts.
create table location (
  id text primary key,
  name text not null,
  kind text not null check (kind in ('site', 'building', 'floor', 'unit', 'room')),
  part_of text references location(id),
  -- a zone at a building exit: tagged equipment whose smoothed zone becomes one raises "left-building"
  exit boolean not null default false,
  -- the zone name a vendor RTLS system uses for this location (its webhook names zones so)
  rtls_zone text unique,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((kind = 'site') = (part_of is null))
);
create index location_part_of on location (part_of);

-- A gateway (device of kind gateway) placed in a zone: the BLE sightings it forwards are "in" that zone.
create table rtls_receiver (
  gateway_id text primary key references device(id),
  location_id text not null references location(id),
  created_at timestamptz not null default now()
);
create index rtls_receiver_location on rtls_receiver (location_id);

-- A BLE tag (beacon) attached to a device: its identifier as the gateways report it.
create table equipment_tag (
  tag_id text primary key,
  device_id text not null unique references device(id),
  created_at timestamptz not null default now()
);

-- Every accepted sighting, raw (device time and receive time), so positions can be recomputed.
create table rtls_sighting (
  id uuid primary key,
  tag_id text not null,
  device_id text not null references device(id),
  source text not null check (source in ('ble', 'vendor')),
  reporter_id text not null,
  location_id text not null references location(id),
  rssi double precision,
  seen_at timestamptz not null,
  received_at timestamptz not null
);
create index rtls_sighting_device on rtls_sighting (device_id, seen_at);

-- The state of a tracked device: availability, the smoothed zone and the smoother's own state.
create table equipment (
  device_id text primary key references device(id),
  availability text not null default 'free' check (availability in ('in-use', 'free', 'cleaning', 'maintenance')),
  availability_since timestamptz not null,
  location_id text references location(id),
  location_since timestamptz,
  last_seen_at timestamptz,
  smoothing jsonb not null default '{}'::jsonb,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);
create index equipment_location on equipment (location_id);

-- Availability × zone over time (one open interval per device): utilisation per type and unit.
create table equipment_interval (
  id uuid primary key,
  device_id text not null references device(id),
  availability text not null,
  location_id text,
  unit_id text,
  start_at timestamptz not null,
  end_at timestamptz
);
create unique index equipment_interval_open on equipment_interval (device_id) where end_at is null;
create index equipment_interval_time on equipment_interval (start_at, end_at);

-- Operational alerts about equipment (low priority; never in the clinical alert queue).
create table equipment_alert (
  id uuid primary key,
  device_id text not null references device(id),
  kind text not null check (kind in ('left-building')),
  priority text not null default 'low' check (priority in ('low')),
  state text not null check (state in ('open', 'acknowledged', 'resolved')),
  summary text not null,
  location_id text,
  raised_at timestamptz not null,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  resolution text,
  updated_at timestamptz not null
);
create unique index equipment_alert_one_active on equipment_alert (device_id, kind) where state <> 'resolved';
create index equipment_alert_state on equipment_alert (state, raised_at desc);
