import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export interface DueWork {
  name: string;
  /** Processes what is due now (per the Clock port); returns how much it did. */
  run(): Promise<number>;
}

/**
 * Polls the due rows (escalations, snooze ends, outbox retries) every `intervalMs`. All state is in
 * the database, so a restarted process — or another worker — picks up where a dead one stopped.
 * When a pass found work it polls again at once, to drain a backlog.
 */
export class AlertScheduler {
  readonly #work: DueWork[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(work: DueWork[], log: Logger, intervalMs = 500) {
    this.#work = work;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** One pass over every kind of due work; returns how many items were processed. */
  async tick(): Promise<number> {
    let total = 0;
    for (const w of this.#work) {
      try {
        total += await w.run();
      } catch (err) {
        this.#log.error({ err: errorMessage(err), work: w.name }, 'alert scheduler pass failed');
      }
    }
    return total;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick().then((n) => this.#schedule(n > 0 ? 0 : this.#intervalMs));
    }, ms);
    this.#timer.unref?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }
}
