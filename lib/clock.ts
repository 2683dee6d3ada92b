/**
 * Time as an injectable dependency. Everything that schedules (the direct-mode pacer, the jitter buffer's
 * control loop, simulators) takes a Clock, so tests can run an hour of audio on virtual time in seconds.
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Monotonic milliseconds (fractional allowed). Only differences are meaningful. */
  now(): number;
  /** Run `fn` once `ms` from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

let realIds = 0;

/** The process clock: `performance.now()` and Node timers. */
export const realClock: Clock = (() => {
  const handles = new Map<number, NodeJS.Timeout>();
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const id = ++realIds;
      const t = setTimeout(
        () => {
          handles.delete(id);
          fn();
        },
        Math.max(0, ms),
      );
      handles.set(id, t);
      return { id };
    },
    clearTimeout(handle) {
      const t = handles.get(handle.id);
      if (t !== undefined) {
        clearTimeout(t);
        handles.delete(handle.id);
      }
    },
  };
})();

interface VirtualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in deadline order (ties in creation order).
 * `advance` runs timers synchronously; `advanceAsync` lets promise and stream callbacks settle after
 * every timer, which is what stream-based code needs.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    const timer: VirtualTimer = { id, at: this.#now + Math.max(0, ms), seq: id, fn };
    // keep sorted by (at, seq); timers are few, insertion is cheap
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle.id);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Like `advance`, but lets microtasks and I/O callbacks run after each timer (for streams and promises). */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Let queued promise reactions, nextTicks and stream callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
