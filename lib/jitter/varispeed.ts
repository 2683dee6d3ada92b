/**
 * Varispeed: the SpeexDSP resampler run at the same nominal rate in and out, with its ratio nudged by the drift
 * loop. `ratio` is input consumed per output sample: above 1 the buffer drains (plays faster), below 1 it fills.
 *
 * speex takes the ratio as a fraction num/den and reduces it by the GCD. We keep den = 65521 (the largest prime
 * below 2^16, inside the range speex keeps exact), so the fraction never reduces and speex never rescales its
 * fractional phase, and we never pass num = den: speex would reduce that to 1/1, rescaling the phase to zero —
 * measured, a sub-sample phase jump on a 1 kHz tone with a second-difference residual of 85 % of a whole-sample
 * skip. A ratio within ±7.6 ppm of 1 therefore rounds to ±15.3 ppm (one step); the loop dithers between the two
 * neighbours, which is inaudible and averages out. Stepping across 1 this way was measured glitch-free.
 */
import { SpeexResampler } from '../speex.js';

export const RATIO_DEN = 65521;

/** The numerator applied for a wanted ratio: round(ratio·den), never exactly den. */
export function ratioNumerator(ratio: number): number {
  const num = Math.round(ratio * RATIO_DEN);
  if (num !== RATIO_DEN) return num;
  return ratio >= 1 ? RATIO_DEN + 1 : RATIO_DEN - 1;
}

export class Varispeed {
  readonly channels: number;
  #rs: SpeexResampler;
  #num = 0;
  #wanted = 1;
  #sinceChange = Infinity;
  #minInterval: number;
  /** output − input, positive part, summed per call */
  inserted = 0;
  /** input − output, positive part, summed per call */
  removed = 0;

  constructor(channels: number, sampleRate: number, quality: number) {
    this.channels = channels;
    this.#rs = new SpeexResampler(channels, sampleRate, sampleRate, quality);
    this.#minInterval = sampleRate / 10;
    this.#apply();
  }

  /** The ratio in effect (after quantization). */
  get ratio(): number {
    return this.#num / RATIO_DEN;
  }

  /** Input frames the filter holds back: output lags input by this much. */
  get latency(): number {
    return this.#rs.inputLatency;
  }

  /** Ask for a new ratio; it takes effect at the next `process`. */
  setRatio(ratio: number): void {
    this.#wanted = ratio;
  }

  /** Resample interleaved `input`; returns a fresh array. */
  process(input: Int16Array): Int16Array {
    this.#apply();
    this.#sinceChange += input.length / this.channels;
    const out = this.#rs.process(input);
    const d = (out.length - input.length) / this.channels;
    if (d > 0) this.inserted += d;
    else this.removed -= d;
    return out;
  }

  /** The tail the filter still holds, pushed out with silence. */
  flush(): Int16Array {
    const out = this.#rs.flush();
    this.inserted += out.length / this.channels;
    return out;
  }

  destroy(): void {
    this.#rs.destroy();
  }

  /** speex rebuilds its filter table on every ratio change (~18 µs at q3): at most every 100 ms of audio. */
  #apply(): void {
    const num = ratioNumerator(this.#wanted);
    if (num !== this.#num && this.#sinceChange >= this.#minInterval) {
      this.#rs.setRatio(num, RATIO_DEN);
      this.#num = num;
      this.#sinceChange = 0;
    }
  }
}
