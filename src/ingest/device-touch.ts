/** A device's last-seen time and reported state, as the ingest sink writes it to the device row. */
export interface DeviceTouch {
  id: string;
  lastSeen: string;
  battery?: number | undefined;
  clockOffsetSeconds?: number | undefined;
  firmware?: string | undefined;
}

/**
 * Decides which device rows a commit must update. Writing `last_seen` on every batch costs one row
 * update per device per batch — as many row versions as readings when each device sends one reading
 * per batch — so `last_seen` is written when it moved by at least `intervalMs` (it is at most that
 * stale), while a changed battery, clock offset or firmware is always written at once. Updates come
 * back sorted by device id, so concurrent transactions lock device rows in the same order.
 */
export class DeviceTouchThrottle {
  readonly #intervalMs: number;
  readonly #written = new Map<
    string,
    { at: number; battery?: number | undefined; clock?: number | undefined; firmware?: string | undefined }
  >();

  constructor(intervalMs = 5_000) {
    this.#intervalMs = intervalMs;
  }

  select(touches: Iterable<DeviceTouch>): DeviceTouch[] {
    const out: DeviceTouch[] = [];
    for (const t of touches) {
      const at = Date.parse(t.lastSeen);
      const w = this.#written.get(t.id);
      const changed =
        !w ||
        at - w.at >= this.#intervalMs ||
        (t.battery !== undefined && t.battery !== w.battery) ||
        (t.clockOffsetSeconds !== undefined && t.clockOffsetSeconds !== w.clock) ||
        (t.firmware !== undefined && t.firmware !== w.firmware);
      if (!changed) continue;
      this.#written.set(t.id, {
        at: w && at < w.at ? w.at : at,
        battery: t.battery ?? w?.battery,
        clock: t.clockOffsetSeconds ?? w?.clock,
        firmware: t.firmware ?? w?.firmware,
      });
      out.push(t);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
