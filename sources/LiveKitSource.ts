/**
 * LiveKitSource — room audio as a Node Readable: AudioFrames of exactly `frameMs` at the asked rate and channel
 * count from any rtc-node audio track (remote, or local for the loopback). rtc-node converts rate and channels
 * natively and cuts the frames (`AudioStream`'s sampleRate / numChannels / frameSizeMs): no JS resampling.
 *
 * Bounded. rtc-node's `AudioStream` enqueues every frame whatever its reader does — a stalled reader grows memory
 * without limit — so this reads it continuously and keeps at most `maxBufferMs` for a slow consumer, dropping the
 * oldest (`stats.droppedMs`): for a live call, old audio is worth less than a bounded delay. What a consumer can
 * be behind is at most `maxBufferMs` + Node's readable buffer (`highWaterMark` frames).
 *
 * `destroy()` releases the native stream. The stream ends when the track's stream does (the track closed or
 * went away).
 */
import { Readable } from 'node:stream';
import { AudioStream, type AudioFrame, type Track } from '@livekit/rtc-node';
import { ConfigError, ConnectionError, FrameFormatError, toError } from '../lib/errors.js';
import { frameMs } from '../lib/frames.js';
import { isAudioSampleRate, MAX_CHANNELS, SAMPLE_RATE_RANGE } from '../lib/formats.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';

/** The most audio held for a consumer that is not reading: ten 20 ms packets. See docs/sources.md. */
export const DEFAULT_MAX_BUFFER_MS = 200;

export interface LiveKitSourceOptions {
  /** Rate of the frames out (rtc-node resamples natively). Default 48000. */
  sampleRate?: number;
  /** Channels of the frames out (rtc-node mixes natively). Default 1. */
  channels?: number;
  /** Duration of every frame out, ms: a whole number of samples at `sampleRate`. Default 10. */
  frameMs?: number;
  /** Audio kept for a slow consumer before the oldest is dropped, ms (≥ frameMs). Default 200. */
  maxBufferMs?: number;
  /** Frames in Node's readable buffer before the stream stops asking. Default 1. */
  highWaterMark?: number;
}

export interface LiveKitSourceStats {
  framesIn: number;
  framesOut: number;
  msOut: number;
  /** Frames dropped because the consumer fell more than `maxBufferMs` behind, and their duration. */
  droppedFrames: number;
  droppedMs: number;
  /** The most audio held at once (ms), Node's buffer included. */
  maxBufferedMs: number;
  /** Audio thrown away by clear() (barge-in), ms. */
  clearedMs: number;
}

export class LiveKitSource extends Readable implements HoldsAudio {
  readonly sampleRate: number;
  readonly channels: number;
  readonly frameMs: number;
  readonly maxBufferMs: number;
  readonly #reader: ReadableStreamDefaultReader<AudioFrame>;
  #queue: AudioFrame[] = [];
  #queuedMs = 0;
  #wantsMore = false;
  #ended = false;
  readonly #stats: LiveKitSourceStats = {
    framesIn: 0,
    framesOut: 0,
    msOut: 0,
    droppedFrames: 0,
    droppedMs: 0,
    maxBufferedMs: 0,
    clearedMs: 0,
  };

  constructor(track: Track, options: LiveKitSourceOptions = {}) {
    const o = resolveSourceOptions(options ?? {});
    if (
      track === null ||
      typeof track !== 'object' ||
      typeof (track as { ffi_handle?: unknown }).ffi_handle !== 'object'
    ) {
      throw new ConfigError('ERR_SOURCE_OPTIONS', 'LiveKitSource needs an audio track from @livekit/rtc-node');
    }
    super({ objectMode: true, highWaterMark: o.highWaterMark });
    this.sampleRate = o.sampleRate;
    this.channels = o.channels;
    this.frameMs = o.frameMs;
    this.maxBufferMs = o.maxBufferMs;
    const stream = new AudioStream(track, {
      sampleRate: o.sampleRate,
      numChannels: o.channels,
      frameSizeMs: o.frameMs,
    });
    this.#reader = stream.getReader();
    void this.#pump();
  }

  /** Audio held for the consumer: the bounded queue plus Node's readable buffer, ms. */
  get bufferedMs(): number {
    return this.#queuedMs + readableQueuedMs(this);
  }

  get stats(): LiveKitSourceStats {
    return { ...this.#stats };
  }

  /**
   * Drop the frames queued for the consumer (an interruption: what was queued is stale) and return how many ms
   * that was. Node's readable buffer (highWaterMark frames) is not touched. Frames arriving afterwards flow.
   */
  clear(): number {
    const ms = this.#queuedMs;
    this.#queue = [];
    this.#queuedMs = 0;
    this.#stats.clearedMs += ms;
    return ms;
  }

  override _read(): void {
    this.#wantsMore = true;
    this.#flush();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#queue = [];
    this.#queuedMs = 0;
    // cancelling the reader releases rtc-node's native stream
    this.#reader.cancel().then(
      () => cb(err),
      () => cb(err),
    );
  }

  /** Read rtc-node's stream for as long as it runs, whatever the consumer does. */
  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done || this.destroyed) break;
        this.#accept(value);
      }
    } catch (err) {
      if (!this.destroyed) {
        this.destroy(
          new ConnectionError(
            'ERR_SOURCE_STREAM',
            `LiveKitSource: the track's audio stream failed: ${toError(err).message}`,
            {
              cause: err,
            },
          ),
        );
      }
      return;
    }
    this.#ended = true;
    this.#flush();
  }

  #accept(frame: AudioFrame): void {
    if (this.destroyed) return;
    if (frame.sampleRate !== this.sampleRate || frame.channels !== this.channels) {
      this.destroy(
        new FrameFormatError(
          'ERR_FRAME_MISMATCH',
          `LiveKitSource asked for ${this.sampleRate} Hz / ${this.channels} ch and rtc-node delivered ` +
            `${frame.sampleRate} Hz / ${frame.channels} ch`,
        ),
      );
      return;
    }
    this.#stats.framesIn++;
    this.#queue.push(frame);
    this.#queuedMs += frameMs(frame);
    // a consumer that is not reading loses the oldest audio, never more than maxBufferMs is kept
    while (this.#queuedMs > this.maxBufferMs && this.#queue.length > 0) {
      const old = this.#queue.shift()!;
      const ms = frameMs(old);
      this.#queuedMs -= ms;
      this.#stats.droppedFrames++;
      this.#stats.droppedMs += ms;
    }
    this.#stats.maxBufferedMs = Math.max(this.#stats.maxBufferedMs, this.bufferedMs);
    this.#flush();
  }

  #flush(): void {
    while (this.#wantsMore && this.#queue.length > 0) {
      const frame = this.#queue.shift()!;
      const ms = frameMs(frame);
      this.#queuedMs -= ms;
      this.#stats.framesOut++;
      this.#stats.msOut += ms;
      this.#wantsMore = this.push(frame);
    }
    if (this.#ended && this.#queue.length === 0 && !this.destroyed) this.push(null);
  }
}

function resolveSourceOptions(o: LiveKitSourceOptions): Required<LiveKitSourceOptions> {
  const sampleRate = o.sampleRate ?? 48000;
  const channels = o.channels ?? 1;
  const frame = o.frameMs ?? 10;
  const maxBufferMs = o.maxBufferMs ?? DEFAULT_MAX_BUFFER_MS;
  const highWaterMark = o.highWaterMark ?? 1;
  if (!isAudioSampleRate(sampleRate)) {
    throw new ConfigError(
      'ERR_SOURCE_OPTIONS',
      `sampleRate must be in ${SAMPLE_RATE_RANGE.join('..')}, got ${sampleRate}`,
    );
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new ConfigError('ERR_SOURCE_OPTIONS', `channels must be an integer in 1..${MAX_CHANNELS}, got ${channels}`);
  }
  if (!Number.isInteger(frame) || frame < 1 || frame > 1000 || !Number.isInteger((sampleRate * frame) / 1000)) {
    throw new ConfigError(
      'ERR_SOURCE_OPTIONS',
      `frameMs must be a whole number of ms (1..1000) that holds a whole number of samples at ${sampleRate} Hz, got ${frame}`,
    );
  }
  if (typeof maxBufferMs !== 'number' || !(maxBufferMs >= frame) || !Number.isFinite(maxBufferMs)) {
    throw new ConfigError(
      'ERR_SOURCE_OPTIONS',
      `maxBufferMs must be a finite number ≥ frameMs (${frame}), got ${maxBufferMs}`,
    );
  }
  if (!Number.isInteger(highWaterMark) || highWaterMark < 0) {
    throw new ConfigError('ERR_SOURCE_OPTIONS', `highWaterMark must be a non-negative integer, got ${highWaterMark}`);
  }
  return { sampleRate, channels, frameMs: frame, maxBufferMs, highWaterMark };
}
