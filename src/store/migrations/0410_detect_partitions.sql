-- Scaled-out detection (NATS JetStream): which detect worker evaluates which partition of the
-- readings stream, and how far the saved engine state of the partition's patients reaches.

-- Detect workers of a deployment (NATS prefix) that are alive: each heartbeats `seen_at`.
create table detect_worker (
  prefix text not null,
  worker_id text not null,
  seen_at timestamptz not null,
  primary key (prefix, worker_id)
);

-- One row per partition: its lease (owner until lease_until; epoch is the fencing token, +1 at each
-- claim) and `evaluated_seq`, the stream sequence of the last message of the partition whose
-- evaluation is in engine_state. Written in the same transaction as the engine state rows, only by
-- the holder of the current epoch. `stream_created` names the stream the sequence belongs to (a
-- re-created stream starts again at 1).
create table detect_partition (
  prefix text not null,
  partition integer not null,
  owner text,
  epoch bigint not null default 0,
  lease_until timestamptz,
  evaluated_seq bigint not null default 0,
  stream_created text,
  primary key (prefix, partition)
);
