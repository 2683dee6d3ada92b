/**
 * Test signals and measurements shared by the test files (and bench/). Levels are in dB relative to int16
 * full scale: a sine of amplitude 32767 reads 0 dB, whatever the measure (peak-equivalent, not RMS dBFS).
 */
import { AudioFrame } from '../../lib/frames.js';
import { prng } from './prng.js';

export const FULL_SCALE = 32767;

/** The ideal (unquantised) sine, mono, in int16 units: `n` samples of `amp` × full scale, starting at phase 0. */
export function idealSine(rate: number, hz: number, n: number, amp = 0.5): Float64Array {
  const out = new Float64Array(n);
  const w = (2 * Math.PI * hz) / rate;
  for (let i = 0; i < n; i++) out[i] = amp * FULL_SCALE * Math.sin(w * i);
  return out;
}

/** A frame of `ms` of sine (rounded to whole samples), the same on every channel, `amp` relative to full scale. */
export function sine(rate: number, ch: number, hz: number, ms: number, amp = 0.5): AudioFrame {
  const n = Math.round((rate * ms) / 1000);
  const ideal = idealSine(rate, hz, n, amp);
  const data = new Int16Array(n * ch);
  for (let i = 0; i < n; i++) {
    const v = Math.round(ideal[i]!);
    for (let c = 0; c < ch; c++) data[i * ch + c] = v;
  }
  return new AudioFrame(data, rate, ch, n);
}

/** Random int16 samples (deterministic for a seed): a frame of `spc` samples per channel. */
export function noise(rate: number, ch: number, spc: number, seed = 1): AudioFrame {
  const rand = prng(seed);
  const data = new Int16Array(spc * ch);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 65536) - 32768;
  return new AudioFrame(data, rate, ch, spc);
}

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1): test/helpers/prng.ts. */
export { prng };

/** The interleaved samples of `frames`, concatenated. */
export { concatSamples as concatFrames, concatInt16 as concatArrays } from '../../lib/frames.js';

/**
 * Cut `frame` into consecutive frames, each owning its buffer; `size(i)` gives the i-th piece's samples per
 * channel (the last piece is whatever is left).
 */
export function splitFrame(frame: AudioFrame, size: (i: number) => number): AudioFrame[] {
  const ch = frame.channels;
  const out: AudioFrame[] = [];
  for (let at = 0, i = 0; at < frame.samplesPerChannel; i++) {
    const n = Math.min(Math.max(1, Math.round(size(i))), frame.samplesPerChannel - at);
    out.push(new AudioFrame(frame.data.slice(at * ch, (at + n) * ch), frame.sampleRate, ch, n));
    at += n;
  }
  return out;
}

/** Channel `c` of interleaved `x` with `ch` channels. */
export function channel(x: Int16Array, ch: number, c: number): Int16Array {
  const out = new Int16Array(Math.floor(x.length / ch));
  for (let i = 0; i < out.length; i++) out[i] = x[i * ch + c]!;
  return out;
}

/** Signal-to-noise ratio of `actual` against `ideal` in dB; the noise is their difference (same length). */
export function snrDb(actual: ArrayLike<number>, ideal: ArrayLike<number>): number {
  if (actual.length !== ideal.length) throw new Error(`snrDb: lengths differ (${actual.length} vs ${ideal.length})`);
  let sig = 0;
  let err = 0;
  for (let i = 0; i < ideal.length; i++) {
    const d = actual[i]! - ideal[i]!;
    sig += ideal[i]! * ideal[i]!;
    err += d * d;
  }
  return 10 * Math.log10(sig / err);
}

/**
 * SNR in dB of a sine of known frequency whose amplitude, phase and delay are unknown: least-squares fit of
 * a·sin + b·cos, noise = what the fit does not explain (noise, distortion, aliases). For engines whose
 * delay is not compensated.
 */
export function sineFitSnrDb(x: ArrayLike<number>, rate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / rate;
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let xs = 0;
  let xc = 0;
  for (let i = 0; i < x.length; i++) {
    const s = Math.sin(w * i);
    const c = Math.cos(w * i);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[i]! * s;
    xc += x[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  let sig = 0;
  let err = 0;
  for (let i = 0; i < x.length; i++) {
    const fit = a * Math.sin(w * i) + b * Math.cos(w * i);
    sig += fit * fit;
    err += (x[i]! - fit) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

/**
 * Level of the `hz` component of `x` (mono) in dB re full scale, by Goertzel over a 4-term Blackman-Harris
 * window (sidelobes below −92 dB, so a strong tone elsewhere does not leak into the reading).
 * A sine of amplitude A at `hz` reads 20·log10(A / 32767).
 */
export function toneLevelDb(x: ArrayLike<number>, rate: number, hz: number): number {
  const n = x.length;
  const w = (2 * Math.PI * hz) / rate;
  const k = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let gain = 0;
  for (let i = 0; i < n; i++) {
    const p = (2 * Math.PI * i) / (n - 1);
    const win = 0.35875 - 0.48829 * Math.cos(p) + 0.14128 * Math.cos(2 * p) - 0.01168 * Math.cos(3 * p);
    gain += win;
    const s0 = x[i]! * win + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  const amplitude = (2 * Math.sqrt(Math.max(power, 0))) / gain;
  return 20 * Math.log10(amplitude / FULL_SCALE);
}

/** Level of everything in `x` in dB re a full-scale sine (RMS × √2 / 32767); silence is −Infinity. */
export function levelDb(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return 20 * Math.log10((Math.sqrt(e / x.length) * Math.SQRT2) / FULL_SCALE);
}
