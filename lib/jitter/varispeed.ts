/**
 * Varispeed: the SpeexDSP resampler run at the same nominal rate in and out, with its ratio nudged by the drift
 * loop. `ratio` is input consumed per output sample: above 1 the buffer drains (plays faster), below 1 it fills.
 *
 * speex takes the ratio as a fraction num/den and reduces it by the GCD. We keep den = 65521 (the largest prime
 * below 2^16, inside the range speex keeps exact), so the fraction never reduces and speex never rescales its
 * fractional phase, and we never pass num = den: speex would reduce that to 1/1, rescaling the phase to zero —
 * measured, a sub-sample phase jump on a 1 kHz tone with a second-difference residual of 85 % of a whole-sample
 * skip. A ratio within ±7.6 ppm of 1 therefore rounds to ±15.3 ppm (one step).
 *
 * Bypass: while the wanted ratio stays within `bypassPpm` of 1 (no drift to correct: the common case), the
 * filter is not run at all — the audio goes through a delay line exactly as long as the filter's lookahead, so
 * the timeline is the same either way (speex is 75–80 % of the jitter buffer's CPU at 48 kHz). Going active, the
 * filter is reset and primed with the last 2 × lookahead samples (its output for them, already played through
 * the delay line, is discarded), so it starts at phase 0 on the very next sample. Going back to bypass, the
 * filter is steered to a whole-sample phase first (homing, below) and hands over within 2 % of a sample, so the
 * hand-over moves the waveform by at most 0.02 of a sample.
 */
import { SpeexResampler } from '../speex.js';

export const RATIO_DEN = 65521;
/** Default dead band around 1: a wanted ratio within it plays through the delay line (300 ppm is the correction
 * the loop asks for at a 1 ms depth error: below that there is nothing worth resampling for). */
export const BYPASS_PPM = 300;
/** Back to bypass only when the filter's phase is this close to a whole sample (fraction of a sample). */
const PHASE_TOLERANCE = 0.02;
/** Homing runs at most this far off 1 (a fraction of RATIO_DEN: 1 %). */
const HOMING_MAX_STEP = 655;

/** The numerator applied for a wanted ratio: round(ratio·den), never exactly den. */
export function ratioNumerator(ratio: number): number {
  const num = Math.round(ratio * RATIO_DEN);
  if (num !== RATIO_DEN) return num;
  return ratio >= 1 ? RATIO_DEN + 1 : RATIO_DEN - 1;
}

export class Varispeed {
  readonly channels: number;
  readonly bypassPpm: number;
  #rs: SpeexResampler;
  /** the filter's lookahead, in samples per channel: its output lags its input by this much */
  readonly #lookahead: number;
  #num = 0;
  #wanted = 1;
  #sinceChange = Infinity;
  #minInterval: number;
  #bypass = true;
  /** bypass: the samples not yet played (interleaved), `#lookahead` of them in steady state */
  #delay: Int16Array;
  /** the last 2 × lookahead + 2 input samples (interleaved): the filter's priming, the delay line's refill */
  #history: Int16Array;
  /** input samples (per channel) taken so far */
  #inTotal = 0;
  /** active: the input index the filter's next output sits at — whole part, and fraction in 1/RATIO_DEN */
  #nextPos = 0;
  #phase = 0;
  /** active, just taken over: outputs to drop (already played), or delay-line samples to play first */
  #skip = 0;
  #lead: Int16Array | undefined;
  /** input samples (per channel) that went through the delay line / the filter */
  bypassedSamples = 0;
  activeSamples = 0;
  /** output − input, positive part, summed per call */
  inserted = 0;
  /** input − output, positive part, summed per call */
  removed = 0;

  constructor(channels: number, sampleRate: number, quality: number, bypassPpm = BYPASS_PPM) {
    this.channels = channels;
    this.bypassPpm = bypassPpm;
    this.#rs = new SpeexResampler(channels, sampleRate, sampleRate, quality);
    this.#lookahead = this.#rs.inputLatency;
    this.#delay = new Int16Array(this.#lookahead * channels); // the filter's leading zeros, as speex has them
    this.#history = new Int16Array((2 * this.#lookahead + 2) * channels);
    this.#minInterval = sampleRate / 10;
    this.#num = ratioNumerator(1);
  }

  /** The ratio in effect (after quantization); exactly 1 in bypass. */
  get ratio(): number {
    return this.#bypass ? 1 : this.#num / RATIO_DEN;
  }

  /** True while the audio goes through the delay line, not the filter. */
  get bypassed(): boolean {
    return this.#bypass;
  }

  /** Input frames held back: output lags input by this much. */
  get latency(): number {
    return this.#lookahead;
  }

  /** Ask for a new ratio; it takes effect at the next `process`. */
  setRatio(ratio: number): void {
    this.#wanted = ratio;
  }

  /** Resample interleaved `input`; returns a fresh array. */
  process(input: Int16Array): Int16Array {
    const ch = this.channels;
    const frames = input.length / ch;
    const nominal = Math.abs(this.#wanted - 1) <= this.bypassPpm * 1e-6;
    if (this.#bypass && !nominal) this.#takeOver();
    else if (!this.#bypass && nominal && this.#phaseNearWhole()) this.#handBack();
    let out: Int16Array;
    if (this.#bypass) {
      out = this.#throughDelay(input);
      this.bypassedSamples += frames;
    } else {
      if (nominal) this.#home(frames);
      else this.#apply();
      this.#sinceChange += frames;
      out = this.#rs.process(input);
      this.#advance(out.length / ch);
      out = this.#afterTakeOver(out);
      this.activeSamples += frames;
    }
    this.#remember(input);
    this.#inTotal += frames;
    const d = (out.length - input.length) / ch;
    if (d > 0) this.inserted += d;
    else this.removed -= d;
    return out;
  }

  /** The tail still held back (the delay line, or the filter's lookahead pushed out with silence). */
  flush(): Int16Array {
    let out: Int16Array;
    if (this.#bypass) out = this.#delay;
    else out = this.#afterTakeOver(this.#rs.flush());
    this.#delay = new Int16Array(0);
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

  /**
   * Nominal again but not at a whole-sample phase: for the next `frames` outputs, run just off 1 so that the phase
   * ends on the nearest whole sample (under half a sample of time, spread over the chunk; one chunk, or a few
   * at a 1 % cap for very short chunks).
   */
  #home(frames: number): void {
    const move = this.#phase > RATIO_DEN / 2 ? RATIO_DEN - this.#phase : -this.#phase;
    let step = Math.round(move / Math.max(1, frames));
    if (step === 0) step = move > 0 ? 1 : -1;
    step = Math.max(-HOMING_MAX_STEP, Math.min(HOMING_MAX_STEP, step));
    const num = RATIO_DEN + step;
    if (num === this.#num) return;
    this.#rs.setRatio(num, RATIO_DEN);
    this.#num = num;
    this.#sinceChange = 0;
  }

  /**
   * Bypass → filter. Fresh state, primed with the delay line and a lookahead of input before it (already
   * played): its output for them is dropped, and the next output it makes is the delay line's first sample.
   */
  #takeOver(): void {
    const ch = this.channels;
    const L = this.#lookahead;
    const rs = this.#rs;
    const delayed = this.#delay.length / ch;
    rs.resetMemory();
    // prime one step above 1: over this few outputs the phase cannot wrap, so exactly one output per input
    rs.setRatio(RATIO_DEN + 1, RATIO_DEN);
    const need = Math.min(delayed + L, this.#history.length / ch);
    rs.process(this.#history.subarray(this.#history.length - need * ch));
    // output j of the priming sits at input j − L: the next one at the end of the input so far, minus L
    this.#nextPos = this.#inTotal - L;
    this.#phase = need; // need × (1/den): a few thousandths of a sample
    // the delay line starts `delayed` back: usually exactly L; after a hand-back it may be one off either way
    this.#skip = Math.max(0, L - delayed);
    this.#lead = delayed > L ? this.#delay.slice(0, (delayed - L) * ch) : undefined;
    this.#delay = new Int16Array(0);
    this.#num = RATIO_DEN + 1;
    this.#sinceChange = Infinity;
    this.#bypass = false;
  }

  /** The first output after a take-over: drop what was already played, or play what the delay line had first. */
  #afterTakeOver(out: Int16Array): Int16Array {
    const ch = this.channels;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, out.length / ch);
      this.#skip -= n;
      out = out.subarray(n * ch);
    }
    const lead = this.#lead;
    if (lead !== undefined) {
      this.#lead = undefined;
      const all = new Int16Array(lead.length + out.length);
      all.set(lead);
      all.set(out, lead.length);
      out = all;
    }
    return out;
  }

  /** Filter → bypass, at a whole-sample phase: the delay line takes the input the filter has not played yet. */
  #handBack(): void {
    const ch = this.channels;
    const next = this.#nextPos + (this.#phase > RATIO_DEN / 2 ? 1 : 0);
    const pending = Math.max(0, Math.min(this.#inTotal - next, this.#history.length / ch));
    const h = this.#history;
    this.#delay = h.slice(h.length - pending * ch);
    this.#skip = 0;
    this.#lead = undefined;
    this.#bypass = true;
  }

  #phaseNearWhole(): boolean {
    if (this.#skip > 0 || this.#lead !== undefined) return false;
    const f = this.#phase / RATIO_DEN;
    return f <= PHASE_TOLERANCE || f >= 1 - PHASE_TOLERANCE;
  }

  /** Each output moves the filter num/den of an input sample on (speex counts the fraction in 1/den exactly). */
  #advance(outputs: number): void {
    const f = this.#phase + outputs * this.#num;
    this.#nextPos += Math.floor(f / RATIO_DEN);
    this.#phase = f % RATIO_DEN;
  }

  /** The delay line: what was held goes out first, the newest `lookahead` samples stay. */
  #throughDelay(input: Int16Array): Int16Array {
    const keep = this.#lookahead * this.channels;
    const all = new Int16Array(this.#delay.length + input.length);
    all.set(this.#delay);
    all.set(input, this.#delay.length);
    const cut = Math.max(0, all.length - keep);
    this.#delay = all.slice(cut);
    return all.subarray(0, cut);
  }

  #remember(input: Int16Array): void {
    const h = this.#history;
    if (input.length >= h.length) {
      h.set(input.subarray(input.length - h.length));
    } else {
      h.copyWithin(0, input.length);
      h.set(input, h.length - input.length);
    }
  }
}
