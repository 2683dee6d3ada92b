/**
 * A fixed-ratio int16 resampler: a precomputed polyphase table (lib/polyphase/design.ts) and a WebAssembly
 * SIMD kernel (kernel.wat), one multiply-add per tap per output sample.
 *
 * Why ours and not only speex: at quality 4 speex keeps a full table only when the ratio has ≤ 8 phases
 * (8k/16k → 48k); for 44.1 ↔ 48 kHz (160 phases) it interpolates between four table rows per output, about 4×
 * the work. A full table for 160 phases × 64 taps is 40 KB, so we compute it. Same quality scale, same
 * alignment (`skipZeros`) and exact output length as lib/speex.ts; no `setRatio` (the jitter buffer's
 * varispeed stays on speex). `PolyphaseResampler.supports()` says whether a ratio's table is affordable.
 *
 * Each resampler owns a small WebAssembly memory: [table][history planes, one per channel][staging][output].
 */
import { ConfigError, FrameFormatError } from '../errors.js';
import { mixInto } from '../mix.js';
import { designPolyphase, polyphaseShape } from './design.js';
import { KERNEL_WASM_BASE64 } from './kernelWasm.js';

/** The largest filter table we build: 256 KiB (44.1 ↔ 48 kHz at quality 4 needs 40 KiB; odd ratios need MBs). */
export const MAX_TABLE_BYTES = 256 * 1024;

const PAGE = 65536;
const F32 = 4;
const I16 = 2;

interface KernelExports {
  memory: WebAssembly.Memory;
  load(src: number, frames: number, channels: number, c: number, dst: number): void;
  loadMono(src: number, frames: number, dst: number): void;
  loadStereoMean(src: number, frames: number, dst: number): void;
  run(
    table: number,
    taps: number,
    phases: number,
    intAdv: number,
    fracAdv: number,
    plane: number,
    pos: number,
    frac: number,
    count: number,
    out: number,
    stride: number,
  ): void;
}

let kernelModule: WebAssembly.Module | undefined;

function instantiate(): KernelExports {
  // compiled once (under 1 KB, so synchronously), instantiated per resampler: each gets its own memory
  kernelModule ??= new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  return new WebAssembly.Instance(kernelModule).exports as unknown as KernelExports;
}

const align16 = (n: number): number => (n + 15) & ~15;

export class PolyphaseResampler {
  /** Whether this engine handles the conversion (rates valid, table ≤ MAX_TABLE_BYTES, WASM SIMD present). */
  static supports(inRate: number, outRate: number, quality: number): boolean {
    if (![inRate, outRate].every((r) => Number.isInteger(r) && r >= 1) || inRate === outRate) return false;
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) return false;
    const { taps, phases } = polyphaseShape(inRate, outRate, quality);
    return taps * phases * F32 <= MAX_TABLE_BYTES && simdAvailable();
  }

  readonly channels: number;
  readonly inRate: number;
  readonly outRate: number;
  readonly #k: KernelExports;
  readonly #taps: number;
  readonly #phases: number;
  readonly #step: number; // input samples per `phases` outputs
  #pos = 0; // plane index of the next output's first tap
  #frac = 0; // the next output's phase (table row)
  #len: number; // samples in each plane
  #started = false;
  // byte offsets in the kernel's memory; capacities in frames (per channel)
  #planes: number[] = [];
  #planeCap = 0;
  #staging = 0;
  #stagingCap = 0; // samples
  #out = 0;
  #ioCap = 0;
  // views of the kernel's memory, renewed by #layout (the only place it grows and replaces its buffer)
  #i16 = new Int16Array(0);
  #f32 = new Float32Array(0);

  constructor(channels: number, inRate: number, outRate: number, quality: number) {
    for (const [name, v] of [
      ['channels', channels],
      ['inRate', inRate],
      ['outRate', outRate],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new ConfigError('ERR_RESAMPLE_OPTIONS', `${name} must be a positive integer, got ${v}`);
    }
    if (!PolyphaseResampler.supports(inRate, outRate, quality)) {
      throw new ConfigError(
        'ERR_RESAMPLE_OPTIONS',
        `the polyphase resampler does not handle ${inRate} → ${outRate} Hz at quality ${quality}`,
      );
    }
    this.channels = channels;
    this.inRate = inRate;
    this.outRate = outRate;
    const filter = designPolyphase(inRate, outRate, quality);
    this.#taps = filter.taps;
    this.#phases = filter.phases;
    this.#step = filter.step;
    this.#k = instantiate();
    this.#len = this.#taps - 1; // the history starts as taps − 1 zeros (the memory is zeroed)
    this.#layout(1024, channels);
    this.#f32.set(filter.table, 0);
  }

  /** Input samples per channel the filter holds back (its lookahead): half the filter. */
  get inputLatency(): number {
    return this.#taps / 2;
  }

  /** Discard the filter's leading zeros so output starts aligned with input (before the first process). */
  skipZeros(): void {
    if (!this.#started) this.#pos = this.#taps / 2;
  }

  /**
   * Resample interleaved int16 `input`; returns the output it makes (owned, may be empty). After `skipZeros`
   * and `flush`, the total output is exactly ceil(total input × outRate / inRate) samples per channel.
   * `inputChannels` (default: this resampler's count) is mixed on the way in (lib/mix.ts), as in lib/speex.ts.
   */
  process(input: Int16Array, inputChannels = this.channels): Int16Array {
    this.#started = true;
    const ch = this.channels;
    const frames = input.length / inputChannels;
    if (!Number.isInteger(frames)) {
      throw new FrameFormatError(
        'ERR_FRAME_FORMAT',
        `resampler input of ${input.length} samples is not whole ${inputChannels}-channel frames`,
      );
    }
    const k = this.#k;
    this.#layout(frames, inputChannels);
    this.#loadInput(input, inputChannels, frames);
    this.#len += frames;

    // outputs k = 0, 1, … need pos + floor((frac + k·step) / phases) ≤ len − taps
    const room = this.#len - this.#taps + 1 - this.#pos;
    const count = room > 0 ? Math.ceil((room * this.#phases - this.#frac) / this.#step) : 0;
    const phases = this.#phases;
    for (let c = 0; c < ch; c++) {
      k.run(
        0,
        this.#taps,
        phases,
        Math.floor(this.#step / phases),
        this.#step % phases,
        this.#planes[c]!,
        this.#pos,
        this.#frac,
        count,
        this.#out + c * I16,
        ch * I16,
      );
    }
    const moved = this.#frac + count * this.#step;
    this.#pos += Math.floor(moved / phases);
    this.#frac = moved % phases;

    // keep only what later outputs read: from pos on (at most taps − 1 samples)
    const drop = Math.min(this.#pos, this.#len);
    if (drop > 0) {
      const f32 = this.#f32;
      for (const p of this.#planes) f32.copyWithin(p / F32, p / F32 + drop, p / F32 + this.#len);
      this.#len -= drop;
      this.#pos -= drop;
    }
    // slice() copies out of the WASM memory: one allocation, owned at offset 0
    const start = this.#out / I16;
    return this.#i16.slice(start, start + count * ch);
  }

  /** Push the filter's lookahead of silence through and return the tail it was holding. */
  flush(): Int16Array {
    return this.process(new Int16Array(this.inputLatency * this.channels));
  }

  /** Nothing native to free (the memory goes with the object); kept for the engines' common shape. */
  destroy(): void {}

  /**
   * Input → the planes' tails as f32. Mono and the 2 → 1 downmix go through the kernel's SIMD loaders (the
   * downmix rounds as lib/mix.ts does); other mixes are done by lib/mix.ts into the staging area first.
   */
  #loadInput(input: Int16Array, inputChannels: number, frames: number): void {
    const k = this.#k;
    const ch = this.channels;
    const heap = this.#i16;
    const tail = this.#len * F32;
    if (inputChannels === 2 && ch === 1) {
      heap.set(input, this.#staging / I16);
      k.loadStereoMean(this.#staging, frames, this.#planes[0]! + tail);
      return;
    }
    if (inputChannels === ch) heap.set(input, this.#staging / I16);
    else mixInto(input, inputChannels, ch, heap, this.#staging / I16);
    if (ch === 1) k.loadMono(this.#staging, frames, this.#planes[0]! + tail);
    else for (let c = 0; c < ch; c++) k.load(this.#staging, frames, ch, c, this.#planes[c]! + tail);
  }

  /** Make room for `frames` more input frames of `inputChannels`; moves the planes if they grow. */
  #layout(frames: number, inputChannels: number): void {
    const planeNeed = this.#taps + frames + Math.ceil(this.#step / this.#phases);
    const ioNeed = Math.max(frames, Math.ceil((frames * this.#phases) / this.#step) + 2);
    const stagingNeed = frames * Math.max(inputChannels, this.channels);
    if (planeNeed <= this.#planeCap && ioNeed <= this.#ioCap && stagingNeed <= this.#stagingCap) return;
    const mem = this.#k.memory;
    const saved = this.#planes.map((p) => new Float32Array(mem.buffer, p, this.#len).slice());
    this.#planeCap = Math.max(planeNeed, this.#planeCap * 2);
    this.#ioCap = Math.max(ioNeed, this.#ioCap * 2);
    const ch = this.channels;
    let at = align16(this.#taps * this.#phases * F32);
    this.#planes = [];
    for (let c = 0; c < ch; c++, at = align16(at + this.#planeCap * F32)) this.#planes.push(at);
    this.#staging = at;
    this.#stagingCap = Math.max(stagingNeed, this.#stagingCap * 2);
    at = align16(at + this.#stagingCap * I16);
    this.#out = at;
    at = align16(at + this.#ioCap * ch * I16);
    const pages = Math.ceil(at / PAGE);
    if (pages > mem.buffer.byteLength / PAGE) mem.grow(pages - mem.buffer.byteLength / PAGE);
    this.#i16 = new Int16Array(mem.buffer);
    this.#f32 = new Float32Array(mem.buffer);
    saved.forEach((s, c) => this.#f32.set(s, this.#planes[c]! / F32));
  }
}

let simd: boolean | undefined;

/** WebAssembly SIMD: in every Node ≥ 16.4; checked once, so a runtime without it falls back to speex. */
function simdAvailable(): boolean {
  simd ??= validateKernel();
  return simd;
}

function validateKernel(): boolean {
  try {
    return WebAssembly.validate(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  } catch {
    return false;
  }
}
