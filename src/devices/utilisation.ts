/**
 * Equipment utilisation per device kind and unit over time (docs/equipment.md#utilisation): from the
 * availability × zone intervals of each device, the share of the tracked time each UTC day that
 * devices of a kind spent "in use" while in a unit. Pure; intervals come from the repository.
 */

export interface AvailabilityInterval {
  deviceId: string;
  kind: string;
  availability: string;
  unitId: string | null;
  /** ms since the epoch (UTC) */
  start: number;
  /** null: still open (counted up to `now`) */
  end: number | null;
}

export interface UtilisationRow {
  kind: string;
  /** null: outside any unit (corridors, stores without a unit, not located) */
  unitId: string | null;
  /** UTC day, YYYY-MM-DD */
  day: string;
  devices: number;
  trackedSeconds: number;
  inUseSeconds: number;
  freeSeconds: number;
  cleaningSeconds: number;
  maintenanceSeconds: number;
  /** inUse / tracked, 0–1, three decimals; null when nothing was tracked */
  utilisation: number | null;
}

const DAY = 86_400_000;

/** Splits every interval at UTC midnights inside [since, until) and sums per kind × unit × day. */
export function utilisation(
  intervals: readonly AvailabilityInterval[],
  since: number,
  until: number,
  now: number,
): UtilisationRow[] {
  const rows = new Map<string, UtilisationRow & { ids: Set<string> }>();
  for (const iv of intervals) {
    const from = Math.max(iv.start, since);
    const to = Math.min(iv.end ?? now, until);
    let t = from;
    while (t < to) {
      const dayStart = Math.floor(t / DAY) * DAY;
      const stop = Math.min(to, dayStart + DAY);
      const day = new Date(dayStart).toISOString().slice(0, 10);
      const key = `${iv.kind}\u0000${iv.unitId ?? ''}\u0000${day}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          kind: iv.kind,
          unitId: iv.unitId,
          day,
          devices: 0,
          trackedSeconds: 0,
          inUseSeconds: 0,
          freeSeconds: 0,
          cleaningSeconds: 0,
          maintenanceSeconds: 0,
          utilisation: null,
          ids: new Set(),
        };
        rows.set(key, row);
      }
      const s = (stop - t) / 1000;
      row.ids.add(iv.deviceId);
      row.trackedSeconds += s;
      if (iv.availability === 'in-use') row.inUseSeconds += s;
      else if (iv.availability === 'free') row.freeSeconds += s;
      else if (iv.availability === 'cleaning') row.cleaningSeconds += s;
      else if (iv.availability === 'maintenance') row.maintenanceSeconds += s;
      t = stop;
    }
  }
  return [...rows.values()]
    .map(({ ids, ...r }) => ({
      ...r,
      devices: ids.size,
      utilisation:
        r.trackedSeconds > 0 ? Math.round((r.inUseSeconds / r.trackedSeconds) * 1000) / 1000 : null,
    }))
    .sort(
      (a, b) =>
        a.kind.localeCompare(b.kind) ||
        (a.unitId ?? '').localeCompare(b.unitId ?? '') ||
        a.day.localeCompare(b.day),
    );
}
