/**
 * decodePcm: headerless sample bytes in (Buffers of any size; a sample may straddle two chunks), AudioFrames out
 * (int16 interleaved, the declared rate and channels). One frame per input chunk holding every whole sample
 * frame available; a partial sample frame is carried to the next chunk. Input ending inside a sample frame is an
 * InvalidAudioError ERR_PCM_PARTIAL_FRAME, delivered after the frames before it.
 *
 *   ws.on('message', (b) => pcm.write(b));   // pcm = decodePcm({ sampleRate: 8000, channels: 1, encoding: 'mulaw' })
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createFrame } from '../lib/frames.js';
import { ConfigError, InvalidAudioError } from '../lib/errors.js';
import { SAMPLE_ENCODINGS, bytesPerSample, isSampleEncoding, toInt16, type SampleEncoding } from '../lib/formats.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import { bytesOf, writableQueuedBytes } from '../lib/chunks.js';

export type { SampleEncoding };

export interface DecodePcmOptions {
  /** Samples per second per channel: an integer in 1..768000. */
  sampleRate: number;
  /** Interleaved channels: an integer in 1..64. Default 1. */
  channels?: number;
  /** How samples are stored. Default 's16le'. */
  encoding?: SampleEncoding;
}

/** Readable side: frames held before backpressure stops the writer. */
const READABLE_HWM = 1;
/** Writable side (object mode, see the constructor): input chunks queued before write() returns false. */
const WRITABLE_HWM = 1;
const MAX_RATE = 768000;
const MAX_CHANNELS = 64;

export function decodePcm(options: DecodePcmOptions): DecodePcm {
  return new DecodePcm(options);
}

export class DecodePcm extends Transform implements HoldsAudio {
  readonly sampleRate: number;
  readonly channels: number;
  readonly encoding: SampleEncoding;
  /** Bytes per sample frame (all channels). */
  readonly blockAlign: number;

  #carry: Buffer = Buffer.alloc(0);

  constructor(options: DecodePcmOptions) {
    const { sampleRate, channels = 1, encoding = 's16le' } = options ?? ({} as DecodePcmOptions);
    if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > MAX_RATE) {
      throw new ConfigError(
        'ERR_PCM_RATE',
        `decodePcm: sampleRate must be an integer in 1..${MAX_RATE}, got ${String(sampleRate)}`,
      );
    }
    if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
      throw new ConfigError(
        'ERR_PCM_CHANNELS',
        `decodePcm: channels must be an integer in 1..${MAX_CHANNELS}, got ${String(channels)}`,
      );
    }
    if (!isSampleEncoding(encoding)) {
      throw new ConfigError(
        'ERR_PCM_ENCODING',
        `decodePcm: encoding must be one of ${SAMPLE_ENCODINGS.join(', ')}, got ${String(encoding)}`,
      );
    }
    // Object-mode writable: a non-bytes chunk becomes a stream error here instead of a throw out of write().
    super({
      readableObjectMode: true,
      writableObjectMode: true,
      readableHighWaterMark: READABLE_HWM,
      writableHighWaterMark: WRITABLE_HWM,
    });
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.encoding = encoding;
    this.blockAlign = channels * bytesPerSample(encoding);
  }

  /** Audio held here: frames in the readable buffer plus bytes not yet decoded. */
  get bufferedMs(): number {
    const bytes = this.#carry.length + writableQueuedBytes(this);
    return readableQueuedMs(this) + (bytes / this.blockAlign / this.sampleRate) * 1000;
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    const bytes = bytesOf(chunk, 'decodePcm', 'ERR_PCM_INPUT_TYPE');
    if (bytes instanceof InvalidAudioError) {
      cb(bytes);
      return;
    }
    const src = this.#carry.length > 0 ? Buffer.concat([this.#carry, bytes]) : bytes;
    const whole = src.length - (src.length % this.blockAlign);
    // Copy the remainder: the writer owns its buffer once we return.
    this.#carry = Buffer.from(src.subarray(whole));
    if (whole > 0) {
      const out = new Int16Array((whole / this.blockAlign) * this.channels);
      toInt16(this.encoding, src, out);
      this.push(createFrame(out, this.sampleRate, this.channels));
    }
    cb();
  }

  // Errors come only before a chunk's frame is pushed or at the end of input. Transform runs both from inside
  // the consumer's read() (with a highWaterMark of 1 it withholds the next chunk until then), and that read
  // still hands out the frame it was taking: the audio before an error reaches the consumer (tested).
  override _flush(cb: TransformCallback): void {
    const partial = this.#carry.length;
    if (partial === 0) return cb();
    cb(
      new InvalidAudioError(
        'ERR_PCM_PARTIAL_FRAME',
        `input ended inside a sample frame: ${partial} of ${this.blockAlign} bytes (${this.channels} ch ${this.encoding})`,
      ),
    );
  }
}
