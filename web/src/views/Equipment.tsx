import { useEffect, useMemo, useState } from 'react';
import { get, post, qs, request } from '../api.ts';
import { Empty } from '../components.tsx';
import { ago, clock } from '../format.ts';

type Availability = 'in-use' | 'free' | 'cleaning' | 'maintenance';

interface Equipment {
  deviceId: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  tagId: string | null;
  availability: Availability;
  availabilitySince: string;
  locationId: string | null;
  locationSince: string | null;
  lastSeenAt: string | null;
  path: Array<{ id: string; name: string; kind: string }>;
  floorId: string | null;
  location: { id: string; name: string; kind: string; exit: boolean } | null;
  activeAlert: EquipmentAlert | null;
}

interface EquipmentAlert {
  id: string;
  deviceId: string;
  state: 'open' | 'acknowledged' | 'resolved';
  summary: string;
  raisedAt: string;
}

interface UtilisationRow {
  kind: string;
  unitId: string | null;
  unitName: string | null;
  trackedSeconds: number;
  inUseSeconds: number;
  devices: number;
}

const availabilityText: Record<Availability, string> = {
  'in-use': 'In use',
  free: 'Free',
  cleaning: 'Cleaning',
  maintenance: 'Maintenance',
};
const availabilityPill: Record<Availability, string> = {
  'in-use': 'pill pill-grey',
  free: 'pill pill-ok',
  cleaning: 'pill pill-warn',
  maintenance: 'pill pill-warn',
};
const kindText = (k: string) => k.replaceAll('-', ' ');
/** Hours, two decimals below 10 h (a few minutes do not read as 0.0). */
const hours = (seconds: number) => (seconds / 3600).toFixed(seconds < 36_000 ? 2 : 1);

/**
 * Equipment and asset tracking (docs/equipment.md): find equipment by text, kind and availability;
 * a list, or the floor → zone view; the low-priority operational alerts (a tagged device seen at a
 * building exit) kept apart from clinical alerts; the in-use share per kind and unit over 7 days.
 */
export function EquipmentView({ tick }: { tick: number }) {
  const [items, setItems] = useState<Equipment[] | null>(null);
  const [alerts, setAlerts] = useState<EquipmentAlert[]>([]);
  const [use, setUse] = useState<UtilisationRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [kind, setKind] = useState('');
  const [availability, setAvailability] = useState('');
  const [layout, setLayout] = useState<'zones' | 'list'>('zones');
  const [changed, setChanged] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick and changed drive the refresh
  useEffect(() => {
    const q = qs({
      q: text.trim() || undefined,
      kind: kind || undefined,
      availability: availability || undefined,
    });
    const t = setTimeout(() => {
      get<{ equipment: Equipment[] }>(`/api/v1/equipment${q}`)
        .then((r) => {
          setItems(r.equipment);
          setError(null);
        })
        .catch((e: Error) => setError(e.message));
    }, 150);
    get<{ alerts: EquipmentAlert[] }>('/api/v1/equipment/alerts')
      .then((r) => setAlerts(r.alerts))
      .catch(() => {});
    get<{ rows: UtilisationRow[] }>('/api/v1/equipment/utilisation')
      .then((r) => setUse(r.rows))
      .catch(() => {});
    return () => clearTimeout(t);
  }, [tick, changed, text, kind, availability]);

  const kinds = useMemo(() => [...new Set((items ?? []).map((e) => e.kind))].sort(), [items]);
  const counts = { 'in-use': 0, free: 0, cleaning: 0, maintenance: 0 } as Record<Availability, number>;
  for (const e of items ?? []) counts[e.availability]++;

  const setState = async (id: string, a: Availability) => {
    await request('PUT', `/api/v1/equipment/${encodeURIComponent(id)}/availability`, {
      availability: a,
    }).catch((e: Error) => setError(e.message));
    setChanged((n) => n + 1);
  };
  const acknowledge = async (id: string) => {
    await post(`/api/v1/equipment/alerts/${id}/acknowledge`).catch((e: Error) => setError(e.message));
    setChanged((n) => n + 1);
  };

  return (
    <section aria-labelledby="equipment-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="equipment-title">Equipment</h1>
          <p className="subtle">
            {items
              ? `${items.length} tracked · ${counts.free} free · ${counts['in-use']} in use · ${counts.cleaning} cleaning · ${counts.maintenance} maintenance`
              : 'Loading…'}
          </p>
        </div>
        <div className="filters">
          <label>
            Search
            <input
              type="search"
              value={text}
              placeholder="Device, serial, model, tag"
              onChange={(e) => setText(e.target.value)}
            />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="">All kinds</option>
              {[...new Set([...kinds, kind].filter(Boolean))].map((k) => (
                <option key={k} value={k}>
                  {kindText(k)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Availability
            <select value={availability} onChange={(e) => setAvailability(e.target.value)}>
              <option value="">Any</option>
              {Object.entries(availabilityText).map(([a, t]) => (
                <option key={a} value={a}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <fieldset className="segmented">
            <legend className="sr-only">Layout</legend>
            <label className={layout === 'zones' ? 'on' : ''}>
              <input
                type="radio"
                name="eq-layout"
                checked={layout === 'zones'}
                onChange={() => setLayout('zones')}
              />
              By floor and zone
            </label>
            <label className={layout === 'list' ? 'on' : ''}>
              <input
                type="radio"
                name="eq-layout"
                checked={layout === 'list'}
                onChange={() => setLayout('list')}
              />
              List
            </label>
          </fieldset>
        </div>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {alerts.length > 0 && (
        <section aria-labelledby="eq-alerts" className="eq-alerts">
          <h2 id="eq-alerts">
            Operational alerts <span className="pill pill-grey">low priority · not clinical</span>
          </h2>
          <ul>
            {alerts.map((a) => (
              <li key={a.id} data-equipment-alert={a.deviceId}>
                <span>{a.summary}</span> <span className="subtle small">{ago(a.raisedAt)}</span>{' '}
                {a.state === 'open' ? (
                  <button type="button" className="btn" onClick={() => void acknowledge(a.id)}>
                    Acknowledge
                  </button>
                ) : (
                  <span className="subtle small">acknowledged</span>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {items && items.length === 0 ? (
        <Empty>No equipment matches.</Empty>
      ) : layout === 'list' ? (
        <EquipmentTable items={items ?? []} onSet={setState} />
      ) : (
        <ByZone items={items ?? []} onSet={setState} />
      )}
      <Utilisation rows={use} />
    </section>
  );
}

function EquipmentTable({
  items,
  onSet,
  showZone = true,
}: {
  items: Equipment[];
  onSet: (id: string, a: Availability) => void;
  showZone?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Kind</th>
            <th scope="col">Model</th>
            <th scope="col">Availability</th>
            {showZone && <th scope="col">Last seen in</th>}
            <th scope="col">Last seen</th>
            <th scope="col">Tag</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.deviceId} data-equipment={e.deviceId}>
              <td className="mono">
                {e.deviceId}
                {e.activeAlert && (
                  <span className="pill pill-warn" title={e.activeAlert.summary}>
                    at exit
                  </span>
                )}
              </td>
              <td>{kindText(e.kind)}</td>
              <td>{[e.manufacturer, e.model].filter(Boolean).join(' ') || '—'}</td>
              <td>
                <span className={availabilityPill[e.availability]}>{availabilityText[e.availability]}</span>{' '}
                <select
                  aria-label={`Set availability of ${e.deviceId}`}
                  className="compact"
                  value={e.availability}
                  onChange={(ev) => onSet(e.deviceId, ev.target.value as Availability)}
                >
                  {Object.entries(availabilityText).map(([a, t]) => (
                    <option key={a} value={a}>
                      {t}
                    </option>
                  ))}
                </select>
              </td>
              {showZone && (
                <td data-zone={e.deviceId}>
                  {e.path.length ? (
                    e.path
                      .slice(1)
                      .map((p) => p.name)
                      .join(' › ')
                  ) : (
                    <span className="subtle">Unknown</span>
                  )}
                </td>
              )}
              <td>
                {e.lastSeenAt ? (
                  <>
                    {clock(e.lastSeenAt)} <span className="subtle small">{ago(e.lastSeenAt)}</span>
                  </>
                ) : (
                  <span className="subtle">Never</span>
                )}
              </td>
              <td className="mono">{e.tagId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Floors (with their building), then each zone on the floor with the equipment last seen there. */
function ByZone({ items, onSet }: { items: Equipment[]; onSet: (id: string, a: Availability) => void }) {
  const floors = new Map<
    string,
    { title: string; zones: Map<string, { title: string; items: Equipment[] }> }
  >();
  for (const e of items) {
    const floorAt = e.path.findIndex((p) => p.kind === 'floor');
    const floorKey = floorAt >= 0 ? (e.path[floorAt]?.id as string) : '';
    const floorTitle =
      floorAt >= 0
        ? e.path
            .slice(1, floorAt + 1)
            .map((p) => p.name)
            .join(' › ')
        : 'Not located';
    const zoneKey = e.locationId ?? '';
    const zoneTitle =
      floorAt >= 0
        ? e.path
            .slice(floorAt + 1)
            .map((p) => p.name)
            .join(' › ') || 'On the floor'
        : '';
    const f = floors.get(floorKey) ?? { title: floorTitle, zones: new Map() };
    floors.set(floorKey, f);
    const z = f.zones.get(zoneKey) ?? { title: zoneTitle, items: [] };
    f.zones.set(zoneKey, z);
    z.items.push(e);
  }
  const ordered = [...floors].sort(([a, x], [b, y]) =>
    a === '' ? 1 : b === '' ? -1 : x.title.localeCompare(y.title),
  );
  return (
    <div className="eq-floors">
      {ordered.map(([key, f]) => (
        <section key={key || 'none'} className="eq-floor" aria-label={f.title}>
          <h2>{f.title}</h2>
          {[...f.zones]
            .sort(([, a], [, b]) => a.title.localeCompare(b.title))
            .map(([zk, z]) => (
              <div key={zk || 'none'} className="eq-zone" data-zone-group={zk}>
                {z.title && (
                  <h3>
                    {z.title}{' '}
                    <span className="subtle small">
                      {z.items.length} · {z.items.filter((e) => e.availability === 'free').length} free
                    </span>
                  </h3>
                )}
                <EquipmentTable items={z.items} onSet={onSet} showZone={false} />
              </div>
            ))}
        </section>
      ))}
    </div>
  );
}

/** In-use share of tracked time per kind and unit over the last 7 days (summed over the days). */
function Utilisation({ rows }: { rows: UtilisationRow[] }) {
  const sum = new Map<string, UtilisationRow>();
  for (const r of rows) {
    const k = `${r.kind}\u0000${r.unitId ?? ''}`;
    const s = sum.get(k) ?? { ...r, trackedSeconds: 0, inUseSeconds: 0, devices: 0 };
    s.trackedSeconds += r.trackedSeconds;
    s.inUseSeconds += r.inUseSeconds;
    s.devices = Math.max(s.devices, r.devices);
    sum.set(k, s);
  }
  if (sum.size === 0) return null;
  return (
    <section aria-labelledby="eq-use" className="eq-use">
      <h2 id="eq-use">Utilisation, last 7 days</h2>
      <div className="table-wrap">
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Unit</th>
              <th scope="col" className="num">
                Devices
              </th>
              <th scope="col" className="num">
                Tracked <span className="unit-head">h</span>
              </th>
              <th scope="col" className="num">
                In use <span className="unit-head">h</span>
              </th>
              <th scope="col" className="num">
                Utilisation <span className="unit-head">%</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...sum.values()].map((r) => (
              <tr key={`${r.kind}-${r.unitId}`}>
                <td>{kindText(r.kind)}</td>
                <td>{r.unitName ?? r.unitId ?? <span className="subtle">No unit</span>}</td>
                <td className="num">{r.devices}</td>
                <td className="num">{hours(r.trackedSeconds)}</td>
                <td className="num">{hours(r.inUseSeconds)}</td>
                <td className="num">
                  {r.trackedSeconds > 0 ? Math.round((100 * r.inUseSeconds) / r.trackedSeconds) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
