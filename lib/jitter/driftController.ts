/**
 * The drift loop, run once per output frame (the sink's clock). It outputs the varispeed correction u — input
 * consumed per output sample, minus one — from two parts:
 *
 *   u = ŝ + Kp · (d̂ − target)
 *
 * ŝ and d̂ come from a delay-locked loop (a second-order observer, as in PipeWire / zita-ajbridge) that tracks
 * the measured depth d with the model d' = s − u, where s is the producer's clock skew against the sink:
 *
 *   innovation e = d − d̂      ŝ += ω²·e·dt      d̂ += 2ζω·e·dt + (ŝ − u)·dt
 *
 * so ŝ converges to the skew (the `driftPpm` estimate) and d̂ is the depth with the packet sawtooth and the
 * network jitter filtered out. Because our own actions (u, time-stretch cuts, drops) are fed to the model, and
 * the target enters only the proportional term, a change of target or a time-stretch cut does not disturb the
 * drift estimate — a PI loop on the depth error would wind its integrator up on every target step.
 *
 * The bandwidth starts wide (0.2 Hz: locks within seconds) and narrows to 0.02 Hz (PipeWire's figure) with a
 * 5 s time constant. Innovations are not clipped: clumped arrival draws a sawtooth of up to the clump size on
 * the depth, and clipping it would bias the estimate; the loop's own low bandwidth averages it out. A dip that
 * ends in an underrun is not drift, though — it is a late packet — so on an underrun the core calls
 * `discardRecent()`, which restores the skew estimate from half a second earlier; after a resume the model
 * follows the measured depth for 200 ms without learning from it (the rest of a backlog may still be arriving),
 * and if it ever disagrees with the measurement by over 20 ms for half a second it re-syncs.
 * The correction is clamped (±1 % by default). The model advances with the correction actually applied when the
 * caller says what it was (varispeed plays a nominal ratio through a delay line: then none was).
 */

export interface DriftControllerOptions {
  /** time between updates, ms (one output frame) */
  frameMs: number;
  /** clamp on |correction| */
  maxCorrection: number;
  /** final loop bandwidth, Hz */
  bandwidthHz?: number;
  /** initial loop bandwidth, Hz */
  startBandwidthHz?: number;
  /** time constant of the bandwidth narrowing, s */
  settleS?: number;
  /** gain from depth error to correction, 1/s (1/Kp is how long a target error takes to shrink by e) */
  gainPerS?: number;
}

/** updates of skew history kept for discardRecent() (half a second of 10 ms frames) */
const HISTORY = 50;
/** after a reset, the model follows the measured mean for this many updates without learning from it (200 ms:
 *  the rest of a stall's backlog may still be arriving) */
const SETTLE = 20;
/** an innovation beyond ±LOST_MS for LOST_RUN updates in a row means the model lost track: re-sync */
const LOST_MS = 20;
const LOST_RUN = 50;

const ZETA = 1;

export class DriftController {
  readonly maxCorrection: number;
  #dtMs: number;
  #bw: number;
  #bw0: number;
  #settle: number;
  #kp: number;
  #history = new Float64Array(HISTORY);
  #n = 0;
  #settling = 0;
  #settled = 0;
  #lostRun = 0;
  #t = 0;
  #depth = NaN;
  #skew = 0;
  /** the correction the model was advanced with at the last update */
  #lastU = 0;

  constructor(o: DriftControllerOptions) {
    this.#dtMs = o.frameMs;
    this.maxCorrection = o.maxCorrection;
    this.#bw = o.bandwidthHz ?? 0.02;
    this.#bw0 = o.startBandwidthHz ?? 0.2;
    this.#settle = o.settleS ?? 5;
    this.#kp = o.gainPerS ?? 0.3;
  }

  /** Estimated producer clock skew relative to the sink, ppm (positive: the producer runs fast). */
  get driftPpm(): number {
    return this.#skew * 1e6;
  }

  /** Current loop bandwidth, Hz. */
  get bandwidthHz(): number {
    return this.#bw + (this.#bw0 - this.#bw) * Math.exp(-this.#t / this.#settle);
  }

  /** (Re)start depth tracking from a measurement — after prebuffering or a resume. The skew estimate is kept. */
  reset(depthMs: number): void {
    this.#depth = depthMs;
    this.#settling = SETTLE;
    this.#settled = 0;
  }

  /** Tell the model about a change to the depth we made ourselves (a time-stretch cut, a drop), ms. */
  adjust(deltaMs: number): void {
    this.#depth += deltaMs;
  }

  /** Forget the last half second of skew updates (the depth dip before an underrun is a late packet, not drift). */
  discardRecent(): void {
    if (this.#n >= HISTORY) this.#skew = this.#history[this.#n % HISTORY]!;
  }

  /**
   * One output frame: the measured depth and the target (ms) in, the correction to apply out. `appliedLast`: the
   * correction actually in effect since the last update, if it was not the one returned (default: it was).
   */
  update(depthMs: number, targetMs: number, appliedLast = this.#lastU): number {
    if (Number.isNaN(this.#depth)) this.#depth = depthMs;
    else this.#depth += (this.#lastU - appliedLast) * this.#dtMs;
    const w = 2 * Math.PI * this.bandwidthHz;
    const dt = this.#dtMs / 1000;
    this.#t += dt;
    const max = this.maxCorrection;
    this.#history[this.#n++ % HISTORY] = this.#skew;
    const e = depthMs - this.#depth;
    this.#lostRun = Math.abs(e) > LOST_MS ? this.#lostRun + 1 : 0;
    if (this.#lostRun >= LOST_RUN) this.reset(depthMs);
    if (this.#settling > 0) {
      // settling: the model is the running mean of what was measured since the reset (a single sample could sit
      // at the bottom of a jitter dip), carried forward by the model
      this.#settling--;
      this.#depth += (depthMs - this.#depth) / ++this.#settled;
      this.#lostRun = 0;
    } else {
      this.#skew = Math.max(-max, Math.min(max, this.#skew + ((w * w * e) / 1000) * dt));
      this.#depth += 2 * ZETA * w * e * dt;
    }
    const u = Math.max(-max, Math.min(max, this.#skew + (this.#kp * (this.#depth - targetMs)) / 1000));
    this.#depth += (this.#skew - u) * this.#dtMs;
    this.#lastU = u;
    return u;
  }
}
