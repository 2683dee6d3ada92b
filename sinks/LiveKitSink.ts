/**
 * LiveKitSink — a Writable of AudioFrames into an rtc-node `AudioSource`. Its backpressure is `captureFrame`:
 * exactly one capture is in flight (two concurrent captures fail natively), so the sink pulls frames at the
 * rate the source plays them and everything upstream is paced by it ("the sink is the clock").
 *
 * Two modes, chosen by the source's queue size:
 * - direct (`queueSizeMs: 0`, the default): no native queue; rtc-node takes exactly rate/100 samples per
 *   channel per capture. The sink cuts what it is given into 10 ms (a remainder under 10 ms waits for the next
 *   write) and captures one per tick of a drift-free Pacer (lib/pacer.ts) shared by all direct-mode sinks of
 *   the process: no native thread per source, no queue delay (docs/sink.md has the measured choice).
 * - buffered (`queueSizeMs` ≥ 10, a multiple of 10): rtc-node's native 10 ms ticker drains a queue of that
 *   size; `captureFrame` resolves once the frame fits in it. Any frame size is accepted, but frames that are
 *   not whole 10 ms are counted in `stats.unalignedFrames`: at realtime their sub-10 ms remainder waits behind
 *   the ticker's silence and makes gaps (docs/sink.md). Feed rechunk() output.
 * In both modes a partial last 10 ms is completed with silence at end() (`stats.paddedSamples`).
 *
 * Captures go through lib/ffiCapture.ts — rtc-node's own FFI request written by hand, with O(1) completion
 * dispatch — unless `fastCapture: false` or the installed rtc-node is not one it was verified against; then
 * through rtc-node's `captureFrame` (`stats.captureMethod` says which).
 *
 * `end()` finishes after the queued audio has played out; `destroy()` (or an aborted pipeline) clears the
 * native queue at once — barge-in — and closes the source if the sink created it.
 */
import { Writable, addAbortSignal } from 'node:stream';
import { AudioSource } from '@livekit/rtc-node';
import { realClock, type Clock } from '../lib/clock.js';
import { AudioPipelineError, ConfigError, FrameFormatError, toError } from '../lib/errors.js';
import { captureFrame, ffiCaptureSupported } from '../lib/ffiCapture.js';
import { AudioFrame, checkFrame, frameMs, ownedFrame, silentFrame } from '../lib/frames.js';
import { isAudioSampleRate, isNativeQueueMs, MAX_CHANNELS, SAMPLE_RATE_RANGE } from '../lib/formats.js';
import { Pacer, sharedPacer } from '../lib/pacer.js';
import { framesMs, writableQueuedMs } from '../lib/stats.js';

/**
 * The native queue a sink creates when not told otherwise: 0, direct mode (rtc-node's own default is 1000 ms).
 * See docs/sink.md for the measurements behind it.
 */
export const DEFAULT_QUEUE_SIZE_MS = 0;

/** rtc-node's native frame duration: its ticker period and the only frame size a direct-mode capture takes. */
const TICK_MS = 10;

export interface LiveKitSinkOptions {
  /** An existing source to feed (rate, channels and mode come from it). The sink does not close it. */
  source?: AudioSource;
  /** Rate of the source the sink creates (or a check against `source.sampleRate`). Default 48000. */
  sampleRate?: number;
  /** Channels of the source the sink creates (or a check against `source.numChannels`). Default 1. */
  channels?: number;
  /** Native queue of the source the sink creates: 0 (direct mode) or a multiple of 10 ≥ 10. Default 0. */
  queueSizeMs?: number;
  /** Time for stats (and for the pacer the sink makes when given a clock but no pacer). Default realClock. */
  clock?: Clock;
  /** Direct mode only: the scheduler that says when to push. Default sharedPacer() (or a private one on `clock`). */
  pacer?: Pacer;
  /** Frames the Writable buffers before write() returns false. Default 1. */
  highWaterMark?: number;
  /**
   * Buffered mode: hold the first frames until this much audio is in hand (or end()), then hand it over at
   * once, so a producer that starts in fits (a TTS stream, a busy machine) does not make the ticker play
   * silence between its first frames. Costs that much first-audio latency when the producer is real time,
   * next to nothing when it is faster. Default 0 (start with the first frame).
   */
  prebufferMs?: number;
  /** Destroy the sink (clearing the native queue) when this aborts. */
  signal?: AbortSignal;
  /**
   * Capture through lib/ffiCapture.ts (default true) when the installed rtc-node supports it; false: always
   * rtc-node's `captureFrame`, which costs 4–5× the main-thread time and O(N) dispatch per completion.
   */
  fastCapture?: boolean;
}

export interface LiveKitSinkStats {
  mode: 'buffered' | 'direct';
  queueSizeMs: number;
  /** 'ffi': lib/ffiCapture.ts; 'rtc-node': `AudioSource.captureFrame`. */
  captureMethod: 'ffi' | 'rtc-node';
  framesCaptured: number;
  /** Per channel. */
  samplesCaptured: number;
  msCaptured: number;
  /** The native queue, as rtc-node estimates it (`source.queuedDuration`). */
  queuedMs: number;
  /** Frames the sink holds: its Writable buffer plus the frame being captured (or, in direct mode, waiting). */
  bufferedMs: number;
  /** How long `captureFrame` took: in buffered mode, the time a frame waited for room in the native queue. */
  captureWaitMs: { last: number; max: number; mean: number };
  /** Clock time of the first / latest capture call, or null before any. */
  firstCaptureAt: number | null;
  lastCaptureAt: number | null;
  /**
   * Times the source had nothing to play once audio had started. Buffered mode: estimated from capture timing
   * (a capture began ≥ 10 ms after the queued audio ran out, so the native ticker sent silence). Direct mode:
   * runs of ticks with no frame beyond the catch-up bound, and pacer stalls beyond it (audio played late).
   */
  underruns: number;
  /** Estimated ms of silence those underruns put on the track. */
  underrunMs: number;
  /**
   * Frames that were not a whole number of 10 ms. Direct mode cuts them (no cost beyond a copy at each joint).
   * Buffered mode: from a fast source that costs nothing, but at realtime the part beyond the last whole 10 ms
   * waits behind the ticker's silence: gaps. Use rechunk().
   */
  unalignedFrames: number;
  /** Silence added at end() to complete the last 10 ms (samples per channel), so all of the audio plays. */
  paddedSamples: number;
  /** Audio thrown away by destroy()/abort: the native queue plus the frames the sink held. */
  discardedMs: number;
}

interface Counters {
  framesCaptured: number;
  samplesCaptured: number;
  waitLast: number;
  waitMax: number;
  waitSum: number;
  firstCaptureAt: number | null;
  lastCaptureAt: number | null;
  underruns: number;
  underrunMs: number;
  unalignedFrames: number;
  paddedSamples: number;
  discardedMs: number;
}

export class LiveKitSink extends Writable {
  readonly source: AudioSource;
  readonly sampleRate: number;
  readonly channels: number;
  readonly queueSizeMs: number;
  readonly mode: 'buffered' | 'direct';
  /** True when the sink created the source, and so closes it on end and destroy. */
  readonly ownsSource: boolean;
  readonly #clock: Clock;
  readonly #frameSize: number;
  /** Capture through lib/ffiCapture.ts (re-checked per capture: it turns itself off on a protocol surprise). */
  #fast: boolean;
  #unsubscribe: (() => void) | undefined;
  /** Direct mode: the 10 ms slices of the written frame waiting for ticks, and its write callback. */
  #slices: AudioFrame[] = [];
  #sliceCb: ((err?: Error | null) => void) | undefined;
  /** Direct mode: the end of the last write that did not fill 10 ms (interleaved), waiting for the next one. */
  #remainder: Int16Array | undefined;
  /** The frame inside captureFrame right now. */
  #capturing: AudioFrame | undefined;
  /** Direct mode: ticks granted and not yet used, at most #maxSlots (the pacer's catch-up bound). */
  #slots = 0;
  #maxSlots = 0;
  /**
   * Direct mode: no frame came for longer than the catch-up bound (or none yet): the timeline is lost, and
   * restarts with the next frame — one slot stays open, no burst of old slots.
   */
  #starved = true;
  /** Buffered mode: clock time at which the audio handed to the native queue runs out (estimate). */
  #drainAt: number | undefined;
  readonly #prebufferMs: number;
  /** Buffered mode: frames held until `prebufferMs` is reached; undefined once playback started. */
  #held: AudioFrame[] | undefined;
  #sourceClosed = false;
  readonly #c: Counters = {
    framesCaptured: 0,
    samplesCaptured: 0,
    waitLast: 0,
    waitMax: 0,
    waitSum: 0,
    firstCaptureAt: null,
    lastCaptureAt: null,
    underruns: 0,
    underrunMs: 0,
    unalignedFrames: 0,
    paddedSamples: 0,
    discardedMs: 0,
  };

  constructor(opts: LiveKitSinkOptions = {}) {
    const { highWaterMark, given, sampleRate, channels, queueSizeMs, prebufferMs } = resolveSinkOptions(opts);
    const frameSize = (sampleRate * TICK_MS) / 1000;
    super({ objectMode: true, highWaterMark });
    this.#clock = opts.clock ?? realClock;
    this.source = given ?? new AudioSource(sampleRate, channels, queueSizeMs);
    this.ownsSource = given === undefined;
    // after the source exists: rtc-node's FfiClient is created with the first one
    this.#fast = (opts.fastCapture ?? true) && ffiCaptureSupported();
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.queueSizeMs = queueSizeMs;
    this.mode = queueSizeMs === 0 ? 'direct' : 'buffered';
    this.#frameSize = frameSize;
    this.#prebufferMs = prebufferMs;
    this.#held = prebufferMs > 0 ? [] : undefined;
    if (this.mode === 'direct') {
      const pacer = opts.pacer ?? (opts.clock ? new Pacer({ clock: opts.clock }) : sharedPacer());
      this.#maxSlots = 1 + pacer.maxCatchUpTicks;
      this.#unsubscribe = pacer.register((ticks, skipped) => this.#onTick(ticks, skipped));
    }
    // after the fields exist: an already-aborted signal destroys the stream synchronously
    if (opts.signal !== undefined) addAbortSignal(opts.signal, this);
  }

  /** ms of audio the sink holds ahead of the native queue: its Writable buffer plus the frame in hand. */
  get bufferedMs(): number {
    let ms = writableQueuedMs(this) + (this.#held ? framesMs(this.#held) : 0) + framesMs(this.#slices);
    if (this.#remainder) ms += (this.#remainder.length / this.channels / this.sampleRate) * 1000;
    if (this.#capturing) ms += frameMs(this.#capturing);
    return ms;
  }

  get stats(): LiveKitSinkStats {
    const c = this.#c;
    return {
      mode: this.mode,
      queueSizeMs: this.queueSizeMs,
      captureMethod: this.#fast ? 'ffi' : 'rtc-node',
      framesCaptured: c.framesCaptured,
      samplesCaptured: c.samplesCaptured,
      msCaptured: (c.samplesCaptured * 1000) / this.sampleRate,
      queuedMs: this.#sourceClosed ? 0 : this.source.queuedDuration,
      bufferedMs: this.bufferedMs,
      captureWaitMs: {
        last: c.waitLast,
        max: c.waitMax,
        mean: c.framesCaptured === 0 ? 0 : c.waitSum / c.framesCaptured,
      },
      firstCaptureAt: c.firstCaptureAt,
      lastCaptureAt: c.lastCaptureAt,
      underruns: c.underruns,
      underrunMs: c.underrunMs,
      unalignedFrames: c.unalignedFrames,
      paddedSamples: c.paddedSamples,
      discardedMs: c.discardedMs,
    };
  }

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let frame: AudioFrame;
    try {
      frame = this.#checked(chunk);
    } catch (err) {
      cb(toError(err));
      return;
    }
    if (frame.samplesPerChannel === 0) {
      cb(); // nothing to play; rtc-node would ignore it too
      return;
    }
    if (frame.samplesPerChannel % this.#frameSize !== 0) this.#c.unalignedFrames++;
    if (this.mode === 'direct') {
      this.#slices = this.#sliceDirect(frame);
      if (this.#slices.length === 0) {
        cb(); // all of it is in the remainder
        return;
      }
      this.#sliceCb = cb;
      this.#pump();
      return;
    }
    const held = this.#held;
    if (held === undefined) {
      this.#capture(frame).then(() => cb(), cb);
      return;
    }
    held.push(frame);
    if (framesMs(held) < this.#prebufferMs) cb();
    else this.#startPlayback().then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const rest = this.#remainder;
    if (rest !== undefined) {
      // direct mode: the last partial 10 ms goes out on a tick of its own, completed with silence
      this.#remainder = undefined;
      const last = silentFrame(this.sampleRate, this.channels, this.#frameSize);
      last.data.set(rest);
      this.#c.paddedSamples += this.#frameSize - rest.length / this.channels;
      this.#slices = [last];
      // a destroy while it waits answers here too: then there is nothing left to finish
      this.#sliceCb = (err) => (err || this.destroyed ? cb(err) : this.#finish(cb));
      this.#pump();
      return;
    }
    this.#finish(cb);
  }

  #finish(cb: (err?: Error | null) => void): void {
    // every write has completed: no more ticks needed, and a missing frame from now on is not an underrun
    this.#stopTicks();
    void (async () => {
      await this.#startPlayback(); // a stream shorter than the prebuffer
      // the native ticker plays whole 10 ms only: a partial last 10 ms would stay queued for ever (measured)
      const partial = this.#c.samplesCaptured % this.#frameSize;
      if (partial !== 0) {
        const pad = this.#frameSize - partial;
        await this.#capture(silentFrame(this.sampleRate, this.channels, pad));
        this.#c.paddedSamples += pad;
      }
      await this.source.waitForPlayout();
      if (this.ownsSource) await this.#closeSource();
    })().then(
      () => cb(),
      (err: unknown) => cb(toError(err)),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#stopTicks();
    // after a normal finish the queue has played out; otherwise this is barge-in: cut the audio now
    if (!this.writableFinished && !this.#sourceClosed && !this.source.closed) {
      this.#c.discardedMs += this.source.queuedDuration + this.bufferedMs;
      this.source.clearQueue();
      this.#drainAt = undefined;
    }
    this.#held?.splice(0);
    this.#slices = [];
    this.#remainder = undefined;
    const waiting = this.#sliceCb;
    this.#sliceCb = undefined;
    waiting?.();
    if (!this.ownsSource) {
      cb(err);
      return;
    }
    this.#closeSource().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? toError(closeErr)),
    );
  }

  /** Hand the prebuffered frames over, back to back; from now on frames go straight to the source. */
  async #startPlayback(): Promise<void> {
    const held = this.#held;
    if (held === undefined) return;
    // one at a time, taken off the list as they go, so bufferedMs stays true; a destroy stops it
    while (held.length > 0 && !this.destroyed) await this.#capture(held.shift()!);
    this.#held = undefined;
  }

  /** The frame, if this sink can play it as it is now; throws FrameFormatError. */
  #checked(chunk: unknown): AudioFrame {
    return checkFrame(chunk, this.sampleRate, this.channels, 'LiveKitSink');
  }

  /**
   * Direct mode: the frame as whole 10 ms slices, the remainder of the last write in front and the new
   * remainder kept. A 10 ms frame with nothing pending goes as it is; slices are views into the frame's buffer
   * (re-checked at capture) except the one that joins the remainder, which is a copy.
   */
  #sliceDirect(frame: AudioFrame): AudioFrame[] {
    const F = this.#frameSize;
    const ch = this.channels;
    const rest = this.#remainder;
    if (rest === undefined && frame.samplesPerChannel === F) return [frame];
    this.#remainder = undefined;
    const data = frame.data;
    const slices: AudioFrame[] = [];
    let pos = 0; // interleaved index into data
    if (rest !== undefined) {
      const need = F * ch - rest.length;
      if (data.length < need) {
        const joined = new Int16Array(rest.length + data.length);
        joined.set(rest);
        joined.set(data, rest.length);
        this.#remainder = joined;
        return slices;
      }
      const first = new Int16Array(F * ch);
      first.set(rest);
      first.set(data.subarray(0, need), rest.length);
      slices.push(new AudioFrame(first, this.sampleRate, ch, F));
      pos = need;
    }
    for (; pos + F * ch <= data.length; pos += F * ch) {
      slices.push(new AudioFrame(data.subarray(pos, pos + F * ch), this.sampleRate, ch, F));
    }
    if (pos < data.length) this.#remainder = data.slice(pos);
    return slices;
  }

  async #capture(frame: AudioFrame): Promise<void> {
    // checked again here, not only in _write: a frame waits (a pacer slot, the prebuffer) and a caller may change
    // it meanwhile; native code reads samplesPerChannel × channels samples from its buffer, so what it is told
    // must be true at this moment. The capture below is synchronous up to the native copy.
    this.#checked(frame);
    if (this.mode === 'direct' && frame.samplesPerChannel !== this.#frameSize) {
      throw new FrameFormatError(
        'ERR_FRAME_SIZE',
        `a direct-mode capture takes exactly 10 ms (${this.#frameSize} samples per channel at ${this.sampleRate} ` +
          `Hz); the frame now says ${frame.samplesPerChannel} (changed after write())`,
      );
    }
    const c = this.#c;
    const start = this.#clock.now();
    c.firstCaptureAt ??= start;
    c.lastCaptureAt = start;
    if (this.#drainAt !== undefined && start - this.#drainAt >= TICK_MS) {
      c.underruns++;
      c.underrunMs += start - this.#drainAt;
    }
    this.#capturing = frame;
    try {
      this.#fast &&= ffiCaptureSupported();
      // rtc-node's own captureFrame reads frame.data.buffer from offset 0, so a view would send the wrong
      // samples (docs/design.md); the FFI path passes the offset
      await (this.#fast ? captureFrame(this.source, frame) : this.source.captureFrame(ownedFrame(frame)));
    } catch (err) {
      throw new AudioPipelineError('ERR_CAPTURE_FAILED', `AudioSource.captureFrame failed: ${toError(err).message}`, {
        cause: err,
      });
    } finally {
      this.#capturing = undefined;
    }
    const end = this.#clock.now();
    const wait = end - start;
    c.waitLast = wait;
    c.waitMax = Math.max(c.waitMax, wait);
    c.waitSum += wait;
    c.framesCaptured++;
    c.samplesCaptured += frame.samplesPerChannel;
    // the frame plays after what was queued or, if the queue had run dry, from the ticker's next tick (up to
    // 10 ms later: assume the latest, so that the estimate errs towards missing an underrun, not inventing one)
    if (this.mode === 'buffered') {
      const queuedUntil = this.#drainAt;
      const dry = queuedUntil === undefined || start >= queuedUntil;
      this.#drainAt = (dry ? start + TICK_MS : queuedUntil) + frameMs(frame);
    }
  }

  /**
   * Direct mode: a pacer fire granting `ticks` slots. Unused slots carry over up to the pacer's catch-up bound,
   * so a frame that comes late (a busy event loop upstream) still goes out and the timeline holds. More unused
   * slots than that means the producer has nothing to play: an underrun, and the sink starts afresh with the
   * next frame. Ticks the pacer dropped after a long stall are audio played late: counted as underrun time.
   */
  #onTick(ticks: number, skipped: number): void {
    const c = this.#c;
    const started = c.framesCaptured > 0;
    if (this.#starved) {
      if (started) c.underrunMs += (ticks + skipped) * TICK_MS;
      this.#slots = 1;
    } else {
      const slots = this.#slots + ticks;
      if (skipped > 0) {
        c.underruns++;
        c.underrunMs += skipped * TICK_MS;
      }
      if (slots > this.#maxSlots) {
        if (skipped === 0) c.underruns++;
        c.underrunMs += (slots - this.#maxSlots) * TICK_MS;
        this.#starved = true;
        this.#slots = 1;
      } else {
        this.#slots = slots;
      }
    }
    this.#pump();
  }

  /** Direct mode: capture the next waiting slice if a slot is open and nothing is in flight. */
  #pump(): void {
    if (this.#slices.length === 0 || this.#slots === 0 || this.#capturing !== undefined) return;
    const slice = this.#slices.shift()!;
    this.#slots--;
    this.#starved = false;
    // after the last slice the write callback lets the next frame in; with slots left (catch-up) it is pushed
    // as soon as it comes
    this.#capture(slice).then(
      () => {
        if (this.#slices.length > 0) return this.#pump();
        const cb = this.#sliceCb;
        this.#sliceCb = undefined;
        cb?.();
      },
      (err: unknown) => {
        const cb = this.#sliceCb;
        this.#sliceCb = undefined;
        this.#slices = [];
        cb?.(toError(err));
      },
    );
  }

  #stopTicks(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#slots = 0;
  }

  async #closeSource(): Promise<void> {
    if (this.#sourceClosed) return;
    this.#sourceClosed = true;
    await this.source.close();
  }
}

/** The options checked and completed, before any native object exists; throws ConfigError (ERR_SINK_OPTIONS). */
function resolveSinkOptions(opts: LiveKitSinkOptions) {
  const highWaterMark = opts.highWaterMark ?? 1;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 0) {
    throw new ConfigError('ERR_SINK_OPTIONS', `highWaterMark must be a non-negative integer, got ${highWaterMark}`);
  }
  if (opts.fastCapture !== undefined && typeof opts.fastCapture !== 'boolean') {
    throw new ConfigError('ERR_SINK_OPTIONS', `fastCapture must be a boolean, got ${String(opts.fastCapture)}`);
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new ConfigError('ERR_SINK_OPTIONS', 'signal must be an AbortSignal');
  }
  const given = opts.source;
  if (given !== undefined && !(given instanceof AudioSource)) {
    throw new ConfigError('ERR_SINK_OPTIONS', 'source must be an AudioSource from @livekit/rtc-node');
  }
  const sampleRate = given?.sampleRate ?? opts.sampleRate ?? 48000;
  const channels = given?.numChannels ?? opts.channels ?? 1;
  const queueSizeMs = given?.queueSize ?? opts.queueSizeMs ?? DEFAULT_QUEUE_SIZE_MS;
  if (given !== undefined) {
    for (const [name, asked, actual] of [
      ['sampleRate', opts.sampleRate, sampleRate],
      ['channels', opts.channels, channels],
      ['queueSizeMs', opts.queueSizeMs, queueSizeMs],
    ] as const) {
      if (asked !== undefined && asked !== actual) {
        throw new ConfigError('ERR_SINK_OPTIONS', `${name} ${asked} contradicts the given source's ${actual}`);
      }
    }
  }
  checkSourceOptions(sampleRate, channels, queueSizeMs);
  if (queueSizeMs !== 0 && opts.pacer !== undefined) {
    throw new ConfigError('ERR_SINK_OPTIONS', 'pacer is for direct mode (queueSizeMs: 0) only');
  }
  const prebufferMs = opts.prebufferMs ?? 0;
  if (!(prebufferMs >= 0) || !Number.isFinite(prebufferMs) || (queueSizeMs === 0 && prebufferMs > 0)) {
    throw new ConfigError(
      'ERR_SINK_OPTIONS',
      `prebufferMs must be a finite number ≥ 0, and 0 in direct mode (the default; buffered mode needs ` +
        `queueSizeMs ≥ 10); got ${opts.prebufferMs}`,
    );
  }
  return { highWaterMark, given, sampleRate, channels, queueSizeMs, prebufferMs };
}

function checkSourceOptions(sampleRate: number, channels: number, queueSizeMs: number): void {
  // rtc-node (and WebRTC behind it) works in 10 ms frames: rate/100 samples must be a whole number. Every rate
  // in SAMPLE_RATE_RANGE and up to MAX_CHANNELS channels was checked to play through the local loopback.
  if (!isAudioSampleRate(sampleRate) || sampleRate % 100 !== 0) {
    throw new ConfigError(
      'ERR_SINK_OPTIONS',
      `sampleRate must be a multiple of 100 Hz (whole 10 ms frames) in ${SAMPLE_RATE_RANGE.join('..')}, got ${sampleRate}`,
    );
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new ConfigError('ERR_SINK_OPTIONS', `channels must be an integer in 1..${MAX_CHANNELS}, got ${channels}`);
  }
  if (!isNativeQueueMs(queueSizeMs)) {
    throw new ConfigError(
      'ERR_SINK_OPTIONS',
      `queueSizeMs must be 0 (direct mode) or a multiple of 10 ≥ 10, got ${queueSizeMs}`,
    );
  }
}
