/**
 * Arrival-jitter estimate, after NetEq's delay manager.
 *
 * Each packet's arrival delay is `arrival time − media time`; relative to the smallest such delay seen in the
 * last `windowMs` (2 s) it is the packet's lateness — this cancels the fixed network delay and, over a 2 s
 * window, any clock skew (1000 ppm is 2 ms). The largest lateness in each `intervalMs` (500 ms) goes into a
 * histogram with exponential forgetting, and the estimate is its `quantile` (0.95).
 *
 * One sample per interval instead of one per packet (NetEq's "resample interval") makes the estimate a
 * statement about time, not packet counts: the backlog of a stall — hundreds of packets arriving at once, each
 * "late" — counts once, so a single stall does not raise the target for the next half minute, while jitter that
 * recurs in more than 5 % of half-seconds does.
 *
 * The same holds in the first seconds: while fewer than 1 / (1 − quantile) samples are in (20: ten seconds),
 * one sample would weigh more than 5 % and a single stall would be "the jitter" — so until then the estimate is
 * the second-largest sample (one stall is a stall; two are a pattern).
 */

export interface DelayEstimatorOptions {
  quantile?: number;
  intervalMs?: number;
  windowMs?: number;
  /** forgetting per interval sample: 0.983 ≈ a 30 s memory at 2 samples/s */
  forgetFactor?: number;
  /** histogram range; larger values are counted in the top bucket */
  maxMs: number;
}

export class DelayEstimator {
  readonly quantile: number;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly forgetFactor: number;
  #hist: Float64Array;
  #samples = 0;
  // monotonic deque of (time, delay) for the running minimum
  #minT: number[] = [];
  #minD: number[] = [];
  #intervalStart = NaN;
  #intervalMax = 0;
  #estimate: number | undefined;
  #firstMax = 0;
  /** the two largest samples so far (fast start) */
  #top: [number, number] = [0, 0];

  constructor(o: DelayEstimatorOptions) {
    this.quantile = o.quantile ?? 0.95;
    this.intervalMs = o.intervalMs ?? 500;
    this.windowMs = o.windowMs ?? 2000;
    this.forgetFactor = o.forgetFactor ?? 0.983;
    this.#hist = new Float64Array(Math.max(1, Math.ceil(o.maxMs)) + 1);
  }

  /**
   * The current lateness quantile in ms. Until two intervals have closed it is the largest lateness seen so far
   * (fast start: a first clump of late packets raises the target at once); undefined before any packet.
   */
  get jitterMs(): number | undefined {
    if (this.#samples >= 2) return this.#estimate;
    return Number.isNaN(this.#intervalStart) ? undefined : Math.max(this.#firstMax, this.#intervalMax);
  }

  /** Interval samples taken so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Record a packet that arrived at `nowMs` carrying media that starts at `mediaMs` (producer timeline). */
  arrival(nowMs: number, mediaMs: number): void {
    const d = nowMs - mediaMs;
    while (this.#minT.length > 0 && this.#minT[0]! < nowMs - this.windowMs) {
      this.#minT.shift();
      this.#minD.shift();
    }
    while (this.#minD.length > 0 && this.#minD[this.#minD.length - 1]! >= d) {
      this.#minT.pop();
      this.#minD.pop();
    }
    this.#minT.push(nowMs);
    this.#minD.push(d);
    const late = d - this.#minD[0]!;

    if (Number.isNaN(this.#intervalStart)) {
      this.#intervalStart = nowMs;
      this.#intervalMax = late;
    } else if (nowMs - this.#intervalStart >= this.intervalMs) {
      this.#add(this.#intervalMax);
      this.#intervalStart = nowMs;
      this.#intervalMax = late;
    } else if (late > this.#intervalMax) {
      this.#intervalMax = late;
    }
  }

  #add(lateMs: number): void {
    const h = this.#hist;
    this.#firstMax = Math.max(this.#firstMax, lateMs);
    // fast start: the first samples are averaged evenly, then forgetting takes over (NetEq's start weight)
    this.#samples++;
    const f = Math.min(this.forgetFactor, 1 - 1 / this.#samples);
    for (let i = 0; i < h.length; i++) h[i]! *= f;
    const b = Math.min(h.length - 1, Math.max(0, Math.ceil(lateMs)));
    h[b]! += 1 - f;
    let total = 0;
    for (let i = 0; i < h.length; i++) total += h[i]!;
    const b2 = Math.min(h.length - 1, Math.max(0, Math.ceil(lateMs)));
    if (b2 > this.#top[0]) this.#top = [b2, this.#top[0]];
    else if (b2 > this.#top[1]) this.#top[1] = b2;
    if (this.#samples < 1 / (1 - this.quantile)) {
      // every sample weighs 1/n > 1 − quantile: the quantile would be the largest, one stall
      this.#estimate = this.#top[1];
      return;
    }
    const want = this.quantile * total * (1 - 1e-9); // 19 of 20 equal weights must reach 0.95 despite rounding
    let acc = 0;
    let q = h.length - 1;
    for (let i = 0; i < h.length; i++) {
      acc += h[i]!;
      if (acc >= want) {
        q = i;
        break;
      }
    }
    this.#estimate = q;
  }
}
