/**
 * resample({ sampleRate, channels, quality }): AudioFrames of any rate and channel count in, frames of the
 * configured rate and channel count out.
 *
 * - Engine (lib/resampler.ts): our polyphase SIMD kernel (lib/polyphase/) for every ratio whose filter table
 *   fits in 256 KiB, speex (lib/speex.ts) otherwise; same quality scale, chosen by measurement
 *   (docs/resampling.md). Output is aligned with input (skipZeros), and at the end the lookahead is flushed,
 *   so N input samples per channel give exactly ceil(N × out/in) output samples.
 * - Equal rates: no engine at all, frames pass through (mixed if needed).
 * - Channels: 1 → N duplicates, N → 1 averages (lib/mix.ts). The engine always runs on the smaller channel
 *   count: downmix before it, upmix after it.
 * - The input format is taken from the frames. If it changes mid-stream (a playlist of files, say), the old
 *   engine is flushed, its tail emitted, and a new engine starts: the output stays continuous.
 * - One output frame per input frame, as long as the engine produced something; frames own their buffers.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AudioFrame, checkFrame, createFrame, ownedFrame } from '../lib/frames.js';
import { ConfigError, FrameFormatError, toError } from '../lib/errors.js';
import { isAudioSampleRate, MAX_CHANNELS, SAMPLE_RATE_RANGE } from '../lib/formats.js';
import { canMix, mixChannels } from '../lib/mix.js';
import { createResampler, type Resampler } from '../lib/resampler.js';
import { loadSpeex, SPEEX_DEFAULT_QUALITY } from '../lib/speex.js';
import { readableQueuedMs, writableQueuedMs, type HoldsAudio } from '../lib/stats.js';

export interface ResampleOptions {
  /** Output sample rate in Hz. */
  sampleRate: number;
  /** Output channel count. From any input count to 1, or from 1 to any count. */
  channels: number;
  /** Speex quality 0–10 (default 4; see docs/resampling.md for what each level costs and gives). */
  quality?: number;
}

export function resample(options: ResampleOptions): Resample {
  return new Resample(options);
}

export class Resample extends Transform implements HoldsAudio {
  readonly sampleRate: number;
  readonly channels: number;
  readonly quality: number;
  #inRate = 0; // 0 until the first frame
  #inChannels = 0;
  #engine: Resampler | undefined;
  #fed = 0; // samples per channel into the current engine
  #made = 0; // samples per channel out of it

  constructor(options: ResampleOptions) {
    // One frame each side: the stage holds at most the engine's few ms of lookahead plus two frames.
    super({ objectMode: true, highWaterMark: 1 });
    const { sampleRate, channels, quality = SPEEX_DEFAULT_QUALITY } = options ?? ({} as ResampleOptions);
    if (!isAudioSampleRate(sampleRate)) {
      throw new ConfigError(
        'ERR_RESAMPLE_OPTIONS',
        `resample: sampleRate must be an integer in ${SAMPLE_RATE_RANGE.join('..')} Hz, got ${sampleRate}`,
      );
    }
    if (!Number.isInteger(channels) || channels < 1) {
      throw new ConfigError('ERR_RESAMPLE_OPTIONS', `resample: channels must be a positive integer, got ${channels}`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) {
      throw new ConfigError('ERR_RESAMPLE_OPTIONS', `resample: quality must be an integer 0–10, got ${quality}`);
    }
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.quality = quality;
  }

  /** Ms of audio held: the engine's lookahead (input fed − output made) plus frames in both stream buffers. */
  get bufferedMs(): number {
    const held = this.#engine ? (this.#fed * 1000) / this.#inRate - (this.#made * 1000) / this.sampleRate : 0;
    return Math.max(0, held) + readableQueuedMs(this) + writableQueuedMs(this);
  }

  // Writes wait for this, so the first frame finds the speex fallback loaded (an odd ratio may need it).
  override _construct(callback: (error?: Error | null) => void): void {
    loadSpeex().then(
      () => callback(),
      (err: unknown) => callback(toError(err)),
    );
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!(chunk instanceof AudioFrame) || chunk.sampleRate !== this.#inRate || chunk.channels !== this.#inChannels) {
        this.#switchInput(chunk);
      }
      const frame = checkFrame(chunk, this.#inRate, this.#inChannels, 'resample');
      if (frame.samplesPerChannel > 0) this.#emit(frame);
      callback();
    } catch (err) {
      callback(toError(err));
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#finishEngine();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#engine?.destroy();
    this.#engine = undefined;
    callback(error);
  }

  /** A first frame, or one whose format differs from the last: end the old engine, set up for the new one. */
  #switchInput(chunk: unknown): void {
    const frame = checkFrame(chunk, (chunk as AudioFrame)?.sampleRate, (chunk as AudioFrame)?.channels, 'resample');
    const { sampleRate, channels } = frame;
    if (!isAudioSampleRate(sampleRate) || !Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
      throw new FrameFormatError(
        'ERR_FRAME_FORMAT',
        `resample got a frame of ${sampleRate} Hz / ${channels} ch (rates ${SAMPLE_RATE_RANGE.join('..')} Hz, 1..${MAX_CHANNELS} channels)`,
      );
    }
    if (!canMix(channels, this.channels)) {
      throw new FrameFormatError(
        'ERR_CHANNEL_MIX',
        `resample cannot mix ${channels} input channels to ${this.channels}: only 1 → N (duplicate) and N → 1 (average) are defined`,
      );
    }
    this.#finishEngine();
    this.#inRate = sampleRate;
    this.#inChannels = channels;
    if (sampleRate !== this.sampleRate) {
      this.#engine = createResampler(Math.min(channels, this.channels), sampleRate, this.sampleRate, this.quality);
      this.#engine.skipZeros();
    }
  }

  #emit(frame: AudioFrame): void {
    if (!this.#engine && frame.channels === this.channels) {
      this.push(ownedFrame(frame));
      return;
    }
    if (!this.#engine) {
      this.#pushOut(mixChannels(frame.data, frame.channels, Math.min(frame.channels, this.channels)));
      return;
    }
    // a downmix happens inside process(), straight into the engine's input buffer
    const data = this.#engine.process(frame.data, frame.channels);
    this.#fed += frame.samplesPerChannel;
    this.#made += data.length / this.#engine.channels;
    this.#pushOut(data);
  }

  /** Flush the engine's lookahead (its tail is real audio) and free it. */
  #finishEngine(): void {
    if (!this.#engine) return;
    const tail = this.#engine.flush();
    this.#engine.destroy();
    this.#engine = undefined;
    this.#fed = this.#made = 0;
    this.#pushOut(tail);
  }

  /** Push `data` (the engine's channel count) upmixed to the output channel count; nothing if empty. */
  #pushOut(data: Int16Array): void {
    if (data.length === 0) return;
    const engineChannels = Math.min(this.#inChannels, this.channels);
    this.push(createFrame(mixChannels(data, engineChannels, this.channels), this.sampleRate, this.channels));
  }
}
