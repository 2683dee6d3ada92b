/**
 * A stand-in for LiveKitSink on an injected Clock, for tests and simulations: it mimics rtc-node's buffered
 * AudioSource (queueSizeMs ≥ 10) as implemented natively (livekit webrtc-sys `InternalSource`):
 *
 * - `captureFrame` appends the frame to the native buffer and completes at once if the buffer then holds at most
 *   queueSizeMs; otherwise it completes on the first 10 ms tick that drains the buffer back to queueSizeMs.
 *   The buffer refuses a frame that would take it past 2 × queueSizeMs, or a second capture while one is pending.
 * - a 10 ms ticker plays 10 ms when the buffer holds at least that much; otherwise nothing is taken (a sub-10 ms
 *   remainder stays queued) and the tick is an underrun — silence.
 *
 * With one capture in flight (Writable highWaterMark 1, like LiveKitSink) that means: a burst of writes until the
 * queue is full, then one write per tick. What the listener hears is delayed by everything upstream plus this queue.
 */
import { Writable } from 'node:stream';
import { realClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { AudioPipelineError, ConfigError, toError } from '../../lib/errors.js';
import { checkFrame, samplesIn, type AudioFrame } from '../../lib/frames.js';
import { isNativeQueueMs } from '../../lib/formats.js';
import { writableQueuedMs, type HoldsAudio } from '../../lib/stats.js';

interface Queued<M> {
  data: Int16Array;
  frames: number;
  head: number;
  meta: M;
}

/** What one tick did. `data` is null on an underrun; `meta`/`offset` locate the first sample played. */
export interface TickResult<M> {
  data: Int16Array | null;
  meta: M | undefined;
  /** frames into the frame that `meta` belongs to */
  offset: number;
  /** the pending capture completed on this tick */
  completed: boolean;
}

/** The native queue as a synchronous model (what VirtualSink runs, and what simulations drive directly). */
export class NativeQueueModel<M = undefined> {
  readonly sampleRate: number;
  readonly channels: number;
  readonly queueSizeMs: number;
  /** frames per 10 ms tick */
  readonly frameSize: number;
  #items: Queued<M>[] = [];
  #frames = 0;
  #limit: number;
  #pending = false;

  constructor(sampleRate: number, channels: number, queueSizeMs: number) {
    if (!isNativeQueueMs(queueSizeMs) || queueSizeMs === 0) {
      throw new ConfigError('ERR_SINK_OPTIONS', `queueSizeMs must be a positive multiple of 10, got ${queueSizeMs}`);
    }
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.queueSizeMs = queueSizeMs;
    this.frameSize = samplesIn(sampleRate, 10);
    this.#limit = (queueSizeMs / 10) * this.frameSize;
  }

  /** Frames queued. */
  get queuedSamples(): number {
    return this.#frames;
  }

  get queuedMs(): number {
    return (this.#frames * 1000) / this.sampleRate;
  }

  /** A capture is waiting for room. */
  get pending(): boolean {
    return this.#pending;
  }

  /** captureFrame: 'done' (resolves now), 'pending' (resolves on a later tick) or 'refused' (native error). */
  offer(data: Int16Array, meta: M): 'done' | 'pending' | 'refused' {
    const frames = data.length / this.channels;
    if (this.#pending || this.#frames + frames > 2 * this.#limit) return 'refused';
    this.#items.push({ data, frames, head: 0, meta });
    this.#frames += frames;
    if (this.#frames <= this.#limit) return 'done';
    this.#pending = true;
    return 'pending';
  }

  /** One 10 ms tick of the native ticker. */
  tick(): TickResult<M> {
    let data: Int16Array | null = null;
    let meta: M | undefined;
    let offset = 0;
    const F = this.frameSize;
    const first = this.#items[0];
    if (first !== undefined && first.head === 0 && first.frames === F) {
      // the common case, one whole 10 ms frame: hand it over as is
      data = first.data;
      meta = first.meta;
      this.#items.shift();
      this.#frames -= F;
    } else if (this.#frames >= F) {
      const ch = this.channels;
      data = new Int16Array(F * ch);
      meta = first!.meta;
      offset = first!.head;
      let done = 0;
      while (done < F) {
        const it = this.#items[0]!;
        const take = Math.min(F - done, it.frames - it.head);
        data.set(it.data.subarray(it.head * ch, (it.head + take) * ch), done * ch);
        it.head += take;
        done += take;
        if (it.head === it.frames) this.#items.shift();
      }
      this.#frames -= F;
    }
    let completed = false;
    if (this.#pending && this.#frames <= this.#limit) {
      this.#pending = false;
      completed = true;
    }
    return { data, meta, offset, completed };
  }
}

export interface VirtualSinkOptions {
  /** Default realClock; pass a VirtualClock for simulations. */
  clock?: Clock;
  sampleRate?: number;
  channels?: number;
  /** The native queue, ms (a multiple of 10). Default 50. */
  queueSizeMs?: number;
  /** Called on every tick with the 10 ms played, or null for an underrun (silence). */
  onPlay?: (data: Int16Array | null, atMs: number) => void;
}

export interface VirtualSinkStats {
  ticks: number;
  framesPlayed: number;
  /** ticks with less than 10 ms queued after the first audio */
  underrunTicks: number;
  /** runs of consecutive underrun ticks after the first audio */
  underrunEvents: number;
  /** silence added at end() to complete the last 10 ms (samples per channel) */
  paddedSamples: number;
}

/** A Writable of AudioFrames that plays them on a Clock like rtc-node's buffered AudioSource. */
export class VirtualSink extends Writable implements HoldsAudio {
  readonly model: NativeQueueModel<undefined>;
  #clock: Clock;
  #rate: number;
  #ch: number;
  #onPlay: VirtualSinkOptions['onPlay'];
  #timer: TimerHandle | undefined;
  #next: number;
  #pendingCb: ((err?: Error | null) => void) | undefined;
  #finalCb: ((err?: Error | null) => void) | undefined;
  #started = false;
  #inUnderrun = false;
  #stats: VirtualSinkStats = { ticks: 0, framesPlayed: 0, underrunTicks: 0, underrunEvents: 0, paddedSamples: 0 };

  constructor(opts: VirtualSinkOptions = {}) {
    super({ objectMode: true, highWaterMark: 1 });
    this.#clock = opts.clock ?? realClock;
    this.#rate = opts.sampleRate ?? 48000;
    this.#ch = opts.channels ?? 1;
    this.model = new NativeQueueModel(this.#rate, this.#ch, opts.queueSizeMs ?? 50);
    this.#onPlay = opts.onPlay;
    this.#next = this.#clock.now() + 10;
    this.#schedule();
  }

  get stats(): VirtualSinkStats {
    return { ...this.#stats };
  }

  /** Audio queued natively plus any frame waiting in the writable buffer, ms. */
  get bufferedMs(): number {
    return this.model.queuedMs + writableQueuedMs(this);
  }

  override _write(frame: AudioFrame, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      checkFrame(frame, this.#rate, this.#ch, 'VirtualSink');
    } catch (err) {
      cb(toError(err));
      return;
    }
    const r = this.model.offer(frame.data, undefined);
    if (r === 'done') queueMicrotask(() => cb());
    else if (r === 'pending') this.#pendingCb = cb;
    else
      cb(
        new AudioPipelineError(
          'ERR_CAPTURE_FAILED',
          'VirtualSink: the native queue refused the frame (over 2 × queueSizeMs)',
        ),
      );
  }

  override _final(cb: (err?: Error | null) => void): void {
    // as LiveKitSink does: the ticker plays whole 10 ms only, so a partial last 10 ms is completed with silence
    const partial = this.model.queuedSamples % this.model.frameSize;
    if (partial !== 0) {
      const pad = this.model.frameSize - partial;
      this.#stats.paddedSamples += pad;
      this.model.offer(new Int16Array(pad * this.#ch), undefined);
    }
    this.#finalCb = cb;
    this.#maybeFinish();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#stop();
    cb(err);
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#next - this.#clock.now());
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#timer = undefined;
    const r = this.model.tick();
    this.#stats.ticks++;
    if (r.data) {
      this.#started = true;
      this.#inUnderrun = false;
      this.#stats.framesPlayed++;
    } else if (this.#started) {
      this.#stats.underrunTicks++;
      if (!this.#inUnderrun) this.#stats.underrunEvents++;
      this.#inUnderrun = true;
    }
    this.#onPlay?.(r.data, this.#clock.now());
    if (r.completed) {
      const cb = this.#pendingCb;
      this.#pendingCb = undefined;
      cb?.();
    }
    this.#next += 10;
    if (!this.#maybeFinish()) this.#schedule();
  }

  /** After end(): finish once the queue has played out (like waitForPlayout). */
  #maybeFinish(): boolean {
    if (this.#finalCb === undefined || this.model.queuedSamples >= this.model.frameSize) return false;
    this.#stop();
    const cb = this.#finalCb;
    this.#finalCb = undefined;
    cb();
    return true;
  }
}

export function virtualSink(opts: VirtualSinkOptions = {}): VirtualSink {
  return new VirtualSink(opts);
}
