/**
 * jitterBuffer — the clock boundary between a realtime producer and the sink.
 *
 *   decode → resample → rechunk → jitterBuffer() → LiveKitSink
 *
 * The writable side never blocks: every write calls back at once (audio beyond `maxBufferMs` is dropped, oldest
 * first, and counted). The readable side hands out one 10 ms frame per read — the sink's pull is the playout
 * clock — and never makes the sink wait: when there is nothing to play it returns concealment (faded silence),
 * so the native queue stays primed and the pull cadence stays the sink's ticker. Depth is kept at a target that
 * follows the arrival jitter; clock drift is absorbed by varispeed resampling steered by a control loop. All the
 * logic is in the synchronous `JitterCore` (lib/jitter/core.ts); this file is the stream around it.
 * See docs/latency.md.
 *
 * Input: AudioFrames of any size, or `{ frame, seq?, timestamp? }` packets (RTP-like: reordered, losses
 * concealed, late packets dropped). Output: 10 ms AudioFrames at the input rate and channel count; after end()
 * what is held plays out and the stream ends on the input's last sample (that frame may be shorter). If
 * `sampleRate`/`channels` are not given they are taken from the first frame, and nothing is read out before it.
 */
import { Duplex } from 'node:stream';
import { realClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { ConfigError, toError } from '../lib/errors.js';
import { AudioFrame } from '../lib/frames.js';
import { loadSpeex } from '../lib/speex.js';
import { readableQueuedMs, writableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import {
  JitterCore,
  idleJitterStats,
  resolveJitterOptions,
  type JitterOptions,
  type JitterStats,
} from '../lib/jitter/core.js';

export { JitterCore };
export type { JitterOptions, JitterPacket, JitterInput, JitterStats } from '../lib/jitter/core.js';

export interface JitterBufferOptions extends JitterOptions {
  /** Time source for arrival times and pacing. Default realClock. */
  clock?: Clock;
  /**
   * How far (ms) reads may run ahead of the clock. The sink normally paces reads; this only stops a consumer
   * that does not (a file writer) from spinning on endless concealment. Must exceed the sink's queue. Default 2000.
   */
  maxAheadMs?: number;
}

const FRAME_MS = 10;

export class JitterBuffer extends Duplex implements HoldsAudio {
  #options: JitterOptions;
  #clock: Clock;
  #maxAhead: number;
  #core: JitterCore | undefined;
  #loaded = false;
  #ended = false;
  #wantRead = false;
  #tokens: number;
  #refilledAt = NaN;
  #wait: TimerHandle | undefined;

  constructor(options: JitterBufferOptions = {}) {
    // validate before the stream exists: a half-built Duplex would still run _construct
    const { clock, maxAheadMs, ...core } = options ?? {};
    resolveJitterOptions(core);
    if (clock !== undefined && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
      throw new ConfigError('ERR_JITTER_OPTIONS', 'jitterBuffer: clock must be a Clock');
    }
    const ahead = maxAheadMs ?? 2000;
    if (typeof ahead !== 'number' || !(ahead >= 100)) {
      throw new ConfigError('ERR_JITTER_OPTIONS', `jitterBuffer: maxAheadMs must be ≥ 100, got ${maxAheadMs}`);
    }
    // readable highWaterMark 0: a frame is made when the sink asks for it, not one frame early
    super({ objectMode: true, readableHighWaterMark: 0, writableHighWaterMark: 2 });
    this.#options = core;
    this.#clock = clock ?? realClock;
    this.#maxAhead = ahead;
    this.#tokens = ahead;
  }

  /** NetEq-style counters (see JitterStats); all zero before the first frame when the format is not given. */
  get stats(): JitterStats {
    if (this.#core) return this.#core.stats;
    return idleJitterStats(resolveJitterOptions(this.#options).targetDelayMs);
  }

  /** Audio held: the current delay, plus anything in the stream buffers (normally nothing). */
  get bufferedMs(): number {
    return (this.#core?.depthMs ?? 0) + readableQueuedMs(this) + writableQueuedMs(this);
  }

  override _construct(cb: (err?: Error | null) => void): void {
    loadSpeex().then(
      () => {
        this.#loaded = true;
        const o = this.#options;
        if (o.sampleRate !== undefined && o.channels !== undefined) this.#core = new JitterCore(o);
        cb();
      },
      (err: unknown) => cb(toError(err)),
    );
  }

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.#core ??= this.#coreFor(chunk);
      this.#core.push(chunk as AudioFrame, this.#clock.now());
    } catch (err) {
      cb(toError(err));
      return;
    }
    cb();
    this.#serve();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#ended = true;
    this.#core?.end();
    cb();
    this.#serve();
  }

  override _read(): void {
    this.#wantRead = true;
    this.#serve();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#wait !== undefined) this.#clock.clearTimeout(this.#wait);
    this.#wait = undefined;
    // the core stays for its stats; only the resampler's memory is freed
    if (this.#loaded) this.#core?.destroy();
    cb(err);
  }

  /** The first frame fixes the format when the options did not. */
  #coreFor(chunk: unknown): JitterCore {
    const frame = chunk instanceof AudioFrame ? chunk : (chunk as { frame?: unknown } | null)?.frame;
    const o = this.#options;
    if (!(frame instanceof AudioFrame)) return new JitterCore(o); // push() reports the bad input
    return new JitterCore({
      ...o,
      sampleRate: o.sampleRate ?? frame.sampleRate,
      channels: o.channels ?? frame.channels,
    });
  }

  /** Answer a pending read: a frame now, or later if reads ran too far ahead of the clock. */
  #serve(): void {
    if (!this.#wantRead || this.#wait !== undefined || this.destroyed) return;
    const core = this.#core;
    if (core === undefined) {
      if (this.#ended) {
        this.#wantRead = false;
        this.push(null);
      }
      return;
    }
    const now = this.#clock.now();
    if (!Number.isNaN(this.#refilledAt)) this.#tokens = Math.min(this.#maxAhead, this.#tokens + now - this.#refilledAt);
    this.#refilledAt = now;
    if (this.#tokens < FRAME_MS) {
      this.#wait = this.#clock.setTimeout(() => {
        this.#wait = undefined;
        this.#serve();
      }, FRAME_MS - this.#tokens);
      return;
    }
    this.#wantRead = false;
    const frame = core.pull(now);
    if (frame === null) {
      this.push(null);
      return;
    }
    this.#tokens -= FRAME_MS;
    this.push(frame);
  }
}

/** A jitter buffer with defaults for a realtime call (see JitterBufferOptions). */
export function jitterBuffer(options: JitterBufferOptions = {}): JitterBuffer {
  return new JitterBuffer(options);
}
