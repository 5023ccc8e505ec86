import { useEffect, useState } from 'react';
import { type DeviceFinding, type DeviceState, type Gateway, get } from '../api.ts';
import { Empty } from '../components.tsx';
import { ago, clock } from '../format.ts';

export function Devices({ onOpenPatient, tick }: { onOpenPatient: (id: string) => void; tick: number }) {
  const [devices, setDevices] = useState<DeviceState[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [show, setShow] = useState<'all' | 'offline' | 'battery' | 'regulatory'>('all');
  const [findings, setFindings] = useState<Map<string, DeviceFinding> | null>(null);
  const [gateways, setGateways] = useState<Gateway[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick drives the refresh
  useEffect(() => {
    get<{ devices: DeviceState[] }>('/api/v1/dashboard/devices')
      .then((r) => setDevices(r.devices))
      .catch((e: Error) => setError(e.message));
    // The regulatory record of each device's model; the list works without it.
    get<{ devices: DeviceFinding[] }>('/api/v1/device-models/findings')
      .then((r) => setFindings(new Map(r.devices.map((f) => [f.deviceId, f]))))
      .catch(() => setFindings(null));
    // Edge hubs and their health; the list works without it.
    get<{ gateways: Gateway[] }>('/api/v1/gateways')
      .then((r) => setGateways(r.gateways))
      .catch(() => setGateways(null));
  }, [tick]);
  const hubOf = new Map((gateways ?? []).flatMap((g) => g.devices.map((d) => [d, g.id] as const)));
  const list = (devices ?? []).filter((d) =>
    show === 'offline'
      ? !d.online
      : show === 'battery'
        ? d.battery !== null && d.battery < 20
        : show === 'regulatory'
          ? (findings?.has(d.id) ?? false)
          : true,
  );
  // What needs attention first: revoked or offline while assigned, then low battery, then
  // regulatory findings; then the longest silent; the id last, only to keep the order stable.
  const attention = (d: DeviceState) =>
    (d.revoked ? 0 : 8) +
    (!d.online && d.patientId ? 0 : 4) +
    (d.battery !== null && d.battery < 20 ? 0 : 2) +
    (findings?.has(d.id) ? 0 : 1);
  list.sort(
    (a, b) =>
      attention(a) - attention(b) ||
      (a.lastSeen ?? '').localeCompare(b.lastSeen ?? '') ||
      a.id.localeCompare(b.id),
  );
  const online = (devices ?? []).filter((d) => d.online).length;
  return (
    <section aria-labelledby="devices-title" className="view">
      <div className="view-head">
        <div>
          <h1 id="devices-title">Devices</h1>
          <p className="subtle">
            {devices ? `${online} of ${devices.length} online (seen in the last hour)` : 'Loading…'}
            {devices && findings ? ` · ${findings.size} with regulatory findings` : ''}
          </p>
        </div>
        <label className="filters">
          Show
          <select value={show} onChange={(e) => setShow(e.target.value as typeof show)}>
            <option value="all">All devices</option>
            <option value="offline">Offline only</option>
            <option value="battery">Battery below 20 %</option>
            <option value="regulatory">Regulatory findings</option>
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {gateways && gateways.length > 0 && <Hubs gateways={gateways} devices={devices ?? []} />}
      {devices && list.length === 0 ? (
        <Empty>No devices match.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Device</th>
                <th scope="col">Kind</th>
                <th scope="col">Model</th>
                <th scope="col" className="num">
                  Battery <span className="unit-head">%</span>
                </th>
                <th scope="col">Firmware</th>
                <th scope="col">Regulatory</th>
                <th scope="col">Last seen</th>
                <th scope="col">Assigned patient</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={d.id}>
                  <td>
                    <DeviceStatus d={d} />
                  </td>
                  <td className="mono">
                    {d.id}
                    {hubOf.has(d.id) && <span className="subtle small"> via {hubOf.get(d.id)}</span>}
                  </td>
                  <td>{d.kind.replaceAll('-', ' ')}</td>
                  <td>{[d.manufacturer, d.model].filter(Boolean).join(' ') || '—'}</td>
                  <td className="num">
                    <Battery level={d.battery} />
                  </td>
                  <td className="mono">{d.firmware ?? '—'}</td>
                  <td data-regulatory={d.id}>
                    <Regulatory finding={findings?.get(d.id)} known={findings !== null} />
                  </td>
                  <td>
                    {d.lastSeen ? (
                      <>
                        {clock(d.lastSeen)} <span className="subtle small">{ago(d.lastSeen)}</span>
                      </>
                    ) : (
                      'Never'
                    )}
                  </td>
                  <td>
                    {d.patientId ? (
                      <button
                        type="button"
                        className="link"
                        onClick={() => onOpenPatient(d.patientId as string)}
                      >
                        {d.patientName ?? 'Patient'}
                      </button>
                    ) : (
                      <span className="subtle">Not assigned / not in your care teams</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** A hub whose last report is older than this is shown as not in contact (reports every 30 s by default). */
const HUB_CONTACT_MS = 120_000;
/** A clock offset this large (seconds, either way) is flagged: alert and reading times from the hub drift. */
const HUB_CLOCK_WARN_S = 5;

const bytes = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;

/**
 * Edge hubs (docs/edge.md): whether the centre hears them, their store-and-forward queue, disk,
 * clock and the devices behind each, worst first.
 */
export function Hubs({ gateways, devices }: { gateways: Gateway[]; devices: DeviceState[] }) {
  const byId = new Map(devices.map((d) => [d.id, d]));
  const now = Date.now();
  const inContact = (g: Gateway) => g.lastSeen !== null && now - Date.parse(g.lastSeen) <= HUB_CONTACT_MS;
  const sorted = [...gateways].sort(
    (a, b) => Number(inContact(a)) - Number(inContact(b)) || a.id.localeCompare(b.id),
  );
  return (
    <section aria-labelledby="hubs-title" className="hubs">
      <h2 id="hubs-title">Edge hubs</h2>
      <div className="table-wrap">
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Uplink</th>
              <th scope="col">Hub</th>
              <th scope="col" className="num">
                Queue <span className="unit-head">records</span>
              </th>
              <th scope="col">Disk free</th>
              <th scope="col" className="num">
                Clock offset <span className="unit-head">s</span>
              </th>
              <th scope="col">Devices behind it</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((g) => {
              const h = g.health;
              const diskShare =
                h?.diskFreeBytes != null && h.diskTotalBytes ? h.diskFreeBytes / h.diskTotalBytes : null;
              const offset = g.clockOffsetSeconds;
              return (
                <tr key={g.id} data-hub={g.id}>
                  <td>
                    {inContact(g) ? (
                      <span className="pill pill-ok">
                        <span aria-hidden="true">●</span> In contact
                      </span>
                    ) : (
                      <span className="pill pill-warn">
                        <span aria-hidden="true">○</span> {g.lastSeen ? 'No contact' : 'Never reported'}
                      </span>
                    )}
                    {g.lastSeen && <div className="subtle small">report {ago(g.lastSeen)}</div>}
                  </td>
                  <td>
                    <span className="mono">{g.id}</span>
                    {h && 'provisioningVersion' in h && (
                      <div className="subtle small">
                        {h.provisionedAt
                          ? `device list synced ${ago(h.provisionedAt)}`
                          : 'device list never synced'}
                      </div>
                    )}
                  </td>
                  <td className="num">
                    {h ? h.queueDepth.toLocaleString() : '—'}
                    {h?.oldestQueuedAt && <div className="subtle small">oldest {ago(h.oldestQueuedAt)}</div>}
                    {h && h.rejectedRecords + h.droppedReadings > 0 && (
                      <div className="subtle small">
                        {h.rejectedRecords} refused · {h.droppedReadings} dropped
                      </div>
                    )}
                  </td>
                  <td>
                    {diskShare === null || h?.diskFreeBytes == null ? (
                      <span className="subtle">—</span>
                    ) : (
                      <span className={diskShare < 0.1 ? 'pill pill-warn' : undefined}>
                        {bytes(h.diskFreeBytes)} ({Math.round(diskShare * 100)} %)
                      </span>
                    )}
                  </td>
                  <td className="num">
                    {offset === null ? (
                      <span className="subtle">—</span>
                    ) : (
                      <span className={Math.abs(offset) >= HUB_CLOCK_WARN_S ? 'pill pill-warn' : undefined}>
                        {offset > 0 ? '+' : ''}
                        {offset.toFixed(2)}
                      </span>
                    )}
                  </td>
                  <td>
                    {g.devices.length === 0 ? (
                      <span className="subtle">None linked</span>
                    ) : (
                      <span className="pills">
                        {g.devices.map((id) => {
                          const d = byId.get(id);
                          const state = !d ? null : d.revoked ? 'revoked' : d.online ? 'online' : 'offline';
                          const cls =
                            state === 'online' ? 'pill-ok' : state === 'offline' ? 'pill-warn' : 'pill-grey';
                          return (
                            <span key={id} className={`pill ${cls}`} data-hub-device={id}>
                              <span className="mono">{id}</span>
                              {state && state !== 'online' ? ` · ${state}` : ''}
                            </span>
                          );
                        })}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function DeviceStatus({ d }: { d: DeviceState }) {
  if (d.revoked) return <span className="pill pill-grey">Revoked</span>;
  return d.online ? (
    <span className="pill pill-ok">
      <span aria-hidden="true">●</span> Online
    </span>
  ) : (
    <span className="pill pill-warn">
      <span aria-hidden="true">○</span> Offline
    </span>
  );
}

export function Battery({ level }: { level: number | null }) {
  if (level === null) return <span className="subtle">—</span>;
  const cls = level < 10 ? 'bat-crit' : level < 20 ? 'bat-low' : 'bat-ok';
  return (
    <span className={`battery ${cls}`}>
      <span className="bat-bar" aria-hidden="true">
        <span style={{ width: `${Math.max(4, Math.min(100, level))}%` }} />
      </span>
      {level} %{level < 20 ? ' low' : ''}
    </span>
  );
}

const reasonText: Record<DeviceFinding['reasons'][number], string> = {
  'no-model': 'Model not in the register', // the device names a model the device-model register does not hold
  'no-fda-clearance': 'No FDA clearance',
  'no-eu-certificate': 'No CE certificate',
  'end-of-support': 'End of support',
  'open-recall': 'Open recall',
  'open-advisory': 'Open advisory',
};

/** Why the device's model needs a look, one pill per reason; the open notices in the tooltip. */
export function Regulatory({ finding, known }: { finding: DeviceFinding | undefined; known: boolean }) {
  if (!known) return <span className="subtle">—</span>;
  if (!finding) return <span className="subtle">Recorded</span>;
  const notices = finding.advisories.map((a) => `${a.reference}: ${a.title}`).join('\n');
  return (
    <span className="pills">
      {finding.reasons.map((r) => (
        <span
          key={r}
          className={r === 'open-recall' || r === 'end-of-support' ? 'pill pill-warn' : 'pill pill-grey'}
          title={
            r.startsWith('open-')
              ? notices
              : r === 'end-of-support'
                ? `since ${finding.endOfSupport}`
                : undefined
          }
        >
          {reasonText[r]}
        </span>
      ))}
    </span>
  );
}
