/**
 * rechunk({ frameMs = 10, tail = 'pad' }): AudioFrames of any size in, frames of exactly
 * rate × frameMs / 1000 samples per channel out (441 at 44.1 kHz for 10 ms) — what LiveKit's AudioSource wants.
 *
 * - The rate and channel count come from the first frame; a later frame of another format is a
 *   FrameFormatError (resample upstream normalises formats).
 * - Input frames are queued as they are (no copy); each output frame gets one copy of its samples into a
 *   buffer it owns. An owned input frame that is exactly one output frame, on a frame boundary, passes
 *   through untouched.
 * - Backpressure: frames are cut only as fast as the reader takes them. A 10 s input frame is not turned
 *   into 1000 frames at once: the stage pushes until push() says stop, keeps the rest (and the writer's
 *   callback) until the next _read. So `bufferedMs` is honest: the uncut remainder, plus the frames sitting
 *   in the readable and writable buffers (highWaterMark 1 each).
 * - At the end the last partial frame is padded with silence ('pad'), emitted short ('short') or dropped
 *   ('drop', counted in `stats.droppedSamples`).
 *
 * A Duplex rather than a Transform because a Transform cannot split one write across several _read calls.
 */
import { Duplex } from 'node:stream';
import { AudioFrame, checkFrame, ownsBuffer } from '../lib/frames.js';
import { ConfigError, FrameFormatError, toError } from '../lib/errors.js';
import { readableQueuedMs, writableQueuedMs, type HoldsAudio } from '../lib/stats.js';

export type RechunkTail = 'pad' | 'short' | 'drop';

export interface RechunkOptions {
  /** Output frame duration in ms (default 10). rate × frameMs / 1000 must be a whole number of samples. */
  frameMs?: number;
  /** What to do with the last partial frame at the end of the stream (default 'pad'). */
  tail?: RechunkTail;
}

export interface RechunkStats {
  framesIn: number;
  framesOut: number;
  /** Samples per channel of silence added to pad the last frame. */
  paddedSamples: number;
  /** Samples per channel dropped at the end (tail: 'drop'). */
  droppedSamples: number;
}

const TAILS: readonly RechunkTail[] = ['pad', 'short', 'drop'];

export function rechunk(options?: RechunkOptions): Rechunk {
  return new Rechunk(options);
}

export class Rechunk extends Duplex implements HoldsAudio {
  readonly frameMs: number;
  readonly tail: RechunkTail;
  #rate = 0; // 0 until the first frame
  #channels = 0;
  #size = Infinity; // output samples per channel; Infinity until the first frame so nothing is cut
  #queue: AudioFrame[] = []; // the remainder: input frames not yet fully cut
  #head = 0; // samples per channel of queue[0] already taken
  #available = 0; // samples per channel in the remainder
  #resume: (() => void) | undefined; // write/final callback held back until the remainder is less than a frame
  #stats: RechunkStats = { framesIn: 0, framesOut: 0, paddedSamples: 0, droppedSamples: 0 };

  constructor(options: RechunkOptions = {}) {
    super({ objectMode: true, highWaterMark: 1 });
    const { frameMs = 10, tail = 'pad' } = options;
    if (typeof frameMs !== 'number' || !Number.isFinite(frameMs) || frameMs <= 0) {
      throw new ConfigError('ERR_RECHUNK_OPTIONS', `rechunk: frameMs must be a positive number of ms, got ${frameMs}`);
    }
    if (!TAILS.includes(tail)) {
      throw new ConfigError(
        'ERR_RECHUNK_OPTIONS',
        `rechunk: tail must be one of ${TAILS.join(', ')}, got ${String(tail)}`,
      );
    }
    this.frameMs = frameMs;
    this.tail = tail;
  }

  /** Ms of audio held: the uncut remainder plus frames in the readable and writable buffers. */
  get bufferedMs(): number {
    const remainder = this.#rate ? (this.#available * 1000) / this.#rate : 0;
    return remainder + readableQueuedMs(this) + writableQueuedMs(this);
  }

  get stats(): Readonly<RechunkStats> {
    return { ...this.#stats };
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let frame: AudioFrame;
    try {
      frame = this.#accept(chunk);
    } catch (err) {
      callback(toError(err));
      return;
    }
    this.#stats.framesIn++;
    if (frame.samplesPerChannel > 0) {
      this.#queue.push(frame);
      this.#available += frame.samplesPerChannel;
    }
    this.#cutThen(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#cutThen(() => {
      this.#emitTail();
      this.push(null);
      callback();
    });
  }

  override _read(): void {
    this.#cut();
    if (this.#resume && this.#available < this.#size) {
      const resume = this.#resume;
      this.#resume = undefined;
      // Next tick: read() calls _read before taking its frame off the buffer, so a writer resumed from
      // here would still see the buffer full, park itself again, and nothing would call _read again.
      process.nextTick(resume);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#queue = [];
    this.#available = 0;
    this.#resume = undefined;
    callback(error);
  }

  #accept(chunk: unknown): AudioFrame {
    if (this.#rate !== 0) return checkFrame(chunk, this.#rate, this.#channels, 'rechunk');
    const frame = checkFrame(chunk, (chunk as AudioFrame)?.sampleRate, (chunk as AudioFrame)?.channels, 'rechunk');
    if (!Number.isInteger(frame.channels) || frame.channels < 1) {
      throw new FrameFormatError('ERR_FRAME_FORMAT', `rechunk got a frame of ${frame.channels} channels`);
    }
    const exact = (frame.sampleRate * this.frameMs) / 1000;
    const size = Math.round(exact); // tolerate float dust: 10000 Hz × 0.3 ms is 3.0000000000000004
    if (Math.abs(exact - size) > 1e-9 || size < 1) {
      throw new FrameFormatError(
        'ERR_RECHUNK_SIZE',
        `rechunk cannot cut ${frame.sampleRate} Hz audio into ${this.frameMs} ms frames: that is ${exact} samples, ` +
          'not a whole number. Resample first, or choose a frameMs that gives whole samples.',
      );
    }
    this.#rate = frame.sampleRate;
    this.#channels = frame.channels;
    this.#size = size;
    return frame;
  }

  /**
   * Cut what the reader will take now. `done` (the writer's callback) runs once less than a frame is left
   * and the readable side has room; otherwise at a later _read, when the reader has taken a frame.
   */
  #cutThen(done: () => void): void {
    this.#cut();
    if (this.#available < this.#size && this.readableLength < this.readableHighWaterMark) done();
    else this.#resume = done;
  }

  #cut(): void {
    while (this.#available >= this.#size) {
      this.#stats.framesOut++;
      if (!this.push(this.#take(this.#size, this.#size))) return;
    }
  }

  #emitTail(): void {
    const left = this.#available;
    if (left === 0) return;
    if (this.tail === 'drop') {
      this.#stats.droppedSamples += left;
      this.#queue = [];
      this.#available = 0;
      return;
    }
    const length = this.tail === 'pad' ? this.#size : left;
    this.#stats.paddedSamples += length - left;
    this.#stats.framesOut++;
    this.push(this.#take(left, length));
  }

  /** A frame of `length` samples per channel: the next `n` from the remainder, then silence. */
  #take(n: number, length: number): AudioFrame {
    const ch = this.#channels;
    const first = this.#queue[0]!;
    this.#available -= n;
    if (this.#head === 0 && first.samplesPerChannel === n && n === length && ownsBuffer(first.data)) {
      this.#queue.shift();
      return first;
    }
    const out = new Int16Array(length * ch);
    for (let filled = 0; filled < n;) {
      const f = this.#queue[0]!;
      const k = Math.min(n - filled, f.samplesPerChannel - this.#head);
      out.set(f.data.subarray(this.#head * ch, (this.#head + k) * ch), filled * ch);
      filled += k;
      this.#head += k;
      if (this.#head === f.samplesPerChannel) {
        this.#queue.shift();
        this.#head = 0;
      }
    }
    return new AudioFrame(out, this.#rate, ch, length);
  }
}
