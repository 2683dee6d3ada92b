/**
 * A drift-free periodic scheduler for direct-mode sinks (`queueSizeMs: 0`), where rtc-node has no native
 * ticker and the sink must push exactly one 10 ms frame per period.
 *
 * Deadlines are absolute — tick n is due at `anchor + n × periodMs` — so timer lateness never accumulates
 * (re-arming with `now + 10` would drift by the timer's lateness on every tick). When the process stalls
 * (GC, a blocked event loop), the ticks that fell due are delivered at once, up to `maxCatchUpTicks` extra;
 * beyond that the backlog is dropped and the grid is re-anchored at `now`, so a long stall cannot turn into
 * a long burst. Both are counted in `stats`.
 *
 * One Pacer drives any number of subscribers from a single timer: `sharedPacer()` is the process default
 * that every direct-mode LiveKitSink uses unless given its own.
 *
 * A fire that has run its subscribers for `sliceMs` hands the rest to a 0 ms timer: with 150 sinks a tick is
 * several ms of synchronous captures, and in one piece it holds back every socket read and timer behind it
 * (the event-loop delay the gateway's callers see as network jitter). A slice still pending when the next
 * fire comes is finished first, so each subscriber sees its ticks in order.
 */
import { realClock, type Clock, type TimerHandle } from './clock.js';
import { ConfigError } from './errors.js';

/**
 * Called once per timer fire with the number of periods delivered (1, or more when catching up) and the
 * number dropped by a re-anchor just before them (0 unless a stall exceeded the catch-up bound).
 */
export type TickHandler = (ticks: number, skipped: number) => void;

export interface PacerOptions {
  /** Default realClock. */
  clock?: Clock;
  /** Period in ms. Default 10 (rtc-node's frame duration). */
  periodMs?: number;
  /** Most extra ticks delivered in one fire after a stall before re-anchoring. Default 5 (50 ms). */
  maxCatchUpTicks?: number;
  /** Most ms one fire spends in subscribers before yielding the event loop. Default 2; Infinity: never. */
  sliceMs?: number;
  /**
   * Gets what a subscriber threw (that subscriber is unsubscribed; the others keep their ticks).
   * Default: rethrow on a microtask, i.e. an uncaught exception, like an 'error' event nobody listens to.
   */
  onError?: (err: unknown) => void;
}

export interface PacerStats {
  /** Periods delivered (each subscriber saw this many, if subscribed throughout). */
  ticks: number;
  /** Timer callbacks run. */
  fires: number;
  /** Ticks delivered late in a batch (beyond the first of a fire), i.e. caught up after a stall. */
  catchUpTicks: number;
  /** Times a stall exceeded the catch-up bound and the grid was re-anchored. */
  reanchors: number;
  /** Periods dropped by re-anchoring. */
  skippedTicks: number;
  /** How late the last / the latest timer fired relative to its deadline, ms. */
  lastLateMs: number;
  maxLateMs: number;
  /** Times a fire yielded the event loop part-way through its subscribers (`sliceMs`). */
  yields: number;
}

/** A fire's subscribers not yet called. */
interface Delivery {
  handlers: TickHandler[];
  next: number;
  ticks: number;
  skipped: number;
}

export const DEFAULT_MAX_CATCH_UP_TICKS = 5;
export const DEFAULT_SLICE_MS = 2;

// Node timers have 1 ms resolution and may fire a fraction of a ms before a fractional deadline; a tick this
// close to due is treated as due rather than re-armed for a 1 ms timer.
const EARLY_TOLERANCE_MS = 1;

export class Pacer {
  readonly clock: Clock;
  readonly periodMs: number;
  readonly maxCatchUpTicks: number;
  readonly sliceMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #subscribers = new Set<TickHandler>();
  #anchor = 0;
  /** Index of the next tick to deliver (tick n is due at anchor + n × period). */
  #next = 1;
  #timer: TimerHandle | undefined;
  #running = false;
  #delivery: Delivery | undefined;
  #sliceTimer: TimerHandle | undefined;
  readonly #stats: PacerStats = {
    ticks: 0,
    fires: 0,
    catchUpTicks: 0,
    reanchors: 0,
    skippedTicks: 0,
    lastLateMs: 0,
    maxLateMs: 0,
    yields: 0,
  };

  constructor(opts: PacerOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.periodMs = opts.periodMs ?? 10;
    this.maxCatchUpTicks = opts.maxCatchUpTicks ?? DEFAULT_MAX_CATCH_UP_TICKS;
    this.sliceMs = opts.sliceMs ?? DEFAULT_SLICE_MS;
    this.#onError =
      opts.onError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
    if (!(this.periodMs > 0) || !Number.isFinite(this.periodMs)) {
      throw new ConfigError('ERR_PACER_OPTIONS', `periodMs must be a positive number, got ${opts.periodMs}`);
    }
    if (!Number.isInteger(this.maxCatchUpTicks) || this.maxCatchUpTicks < 0) {
      throw new ConfigError(
        'ERR_PACER_OPTIONS',
        `maxCatchUpTicks must be a non-negative integer, got ${opts.maxCatchUpTicks}`,
      );
    }
    if (typeof this.sliceMs !== 'number' || !(this.sliceMs > 0)) {
      throw new ConfigError('ERR_PACER_OPTIONS', `sliceMs must be a positive number of ms, got ${opts.sliceMs}`);
    }
  }

  /** Start calling `handler` every period; the timer runs while anyone is subscribed. Returns the unsubscribe. */
  register(handler: TickHandler): () => void {
    this.#subscribers.add(handler);
    if (!this.#running) {
      this.#running = true;
      this.#anchor = this.clock.now();
      this.#next = 1;
      this.#arm();
    }
    return () => this.#unregister(handler);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  get stats(): Readonly<PacerStats> {
    return { ...this.#stats };
  }

  #unregister(handler: TickHandler): void {
    this.#subscribers.delete(handler);
    if (this.#subscribers.size === 0 && this.#running) {
      this.#running = false;
      if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      if (this.#sliceTimer !== undefined) this.clock.clearTimeout(this.#sliceTimer);
      this.#sliceTimer = undefined;
      this.#delivery = undefined;
    }
  }

  #arm(): void {
    const due = this.#anchor + this.#next * this.periodMs;
    this.#timer = this.clock.setTimeout(() => this.#fire(), due - this.clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    this.#finishDelivery();
    const now = this.clock.now();
    const lastDue = Math.floor((now - this.#anchor + EARLY_TOLERANCE_MS) / this.periodMs);
    let ticks = lastDue - this.#next + 1;
    if (ticks > 0) {
      const s = this.#stats;
      s.fires++;
      s.lastLateMs = Math.max(0, now - (this.#anchor + this.#next * this.periodMs));
      s.maxLateMs = Math.max(s.maxLateMs, s.lastLateMs);
      let skipped = 0;
      if (ticks > 1 + this.maxCatchUpTicks) {
        skipped = ticks - 1 - this.maxCatchUpTicks;
        s.skippedTicks += skipped;
        s.reanchors++;
        ticks = 1 + this.maxCatchUpTicks;
        this.#anchor = now;
        this.#next = 1;
      } else {
        this.#next += ticks;
      }
      s.ticks += ticks;
      s.catchUpTicks += ticks - 1;
      this.#deliver(ticks, skipped);
    }
    if (this.#running && this.#timer === undefined) this.#arm();
  }

  #deliver(ticks: number, skipped: number): void {
    // a copy: handlers may subscribe others while being called (those start at the next fire)
    this.#delivery = { handlers: [...this.#subscribers], next: 0, ticks, skipped };
    this.#runSlice(this.sliceMs);
  }

  /** Call the delivery's subscribers until done or `budgetMs` has passed; then yield and go on from a timer. */
  #runSlice(budgetMs: number): void {
    const d = this.#delivery;
    if (d === undefined) return;
    const started = this.clock.now();
    while (d.next < d.handlers.length) {
      const handler = d.handlers[d.next++]!;
      if (!this.#subscribers.has(handler)) continue; // left while this fire was under way
      try {
        handler(d.ticks, d.skipped);
      } catch (err) {
        // one subscriber's bug must neither starve the others nor vanish
        this.#unregister(handler);
        this.#onError(err);
      }
      if (this.#delivery !== d) return; // the last subscriber left
      if (d.next < d.handlers.length && this.clock.now() - started >= budgetMs) {
        this.#stats.yields++;
        this.#sliceTimer = this.clock.setTimeout(() => {
          this.#sliceTimer = undefined;
          this.#runSlice(this.sliceMs);
        }, 0);
        return;
      }
    }
    this.#delivery = undefined;
  }

  /** A fire still being delivered in slices is finished before the next one starts. */
  #finishDelivery(): void {
    if (this.#delivery === undefined) return;
    if (this.#sliceTimer !== undefined) this.clock.clearTimeout(this.#sliceTimer);
    this.#sliceTimer = undefined;
    this.#runSlice(Infinity);
  }
}

let shared: Pacer | undefined;

/** The process-wide pacer on the real clock, shared by every direct-mode LiveKitSink not given its own. */
export function sharedPacer(): Pacer {
  return (shared ??= new Pacer());
}
