/**
 * Zone smoothing for RTLS sightings (docs/equipment.md#smoothing): turns a stream of "tag heard in
 * zone Z at RSSI r at time t" into a stable "last seen in zone X since T", so a tag on a wall
 * between two rooms does not flap between them. Pure and on event time (the sighting's own time,
 * never the wall clock), so a replay of stored sightings gives the same positions.
 *
 * Per sighting, the zone with the strongest RSSI among the sightings of the last `windowMs` is the
 * round's winner; another zone than the current one wins only when it is at least `marginDb`
 * stronger than the current zone (when the current zone is heard at all). A challenger replaces
 * the current zone once it has won `minSightings` rounds in a row, or has kept winning for
 * `dwellMs` (whichever comes first; 0 turns either off); a round won by the current zone resets
 * the challenger. The first zone a tag is heard in is taken at once (there is nothing to flap from).
 *
 * Hand-written: the RTLS libraries on npm are vendor SDKs or trilateration engines; this is
 * hysteresis over zone votes, a few lines that a library would not make clearer.
 */

export interface SmoothingSettings {
  /** Rounds in a row a challenger must win (≥ 1; 0 = only the dwell time counts). */
  minSightings: number;
  /** How long a challenger must keep winning, ms (0 = only the count counts). */
  dwellMs: number;
  /** How much stronger than the current zone a challenger must be heard, dB. */
  marginDb: number;
  /** Sightings older than this (event time) no longer count in a round, ms. */
  windowMs: number;
}

export const defaultSmoothing: SmoothingSettings = {
  minSightings: 3,
  dwellMs: 30_000,
  marginDb: 5,
  windowMs: 10_000,
};

/**
 * A vendor RTLS position carries no RSSI (the vendor has located the tag already): it counts as a
 * sighting at this level, stronger than any BLE advertisement (those are well below 0 dBm).
 */
export const VENDOR_RSSI = 0;

export interface Sighting {
  zoneId: string;
  /** dBm; null for a vendor position (counts as VENDOR_RSSI). */
  rssi: number | null;
  /** Event time, ms since the epoch (UTC). */
  at: number;
}

export interface SmoothingState {
  zoneId: string | null;
  /** When the current zone was taken (event time of the deciding sighting). */
  zoneSince: number | null;
  /** The last sighting of the tag anywhere. */
  lastSeenAt: number | null;
  candidateId: string | null;
  candidateWins: number;
  candidateSince: number | null;
  recent: Sighting[];
}

export const emptyState = (): SmoothingState => ({
  zoneId: null,
  zoneSince: null,
  lastSeenAt: null,
  candidateId: null,
  candidateWins: 0,
  candidateSince: null,
  recent: [],
});

export type ObserveResult =
  | { kind: 'stale'; state: SmoothingState }
  | { kind: 'held'; state: SmoothingState }
  | { kind: 'moved'; state: SmoothingState; from: string | null; to: string; at: number };

/** The round's winner over the sightings in the window (strongest per zone). */
function winner(recent: readonly Sighting[], current: string | null, marginDb: number): string {
  const best = new Map<string, number>();
  for (const s of recent) {
    const r = s.rssi ?? VENDOR_RSSI;
    const b = best.get(s.zoneId);
    if (b === undefined || r > b) best.set(s.zoneId, r);
  }
  let top: string | null = null;
  let topRssi = Number.NEGATIVE_INFINITY;
  // zone ids in order: equal strengths give the same winner on every run
  for (const [zone, r] of [...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (r > topRssi) {
      top = zone;
      topRssi = r;
    }
  }
  const currentRssi = current === null ? undefined : best.get(current);
  if (current !== null && currentRssi !== undefined && top !== current && topRssi < currentRssi + marginDb)
    return current;
  return top as string;
}

/**
 * One sighting into the state. A sighting older than the last one seen is `stale`: it is kept
 * (stored) by the caller but does not move the tag — rounds are decided in event-time order.
 */
export function observe(state: SmoothingState, s: Sighting, settings: SmoothingSettings): ObserveResult {
  if (state.lastSeenAt !== null && s.at < state.lastSeenAt) return { kind: 'stale', state };
  const recent = [...state.recent.filter((r) => s.at - r.at < settings.windowMs), s];
  const base = { ...state, recent, lastSeenAt: s.at };
  if (state.zoneId === null) {
    const next = { ...base, zoneId: s.zoneId, zoneSince: s.at, ...noCandidate };
    return { kind: 'moved', state: next, from: null, to: s.zoneId, at: s.at };
  }
  const w = winner(recent, state.zoneId, settings.marginDb);
  if (w === state.zoneId) return { kind: 'held', state: { ...base, ...noCandidate } };
  const same = w === state.candidateId;
  const wins = same ? state.candidateWins + 1 : 1;
  const since = same ? (state.candidateSince as number) : s.at;
  const byCount = settings.minSightings > 0 && wins >= settings.minSightings;
  const byDwell = settings.dwellMs > 0 && s.at - since >= settings.dwellMs;
  if (byCount || byDwell) {
    const next = { ...base, zoneId: w, zoneSince: s.at, ...noCandidate };
    return { kind: 'moved', state: next, from: state.zoneId, to: w, at: s.at };
  }
  return {
    kind: 'held',
    state: { ...base, candidateId: w, candidateWins: wins, candidateSince: since },
  };
}

const noCandidate = { candidateId: null, candidateWins: 0, candidateSince: null } as const;

/** The stored form (JSON) read back; anything unreadable starts afresh rather than failing ingest. */
export function stateFromJson(v: unknown): SmoothingState {
  if (!v || typeof v !== 'object') return emptyState();
  const o = v as Record<string, unknown>;
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  const recent = Array.isArray(o['recent'])
    ? (o['recent'] as unknown[]).flatMap((r) => {
        const x = r as Record<string, unknown>;
        const zoneId = str(x?.['zoneId']);
        const at = num(x?.['at']);
        return zoneId && at !== null ? [{ zoneId, at, rssi: num(x['rssi']) }] : [];
      })
    : [];
  return {
    zoneId: str(o['zoneId']),
    zoneSince: num(o['zoneSince']),
    lastSeenAt: num(o['lastSeenAt']),
    candidateId: str(o['candidateId']),
    candidateWins: num(o['candidateWins']) ?? 0,
    candidateSince: num(o['candidateSince']),
    recent,
  };
}
