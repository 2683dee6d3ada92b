/**
 * decodeStream: compressed bytes arriving in chunks of any size (an HTTP response, a file stream) → AudioFrames
 * (int16 interleaved, the stream's own rate and channels), decoded as the bytes come:
 *
 *   const res = await fetch(ttsUrl);
 *   await pipeline(Readable.fromWeb(res.body), decodeStream({ format: 'mp3' }), resample({ sampleRate: 48000,
 *                  channels: 1 }), rechunk(), sink);
 *
 * Formats: 'mp3', 'opus' (Ogg Opus), 'flac' (native FLAC), 'vorbis' (Ogg Vorbis), each decoded by a wasm engine
 * from an optional package loaded on first use (lib/decode/streaming/engines.ts; missing → ERR_DECODE_UNAVAILABLE
 * naming it). Beside the engine a framer walks the container (lib/decode/streaming/*Framer.ts): it refuses bytes
 * that are not the declared format at once, and tells a cut stream from a whole one at the end.
 *
 * Frames are `frameMs` long (default 20; floor(rate × frameMs / 1000) samples), cut from the engine's output
 * with the remainder carried to the next block; the last frame may be shorter. Input is fed to the engine in
 * slices of at most 4 KiB and the next slice waits while the readable side is full, so memory does not grow
 * with the input's length, even for a FLAC "decode bomb" (minutes of silence in a few KiB).
 * Errors (typed, on the stream, after the frames decoded before them): see docs/decoding.md.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AudioFrame } from '../lib/frames.js';
import { ConfigError, InvalidAudioError, UnsupportedFormatError, toError } from '../lib/errors.js';
import { isAudioSampleRate, MAX_CHANNELS, SAMPLE_RATE_RANGE } from '../lib/formats.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import { bytesOf } from '../lib/chunks.js';
import { loadEngine } from '../lib/decode/streaming/engines.js';
import { createFramer } from '../lib/decode/streaming/framers.js';
import { flacToInt16, interleaveInt16 } from '../lib/decode/streaming/interleave.js';
import {
  FORMAT_NAMES,
  STREAM_FORMATS,
  type DecodedBlock,
  type Engine,
  type Framer,
  type StreamFormat,
} from '../lib/decode/streaming/types.js';

export type { StreamFormat } from '../lib/decode/streaming/types.js';

export interface DecodeStreamOptions {
  format: StreamFormat;
  /** Frame duration in ms, 1..100 (default 20): frames hold floor(rate × frameMs / 1000) samples per channel. */
  frameMs?: number;
  /**
   * Accept a stream that ends early (inside a frame or page, before its end-of-stream page, short of its
   * declared length): end cleanly with what decoded and set `truncated`. Default false: the audio that decoded
   * is emitted, then the stream errors with ERR_DECODE_TRUNCATED.
   */
  allowTruncated?: boolean;
  /**
   * Input bytes (after leading metadata: an ID3v2 tag, FLAC metadata blocks, Ogg header pages, up to 16 MiB of
   * them) that may arrive without a decoded sample before the stream fails with ERR_DECODE_FORMAT. Default 1 MiB.
   */
  maxProbeBytes?: number;
}

/** The stream's format, once the first audio is decoded (also the `format` event). */
export interface DecodeStreamFormat {
  format: StreamFormat;
  sampleRate: number;
  channels: number;
}

export interface DecodeStreamStats {
  bytesIn: number;
  framesOut: number;
  /** Samples per channel emitted. */
  samplesOut: number;
  /** Duration of the audio emitted. */
  msOut: number;
  /** Input bytes taken in when the first frame was pushed (undefined before it). */
  firstFrameAfterBytes: number | undefined;
  /** Wall time from the first input byte to the first frame. */
  firstFrameAfterMs: number | undefined;
}

const READABLE_HWM = 4;
const WRITABLE_HWM = 1;
/** Bytes handed to the engine per call: bounds the audio one call can make (FLAC silence is ~200:1 and more). */
const SLICE_BYTES = 4096;
const DEFAULT_MAX_PROBE_BYTES = 1024 * 1024;
/** Leading metadata that does not count against maxProbeBytes is capped here. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export function decodeStream(options: DecodeStreamOptions): DecodeStream {
  return new DecodeStream(options);
}

export class DecodeStream extends Transform implements HoldsAudio {
  readonly streamFormat: StreamFormat;
  /** The decoded format, once the first audio is out (also emitted as the `format` event, before that frame). */
  format: DecodeStreamFormat | undefined;
  /** True when `allowTruncated` let a cut stream end cleanly. */
  truncated = false;
  /** True once the wasm decoder is freed (after the end, an error, or destroy()): its memory is returned. */
  released = false;

  readonly #frameMs: number;
  readonly #allowTruncated: boolean;
  readonly #maxProbeBytes: number;
  readonly #framer: Framer;
  #engine: Engine | undefined;
  #loading: Promise<Engine> | undefined;
  /** The engine call in flight: destroy() frees the engine only after it settles. */
  #busy: Promise<unknown> = Promise.resolve();
  #freed = false;
  /** Resolves when the readable side wants more (the next _read). */
  #drained: (() => void) | undefined;
  /** The frame being filled, and how many sample frames it holds. */
  #cur: Int16Array | undefined;
  #curFill = 0;
  #frameLen = 0;
  #bytesIn = 0;
  #framesOut = 0;
  #samplesOut = 0;
  #msOut = 0;
  #startedAt: number | undefined;
  #firstFrameAfterBytes: number | undefined;
  #firstFrameAfterMs: number | undefined;
  #pending: { err: Error; cb: TransformCallback } | undefined;
  /** Input held back from the engine until the framer knows where the audio starts (see #engineInput). */
  #started = false;
  #held = new Uint8Array(0);
  #heldBase = 0;

  constructor(options: DecodeStreamOptions) {
    const { format, frameMs = 20, maxProbeBytes = DEFAULT_MAX_PROBE_BYTES } = (options ?? {}) as DecodeStreamOptions;
    if (!STREAM_FORMATS.includes(format)) {
      throw new ConfigError(
        'ERR_DECODE_OPTIONS',
        `decodeStream: format must be one of ${STREAM_FORMATS.join(', ')}, got ${String(format)}`,
      );
    }
    if (typeof frameMs !== 'number' || !(frameMs >= 1 && frameMs <= 100)) {
      throw new ConfigError('ERR_DECODE_OPTIONS', `decodeStream: frameMs must be in 1..100, got ${String(frameMs)}`);
    }
    if (!Number.isSafeInteger(maxProbeBytes) || maxProbeBytes < 1) {
      throw new ConfigError(
        'ERR_DECODE_OPTIONS',
        `decodeStream: maxProbeBytes must be a positive integer, got ${String(maxProbeBytes)}`,
      );
    }
    // object mode on the writable side: a non-bytes chunk becomes a stream error, not a throw out of write()
    super({
      readableObjectMode: true,
      writableObjectMode: true,
      readableHighWaterMark: READABLE_HWM,
      writableHighWaterMark: WRITABLE_HWM,
    });
    this.streamFormat = format;
    this.#frameMs = frameMs;
    this.#allowTruncated = options.allowTruncated === true;
    this.#maxProbeBytes = maxProbeBytes;
    this.#framer = createFramer(format, maxProbeBytes);
  }

  /** Audio held here: frames in the readable buffer plus the frame being filled. */
  get bufferedMs(): number {
    const f = this.format;
    return readableQueuedMs(this) + (f ? (this.#curFill * 1000) / f.sampleRate : 0);
  }

  get stats(): DecodeStreamStats {
    return {
      bytesIn: this.#bytesIn,
      framesOut: this.#framesOut,
      samplesOut: this.#samplesOut,
      msOut: this.#msOut,
      firstFrameAfterBytes: this.#firstFrameAfterBytes,
      firstFrameAfterMs: this.#firstFrameAfterMs,
    };
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    const bytes = bytesOf(chunk, 'decodeStream', 'ERR_DECODE_INPUT_TYPE');
    if (bytes instanceof InvalidAudioError) return this.#fail(bytes, cb);
    this.#startedAt ??= performance.now();
    this.#feed(bytes).then(
      () => (this.destroyed ? undefined : cb()),
      (err: unknown) => this.#fail(toError(err), cb),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.#finish().then(
      () => (this.destroyed ? undefined : cb()),
      (err: unknown) => this.#fail(toError(err), cb),
    );
  }

  override _read(size: number): void {
    super._read(size);
    const d = this.#drained;
    this.#drained = undefined;
    d?.();
    if (this.#pending) process.nextTick(() => this.#deliverPending());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#freed = true;
    // free the engine once its current call (if any) is over: freeing wasm memory under a running decode crashes it
    const free = () => this.#release();
    void this.#busy.then(free, free);
    cb(err);
  }

  async #feed(bytes: Uint8Array): Promise<void> {
    const engine = await this.#load();
    for (let at = 0; at < bytes.length && !this.destroyed; at += SLICE_BYTES) {
      const slice = bytes.subarray(at, at + SLICE_BYTES);
      this.#framer.push(slice);
      this.#bytesIn += slice.length;
      const input = this.#engineInput(slice);
      if (input.length > 0) {
        const block = await this.#call(() => engine.decode(input));
        if (this.destroyed) return;
        this.#take(block);
      }
      this.#checkProbe();
      // Back to the event loop after each engine call: other work (a gateway's calls) runs, and so do V8's tasks
      // that free the engine's dead output buffers — without them an hour of Vorbis peaked 20–30 MB higher.
      if (input.length > 0) await new Promise<void>((r) => setImmediate(r));
      if (this.destroyed) return;
      if (this.readableLength >= this.readableHighWaterMark) await new Promise<void>((r) => (this.#drained = r));
    }
  }

  /**
   * What of `slice` goes to the engine: all of it once the framer has found where the audio starts; before,
   * nothing — the bytes from the framer's search position on are held (a frame or page waiting to be
   * confirmed: a few KiB), and handed over from `audioStart` when it is known.
   */
  #engineInput(slice: Uint8Array): Uint8Array {
    if (this.#started) return slice;
    const held = new Uint8Array(this.#held.length + slice.length);
    held.set(this.#held);
    held.set(slice, this.#held.length);
    const start = this.#framer.audioStart;
    const from = Math.max(0, (start ?? this.#framer.scanned) - this.#heldBase);
    if (start === undefined) {
      this.#held = from < held.length ? held.slice(from) : new Uint8Array(0);
      this.#heldBase += Math.min(from, held.length);
      return new Uint8Array(0);
    }
    this.#started = true;
    this.#held = new Uint8Array(0);
    return held.subarray(from);
  }

  async #finish(): Promise<void> {
    if (this.#bytesIn === 0) throw new InvalidAudioError('ERR_DECODE_EMPTY', 'decodeStream: empty input');
    const engine = await this.#load();
    let cut: string | undefined;
    try {
      let failure: unknown;
      const block = await this.#call(() => engine.flush(), true).catch((err: unknown) => void (failure = err));
      if (this.destroyed) return;
      cut = this.#framer.end(this.#samplesOut + this.#curFill + (block?.samplesDecoded ?? 0));
      // a cut stream makes the engines stumble at the end (an error entry, or a throw): that is the truncation
      if (block) this.#take(block, cut !== undefined);
      else if (cut === undefined) throw failure;
    } finally {
      this.#endFrame();
      this.#release();
    }
    if (cut !== undefined) {
      if (!this.#allowTruncated) {
        throw new InvalidAudioError(
          'ERR_DECODE_TRUNCATED',
          `decodeStream: the ${FORMAT_NAMES[this.streamFormat]} stream is cut short: ${cut} (allowTruncated keeps what decoded)`,
        );
      }
      this.truncated = true;
    }
    if (this.#samplesOut === 0 && !this.truncated) {
      throw new InvalidAudioError(
        'ERR_DECODE_EMPTY',
        `decodeStream: ${this.#bytesIn} bytes of ${FORMAT_NAMES[this.streamFormat]} held no audio`,
      );
    }
  }

  #load(): Promise<Engine> {
    this.#loading ??= loadEngine(this.streamFormat).then((e) => {
      this.#engine = e;
      if (this.#freed) this.#release();
      return e;
    });
    return this.#loading;
  }

  /** An engine call, tracked for destroy(); anything it throws becomes ERR_DECODE_FAILED. */
  async #call(fn: () => Promise<DecodedBlock>, atEnd = false): Promise<DecodedBlock> {
    const p = fn();
    this.#busy = p;
    try {
      return await p;
    } catch (err) {
      throw new InvalidAudioError(
        'ERR_DECODE_FAILED',
        `decodeStream: the ${FORMAT_NAMES[this.streamFormat]} decoder failed${atEnd ? ' at the end of the input' : ''}: ${toError(err).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Frames from a block, then its errors fail the stream: before any audio they mean the bytes are not this
   * format; after, a corrupt stretch. `ignoreErrors` at the end of a cut stream, whose last frame is partial.
   */
  #take(block: DecodedBlock, ignoreErrors = false): void {
    // Until the framer has seen this format's headers, what the engine makes of the bytes is not trusted:
    // mpg123 "decodes" random bytes that happen to look like a frame header. The framer decides (ERR_DECODE_FORMAT).
    if (this.#framer.sampleRate === undefined) return;
    const before = this.#samplesOut + this.#curFill;
    if (block.samplesDecoded > 0) this.#emit(block);
    const err = block.errors[0];
    if (!err || ignoreErrors) return;
    const name = FORMAT_NAMES[this.streamFormat];
    throw before === 0
      ? new InvalidAudioError('ERR_DECODE_FORMAT', `decodeStream: not ${name} audio: the decoder says "${err.message}"`)
      : new InvalidAudioError(
          'ERR_DECODE_FAILED',
          `decodeStream: corrupt ${name} data before byte ${this.#bytesIn}: ${err.message}`,
        );
  }

  #emit(block: DecodedBlock): void {
    const rate = block.sampleRate;
    // mpg123 gives two planes for mono MP3 too: the headers say how many are real
    const channels = Math.min(this.#framer.channels ?? block.channelData.length, block.channelData.length);
    if (!isAudioSampleRate(rate)) {
      throw new UnsupportedFormatError(
        'ERR_DECODE_RATE',
        `decodeStream: decoded at ${rate} Hz, outside the ${SAMPLE_RATE_RANGE.join('..')} Hz audio uses`,
      );
    }
    if (channels < 1 || channels > MAX_CHANNELS) {
      throw new UnsupportedFormatError('ERR_DECODE_CHANNELS', `decodeStream: decoded ${channels} channels`);
    }
    const f = this.format;
    if (!f || f.sampleRate !== rate || f.channels !== channels) {
      this.#endFrame(); // a chained stream may change format: never mix two in one frame
      this.format = { format: this.streamFormat, sampleRate: rate, channels };
      this.#frameLen = Math.max(1, Math.floor((rate * this.#frameMs) / 1000));
      this.emit('format', this.format);
    }
    const toInt16 = this.streamFormat === 'flac' ? flacToInt16(block.bitDepth ?? 16) : undefined;
    const n = block.samplesDecoded;
    for (let i = 0; i < n;) {
      this.#cur ??= new Int16Array(this.#frameLen * channels);
      const k = Math.min(this.#frameLen - this.#curFill, n - i);
      interleaveInt16(block.channelData, channels, i, k, this.#cur, this.#curFill, toInt16);
      this.#curFill += k;
      i += k;
      if (this.#curFill === this.#frameLen) this.#endFrame();
    }
  }

  /** Push the frame being filled (a shorter one at the end or before a format change). */
  #endFrame(): void {
    const cur = this.#cur;
    const n = this.#curFill;
    this.#cur = undefined;
    this.#curFill = 0;
    if (!cur || n === 0) return;
    const { sampleRate, channels } = this.format!;
    const data = n * channels === cur.length ? cur : cur.slice(0, n * channels);
    this.#framesOut++;
    this.#samplesOut += n;
    this.#msOut += (n * 1000) / sampleRate;
    if (this.#firstFrameAfterBytes === undefined) {
      this.#firstFrameAfterBytes = this.#bytesIn;
      this.#firstFrameAfterMs = performance.now() - (this.#startedAt ?? performance.now());
    }
    this.push(new AudioFrame(data, sampleRate, channels, n));
  }

  #checkProbe(): void {
    if (this.#samplesOut > 0 || this.#curFill > 0) return;
    const probed = this.#bytesIn - Math.min(this.#framer.headerBytes, MAX_HEADER_BYTES);
    if (probed > this.#maxProbeBytes) {
      throw new InvalidAudioError(
        'ERR_DECODE_FORMAT',
        `decodeStream: ${probed} bytes gave no ${FORMAT_NAMES[this.streamFormat]} audio (maxProbeBytes ${this.#maxProbeBytes})`,
      );
    }
  }

  #release(): void {
    this.#freed = true;
    if (!this.#engine) return;
    this.#engine.free();
    this.released = true;
  }

  /** Error the stream once the frames decoded before `err` have left the readable buffer (as decodeWav does). */
  #fail(err: Error, cb: TransformCallback): void {
    if (this.destroyed) return;
    this.#endFrame();
    this.#pending = { err, cb };
    if (this.readableLength === 0) this.#deliverPending();
  }

  #deliverPending(): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.cb(p.err);
  }
}
