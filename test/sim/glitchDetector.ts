/**
 * Glitch detector for a pure test tone. A sinusoid obeys y[n] = 2·cos ω·y[n−1] − y[n−2] exactly, and
 * y[n−1]² − y[n]·y[n−2] = A²·sin²ω (its squared envelope) — both from three consecutive samples. So:
 *
 * - discontinuity: the second-order prediction residual |y[n] − 2cos ω·y[n−1] + y[n−2]| exceeds `threshold`·A.
 *   A one-sample skip gives ≈ 2A·sin(ω/2) (0.13·A at 1 kHz / 48 kHz), a click at least its own height, while a
 *   frequency off by 2 % (varispeed is ±1 %) gives only 2A·sin ω·Δω (0.0007·A at 1 kHz / 48 kHz).
 * - dropout: the envelope falls below `minEnvelope`·A (gaps, fades, concealment).
 *
 * Flagged samples closer than `mergeMs` are one event. Nothing is flagged before the tone is first present for
 * `lockMs` (leading silence and prebuffering are not glitches).
 */

export interface GlitchDetectorOptions {
  sampleRate: number;
  frequency: number;
  /** expected tone amplitude (int16 units) */
  amplitude: number;
  threshold?: number;
  minEnvelope?: number;
  mergeMs?: number;
  lockMs?: number;
}

export interface GlitchEvent {
  /** sample index (per channel) of the first flagged sample */
  at: number;
  /** flagged samples in the event */
  length: number;
  kind: 'discontinuity' | 'dropout';
}

export class GlitchDetector {
  readonly events: GlitchEvent[] = [];
  #c: number;
  #sinW: number;
  #resLimit: number;
  #envLimit2: number;
  #merge: number;
  #lockNeed: number;
  #lockRun = 0;
  #locked = false;
  #n = 0;
  #y1 = 0;
  #y2 = 0;
  #lastBad = -Infinity;
  #maxResidual = 0;

  constructor(o: GlitchDetectorOptions) {
    const w = (2 * Math.PI * o.frequency) / o.sampleRate;
    this.#c = Math.cos(w);
    this.#sinW = Math.sin(w);
    this.#resLimit = (o.threshold ?? 0.03) * o.amplitude;
    const env = (o.minEnvelope ?? 0.5) * o.amplitude * this.#sinW;
    this.#envLimit2 = env * env;
    this.#merge = Math.round(((o.mergeMs ?? 50) * o.sampleRate) / 1000);
    this.#lockNeed = Math.round(((o.lockMs ?? 10) * o.sampleRate) / 1000);
  }

  get count(): number {
    return this.events.length;
  }

  /** Samples (per channel) fed so far. */
  get samples(): number {
    return this.#n;
  }

  /** Largest residual seen while locked and not flagged, as a fraction of the flag threshold (diagnostics). */
  get maxCleanResidual(): number {
    return this.#maxResidual / this.#resLimit;
  }

  /** Feed interleaved samples; only `channel` is analysed. */
  feed(data: Int16Array, channels = 1, channel = 0): void {
    let y1 = this.#y1;
    let y2 = this.#y2;
    let n = this.#n;
    const c2 = 2 * this.#c;
    for (let i = channel; i < data.length; i += channels, n++) {
      const y = data[i]!;
      if (this.#locked && n >= 2) {
        // hot path, inlined: a clean sample only updates the residual maximum
        const res = Math.abs(y - c2 * y1 + y2);
        if (res <= this.#resLimit && y1 * y1 - y * y2 >= this.#envLimit2) {
          if (res > this.#maxResidual) this.#maxResidual = res;
        } else this.#judge(n, y, y1, y2);
      } else if (n >= 2) this.#judge(n, y, y1, y2);
      y2 = y1;
      y1 = y;
    }
    this.#y1 = y1;
    this.#y2 = y2;
    this.#n = n;
  }

  /** Feed `frames` samples of silence (a sink underrun). */
  feedSilence(frames: number): void {
    this.feed(new Int16Array(frames));
  }

  #judge(n: number, y: number, y1: number, y2: number): void {
    const env2 = y1 * y1 - y * y2;
    if (!this.#locked) {
      this.#lockRun = env2 >= this.#envLimit2 ? this.#lockRun + 1 : 0;
      if (this.#lockRun >= this.#lockNeed) this.#locked = true;
      return;
    }
    const res = Math.abs(y - 2 * this.#c * y1 + y2);
    const jump = res > this.#resLimit;
    const last = this.events[this.events.length - 1];
    if (last !== undefined && n - this.#lastBad <= this.#merge) last.length++;
    else this.events.push({ at: n, length: 1, kind: jump ? 'discontinuity' : 'dropout' });
    this.#lastBad = n;
  }
}
