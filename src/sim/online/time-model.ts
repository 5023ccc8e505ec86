/**
 * How simulated time maps to wall time online. Vigil refuses device times more than 5 minutes
 * ahead of its receive time, so accelerated runs replay the PAST:
 *
 * - rate 1 (live): the window is [now, now + duration]; simulated time = wall time.
 * - rate r > 1 (accelerated): the window is [now − duration, now]; simulated time runs from the
 *   window start at r simulated seconds per wall second and reaches `now` (the wall time the run
 *   started) after duration / r wall seconds. Since it started duration behind and gains
 *   (r − 1) × elapsed ≤ duration, it never passes the wall clock.
 * - follow: after the window, continue live (simulated = wall time) until stopped.
 */
export interface TimePlan {
  rate: number;
  wallStartMs: number;
  windowStartMs: number;
  windowEndMs: number;
  follow: boolean;
}

export function planTime(nowMs: number, durationS: number, rate: number, follow = false): TimePlan {
  if (!(rate >= 1)) throw new RangeError('rate must be ≥ 1 (simulated seconds per wall second)');
  const d = durationS * 1000;
  const windowStartMs = rate === 1 ? nowMs : nowMs - d;
  return { rate, wallStartMs: nowMs, windowStartMs, windowEndMs: windowStartMs + d, follow };
}

/** Simulated time at a wall instant; in follow mode, past the window it is the wall time. */
export function simulatedNow(plan: TimePlan, wallMs: number): number {
  const t = plan.windowStartMs + (wallMs - plan.wallStartMs) * plan.rate;
  if (t <= plan.windowEndMs) return t;
  return plan.follow ? Math.max(plan.windowEndMs, wallMs) : plan.windowEndMs;
}
