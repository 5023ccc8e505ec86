-- Each Vigil process says every few seconds that it is alive and how far its stages have got, so any
-- api worker can tell clinicians when monitoring is delayed or a stage has stopped (docs/operations.md).
create table service_heartbeat (
  instance text primary key,
  role text not null,
  started_at timestamptz not null,
  beat_at timestamptz not null,
  -- ingest: the last time this process committed readings
  last_committed_at timestamptz,
  -- detection: when the newest reading it has evaluated was received, and when it evaluated it
  evaluated_received_at timestamptz,
  evaluated_at timestamptz
);
