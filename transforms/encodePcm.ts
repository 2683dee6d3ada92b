/**
 * encodePcm: AudioFrames in, headerless sample bytes out — one Buffer per frame, in any encoding decodePcm reads.
 * The exact inverse of decodePcm for 16-bit audio (s16, s24, s32, f32, f64 carry every int16 value exactly);
 * u8 rounds to the nearest code; G.711 (mulaw, alaw) to one of the two levels around each sample (the Sun reference
 * encoders, byte-identical to sox), and every code decodes and re-encodes to itself.
 *
 *   room audio → LiveKitSource → encodePcm({ encoding: 'mulaw' }) → base64 → the caller's WebSocket
 *
 * Frames must all have the same rate and channel count: the first frame's, or `sampleRate`/`channels` if given
 * (FrameFormatError ERR_FRAME_MISMATCH otherwise).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ConfigError, toError } from '../lib/errors.js';
import { checkFrame, type AudioFrame } from '../lib/frames.js';
import { SAMPLE_ENCODINGS, bytesPerSample, fromInt16, isSampleEncoding, type SampleEncoding } from '../lib/formats.js';
import { writableQueuedMs, type HoldsAudio } from '../lib/stats.js';

export interface EncodePcmOptions {
  /** How samples are stored. Default 's16le'. */
  encoding?: SampleEncoding;
  /** Expected rate of every frame; default: the first frame's. */
  sampleRate?: number;
  /** Expected channels of every frame; default: the first frame's. */
  channels?: number;
}

/** One frame in, one Buffer out, each side holding at most one. */
const HWM = 1;

export function encodePcm(options: EncodePcmOptions = {}): EncodePcm {
  return new EncodePcm(options);
}

export class EncodePcm extends Transform implements HoldsAudio {
  readonly encoding: SampleEncoding;
  #rate: number | undefined;
  #channels: number | undefined;

  constructor(options: EncodePcmOptions = {}) {
    const { encoding = 's16le', sampleRate, channels } = options ?? {};
    if (!isSampleEncoding(encoding)) {
      throw new ConfigError(
        'ERR_PCM_ENCODING',
        `encodePcm: encoding must be one of ${SAMPLE_ENCODINGS.join(', ')}, got ${String(encoding)}`,
      );
    }
    if (sampleRate !== undefined && (!Number.isInteger(sampleRate) || sampleRate < 1)) {
      throw new ConfigError('ERR_PCM_RATE', `encodePcm: sampleRate must be a positive integer, got ${sampleRate}`);
    }
    if (channels !== undefined && (!Number.isInteger(channels) || channels < 1)) {
      throw new ConfigError('ERR_PCM_CHANNELS', `encodePcm: channels must be a positive integer, got ${channels}`);
    }
    // bytes out are counted in buffers (one per frame), not bytes: object mode on both sides
    super({
      readableObjectMode: true,
      writableObjectMode: true,
      readableHighWaterMark: HWM,
      writableHighWaterMark: HWM,
    });
    this.encoding = encoding;
    this.#rate = sampleRate;
    this.#channels = channels;
  }

  /** Audio held: a frame waiting on the writable side, or encoded bytes not yet read. */
  get bufferedMs(): number {
    let ms = writableQueuedMs(this);
    if (this.#rate === undefined || this.#channels === undefined) return ms; // nothing encoded yet
    const bytesPerMs = (this.#rate * this.#channels * bytesPerSample(this.encoding)) / 1000;
    const queued = (this as unknown as { readableBuffer?: Iterable<unknown> }).readableBuffer ?? [];
    for (const b of queued) if (Buffer.isBuffer(b)) ms += b.length / bytesPerMs;
    return ms;
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    let frame: AudioFrame;
    try {
      const probe = chunk as AudioFrame | undefined;
      frame = checkFrame(
        chunk,
        this.#rate ?? probe?.sampleRate ?? 0,
        this.#channels ?? probe?.channels ?? 0,
        'encodePcm',
      );
    } catch (err) {
      cb(toError(err));
      return;
    }
    this.#rate ??= frame.sampleRate;
    this.#channels ??= frame.channels;
    const samples = frame.data.subarray(0, frame.samplesPerChannel * frame.channels);
    const out = Buffer.allocUnsafe(samples.length * bytesPerSample(this.encoding));
    fromInt16(this.encoding, samples, out);
    cb(null, out);
  }
}
