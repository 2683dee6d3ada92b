/**
 * The resampling engine: SpeexDSP's resampler compiled to WebAssembly (@echogarden/speex-resampler-wasm, BSD-3).
 * Chosen by measurement over rtc-node's soxr-backed AudioResampler (docs/resampling.md): high SNR at quality 3+,
 * a few ms of lookahead instead of tens, and fractional rate changes (`setRatio`) for drift correction.
 *
 * One WASM instance serves every resampler in the process; `loadSpeex()` must resolve before construction.
 * Measured figures and the choice of default quality: docs/resampling.md.
 */
import { ConfigError, AudioPipelineError } from './errors.js';
import { mixInto } from './mix.js';
import { isAudioSampleRate, MAX_CHANNELS, SAMPLE_RATE_RANGE } from './formats.js';

let wasm: SpeexWasmModule | undefined;
let loading: Promise<SpeexWasmModule> | undefined;

/** Load the WASM engine once. Safe to call many times. */
export function loadSpeex(): Promise<void> {
  loading ??= import('@echogarden/speex-resampler-wasm/simd')
    .then((m) => m.default())
    .then(
      (mod) => (wasm = mod),
      (err: unknown) => {
        loading = undefined; // let a later call retry
        throw new ConfigError('ERR_ENGINE_LOAD', `cannot load the speex resampler (WASM): ${String(err)}`, {
          cause: err,
        });
      },
    );
  return loading.then(() => undefined);
}

/** True once `loadSpeex()` has resolved. */
export function speexLoaded(): boolean {
  return wasm !== undefined;
}

/**
 * Default quality, chosen by measurement (bench/resampler-quality.ts): flat to 0.85 × Nyquist (3.4 kHz at
 * 8 kHz), ≥ 93 dB SNR, 12 kHz alias at 48k → 16k below −100 dBFS, and only 4 ms lookahead at 8 kHz.
 */
export const SPEEX_DEFAULT_QUALITY = 4;

const U32 = 4;

/** A streaming int16 interleaved resampler. Not a stream itself: transforms wrap it. */
export class SpeexResampler {
  readonly channels: number;
  #inRate: number;
  #outRate: number;
  #st: number;
  #lens: number; // two u32 slots: in_len, out_len
  #inPtr = 0;
  #inCap = 0; // samples (all channels)
  #outPtr = 0;
  #outCap = 0;
  #ratio: number; // out/in, for sizing output

  /** quality 0–10 (speex scale). Requires `await loadSpeex()` first. */
  constructor(channels: number, inRate: number, outRate: number, quality = SPEEX_DEFAULT_QUALITY) {
    if (!wasm)
      throw new ConfigError('ERR_ENGINE_NOT_LOADED', 'call `await loadSpeex()` before creating a SpeexResampler');
    checkResamplerShape(channels, inRate, outRate);
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) {
      throw new ConfigError('ERR_RESAMPLE_OPTIONS', `quality must be an integer 0–10, got ${quality}`);
    }
    this.channels = channels;
    this.#inRate = inRate;
    this.#outRate = outRate;
    this.#ratio = outRate / inRate;
    this.#lens = allocate(2 * U32);
    this.#st = wasm._speex_resampler_init(channels, inRate, outRate, quality, this.#lens);
    const err = wasm.HEAP32[this.#lens >> 2]!;
    if (this.#st === 0 || err !== 0) {
      wasm._free(this.#lens);
      throw new ConfigError('ERR_RESAMPLE_OPTIONS', `speex resampler init failed (error ${err})`);
    }
  }

  get inRate(): number {
    return this.#inRate;
  }
  get outRate(): number {
    return this.#outRate;
  }

  /** Input samples per channel the filter holds back (its lookahead). */
  get inputLatency(): number {
    return wasm!._speex_resampler_get_input_latency(this.#st);
  }

  /**
   * Change the conversion ratio without resetting the filter state: in/out = num/den, with nominal
   * rates for filter design. Used for drift correction (varispeed). num, den < 2^32; speex recomputes its
   * filter table when the ratio changes, so change it at control-loop rate, not per sample.
   */
  setRatio(num: number, den: number, inRate = this.#inRate, outRate = this.#outRate): void {
    const err = wasm!._speex_resampler_set_rate_frac(this.#st, num, den, inRate, outRate);
    if (err !== 0)
      throw new AudioPipelineError('ERR_RESAMPLE_RATIO', `speex rejected ratio ${num}/${den} (error ${err})`);
    this.#ratio = den / num;
  }

  /** Forget the input history and the fractional phase (the ratio stays): as freshly made. */
  resetMemory(): void {
    wasm!._speex_resampler_reset_mem(this.#st);
  }

  /** Discard the filter's leading zeros so output starts aligned with input (call before the first process). */
  skipZeros(): void {
    wasm!._speex_resampler_skip_zeros(this.#st);
  }

  /**
   * Resample interleaved int16 `input`; returns the output it makes (owned, may be empty). After `skipZeros`
   * and `flush`, at a fixed ratio, the total output is exactly ceil(total input × outRate / inRate) samples per channel.
   *
   * `inputChannels` (default: the resampler's channel count) lets `input` have another channel count: it is
   * mixed (lib/mix.ts: N → 1 averages, 1 → N duplicates) straight into the engine's input buffer, with no
   * intermediate array.
   */
  process(input: Int16Array, inputChannels = this.channels): Int16Array {
    const m = wasm!;
    const ch = this.channels;
    const inFrames = input.length / inputChannels;
    this.#ensureIn(inFrames * ch);
    const maxOutFrames = Math.ceil(inFrames * this.#ratio) + 16;
    this.#ensureOut(maxOutFrames * ch);
    // the heap views are read after the mallocs above: a grown WASM memory replaces them
    mixInto(input, inputChannels, ch, m.HEAP16, this.#inPtr >> 1);
    let consumed = 0;
    let produced = 0;
    // speex may stop early when the output buffer fills; loop until all input is consumed.
    for (let guard = 0; consumed < inFrames && guard < 64; guard++) {
      const u32 = m.HEAPU32;
      u32[this.#lens >> 2] = inFrames - consumed;
      u32[(this.#lens >> 2) + 1] = maxOutFrames - produced;
      const err = m._speex_resampler_process_interleaved_int(
        this.#st,
        this.#inPtr + consumed * ch * 2,
        this.#lens,
        this.#outPtr + produced * ch * 2,
        this.#lens + U32,
      );
      if (err !== 0) throw new AudioPipelineError('ERR_RESAMPLE', `speex process failed (error ${err})`);
      const used = m.HEAPU32[this.#lens >> 2]!;
      const made = m.HEAPU32[(this.#lens >> 2) + 1]!;
      consumed += used;
      produced += made;
      if (used === 0 && made === 0) break;
    }
    // slice() copies out of the WASM heap into a fresh buffer: one allocation, owned at offset 0.
    const start = this.#outPtr >> 1;
    return m.HEAP16.slice(start, start + produced * ch);
  }

  /** Push the filter's lookahead of silence through and return the tail it was holding. */
  flush(): Int16Array {
    return this.process(new Int16Array(this.inputLatency * this.channels));
  }

  /** Free the native state. The object is unusable afterwards. */
  destroy(): void {
    if (this.#st === 0) return;
    const m = wasm!;
    m._speex_resampler_destroy(this.#st);
    m._free(this.#lens);
    if (this.#inPtr) m._free(this.#inPtr);
    if (this.#outPtr) m._free(this.#outPtr);
    this.#st = 0;
  }

  #ensureIn(samples: number): void {
    if (samples <= this.#inCap) return;
    if (this.#inPtr) wasm!._free(this.#inPtr);
    this.#inCap = Math.max(samples, 1024);
    this.#inPtr = allocate(this.#inCap * 2);
  }

  #ensureOut(samples: number): void {
    if (samples <= this.#outCap) return;
    if (this.#outPtr) wasm!._free(this.#outPtr);
    this.#outCap = Math.max(samples, 1024);
    this.#outPtr = allocate(this.#outCap * 2);
  }
}

/**
 * A WASM heap block, or a typed error: malloc returns 0 when the 2 GiB heap cannot grow, and writing through
 * pointer 0 would corrupt the heap instead of failing.
 */
function allocate(bytes: number): number {
  const ptr = wasm!._malloc(bytes);
  if (ptr === 0)
    throw new AudioPipelineError(
      'ERR_RESAMPLE_MEMORY',
      `speex resampler: cannot allocate ${bytes} bytes in the WASM heap`,
    );
  return ptr;
}

/**
 * Refuse what no audio has (ConfigError ERR_RESAMPLE_OPTIONS): a rate outside SAMPLE_RATE_RANGE (a 1 Hz input
 * made the WASM allocation fail with an uncoded RuntimeError) or channels outside 1..MAX_CHANNELS.
 */
export function checkResamplerShape(channels: number, inRate: number, outRate: number): void {
  for (const [name, v] of [
    ['inRate', inRate],
    ['outRate', outRate],
  ] as const) {
    if (!isAudioSampleRate(v))
      throw new ConfigError(
        'ERR_RESAMPLE_OPTIONS',
        `${name} must be an integer in ${SAMPLE_RATE_RANGE.join('..')} Hz, got ${v}`,
      );
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new ConfigError('ERR_RESAMPLE_OPTIONS', `channels must be an integer in 1..${MAX_CHANNELS}, got ${channels}`);
  }
}
