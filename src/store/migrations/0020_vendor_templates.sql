-- Vendor mapping templates (declarative JSON → readings), managed through the API. Every change is a
-- new immutable version; readings and dead letters name the template they came through, so a replay
-- after a fix runs the payload through the version assigned then.
create table vendor_template (
  name text not null,
  version integer not null check (version > 0),
  spec jsonb not null,
  created_at timestamptz not null default now(),
  created_by text,
  primary key (name, version)
);

-- Which devices may send through a template: one device, or every device of a model (device.model).
-- `version` pins one version; null follows the newest. A device's own assignment wins over its model's.
create table vendor_template_assignment (
  id uuid primary key,
  template text not null,
  version integer,
  device_id text references device(id),
  device_model text,
  created_at timestamptz not null default now(),
  created_by text,
  check ((device_id is null) <> (device_model is null))
);
create unique index vendor_template_assignment_device on vendor_template_assignment (template, device_id)
  where device_id is not null;
create unique index vendor_template_assignment_model on vendor_template_assignment (template, device_model)
  where device_model is not null;
