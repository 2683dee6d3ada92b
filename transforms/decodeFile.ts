/**
 * decodeFile: a compressed (or WAV) file → AudioFrames of `frameMs` at `sampleRate`, decoded by
 * node-web-audio-api's decodeAudioData (symphonia: MP3, FLAC, Ogg Vorbis, AAC in ADTS or MP4 with the index up
 * front, WAV; not Opus).
 *
 *   await pipeline(decodeFile('speech.mp3', { sampleRate: 48000 }), rechunk(), sink);
 *   await pipeline(process.stdin, decodeFile(), rechunk(), sink);   // no source: write the file's bytes into it
 *
 * Rate change: decodeAudioData resamples to its context's rate, but measured here at only ~34 dB SNR
 * (44.1 → 48 kHz) and ~21 dB (→ 8 kHz) against 87 dB undisturbed. So the file's own rate is read from its header
 * (`sniffSampleRate`), decoding happens at that rate, and the project's resampler (lib/resampler.ts, ≈ 90 dB) makes
 * `sampleRate`. Only when the header cannot be read does decodeAudioData resample (`format.sourceSampleRate`
 * is then undefined).
 *
 * Whole-file, not streaming: the encoded bytes and the decoded float planes (channels × seconds × rate × 4 bytes,
 * ~21 MB per stereo minute at 44.1 kHz) are in memory together; frames are then made on demand. For long WAV
 * files use decodeWav, which streams.
 */
import { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { createFrame, samplesIn } from '../lib/frames.js';
import { BufferOverflowError, ConfigError, InvalidAudioError, UnsupportedFormatError, toError } from '../lib/errors.js';
import { floatToInt16 } from '../lib/formats.js';
import { createResampler, type Resampler } from '../lib/resampler.js';
import { loadSpeex } from '../lib/speex.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';

/** A file path, a file: URL, or the file's bytes. */
export type DecodeFileSource = string | URL | Uint8Array | ArrayBuffer;

export interface DecodeFileOptions {
  /** Output rate: an integer in 2000..384000. Default 48000. */
  sampleRate?: number;
  /** Output channels. Default: the file's. A mono file can be spread to any count; any file can be averaged to 1. */
  channels?: number;
  /** Duration of each frame (the last one may be shorter): must be a whole number of samples. Default 10. */
  frameMs?: number;
  /** Refuse inputs larger than this many bytes (BufferOverflowError ERR_DECODE_TOO_LARGE). Default 256 MiB. */
  maxBytes?: number;
}

/** What the `format` event reports once the file is decoded, before the first frame. */
export interface DecodedFileFormat {
  sampleRate: number;
  channels: number;
  /** The file's own rate, read from its header; undefined if unreadable (decodeAudioData then resampled). */
  sourceSampleRate: number | undefined;
  /** Channels in the file. */
  sourceChannels: number;
  /** Samples per channel the stream will emit, at `sampleRate`. */
  samplesPerChannel: number;
  durationMs: number;
}

const READABLE_HWM = 1;
/** Writable side (object mode, so a non-bytes chunk is a stream error): input chunks queued. */
const WRITABLE_HWM = 1;
const RATE_RANGE = [2000, 384000] as const;
const MAX_CHANNELS = 32;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** The subset of node-web-audio-api used here (its own typings pull the DOM lib into every compilation unit). */
interface DecodedAudio {
  readonly length: number;
  readonly numberOfChannels: number;
  getChannelData(channel: number): Float32Array;
}
interface WebAudio {
  OfflineAudioContext: new (o: { numberOfChannels: number; length: number; sampleRate: number }) => {
    decodeAudioData(data: ArrayBuffer): Promise<DecodedAudio>;
  };
}
let webAudio: WebAudio | undefined;
// Loaded on first use so that importing this package does not load the native addon.
const loadWebAudio = (): WebAudio => (webAudio ??= createRequire(import.meta.url)('node-web-audio-api') as WebAudio);

export function decodeFile(source?: DecodeFileSource | null, options?: DecodeFileOptions): DecodeFile;
export function decodeFile(options?: DecodeFileOptions): DecodeFile;
export function decodeFile(a?: DecodeFileSource | DecodeFileOptions | null, b?: DecodeFileOptions): DecodeFile {
  return isSource(a) ? new DecodeFile(a, b) : new DecodeFile(undefined, (a ?? b) as DecodeFileOptions | undefined);
}

export class DecodeFile extends Duplex implements HoldsAudio {
  readonly sampleRate: number;
  /** Samples per channel in a full frame. */
  readonly frameSamples: number;
  /** The decoded format, once known (also emitted as the `format` event). */
  format: DecodedFileFormat | undefined;

  readonly #source: DecodeFileSource | undefined;
  readonly #channels: number | undefined;
  readonly #maxBytes: number;
  #input: Uint8Array[] = [];
  #inputBytes = 0;
  #started = false;
  #readWaiting = false;
  /** Decoded float planes at the decode rate (one per output channel), and the next sample to convert. */
  #planes: Float32Array[] | undefined;
  #at = 0;
  /** Input samples per channel converted per step. */
  #block = 0;
  #resampler: Resampler | undefined;
  /** Output samples (interleaved int16) made but not yet cut into frames. */
  #out: Int16Array[] = [];
  #outLen = 0;

  constructor(source?: DecodeFileSource, options: DecodeFileOptions = {}) {
    const { sampleRate = 48000, channels, frameMs = 10, maxBytes = DEFAULT_MAX_BYTES } = options;
    if (source !== undefined && !isSource(source)) {
      throw new ConfigError('ERR_DECODE_SOURCE', `decodeFile: source must be a path, file URL, Buffer, Uint8Array or ArrayBuffer, got ${typeof source}`);
    }
    if (!Number.isInteger(sampleRate) || sampleRate < RATE_RANGE[0] || sampleRate > RATE_RANGE[1]) {
      throw new ConfigError('ERR_DECODE_RATE', `decodeFile: sampleRate must be an integer in ${RATE_RANGE.join('..')}, got ${String(sampleRate)}`);
    }
    if (channels !== undefined && (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS)) {
      throw new ConfigError('ERR_DECODE_CHANNELS', `decodeFile: channels must be an integer in 1..${MAX_CHANNELS}, got ${String(channels)}`);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new ConfigError('ERR_DECODE_MAX_BYTES', `decodeFile: maxBytes must be a positive integer, got ${String(maxBytes)}`);
    }
    const frameSamples = samplesIn(sampleRate, frameMs);
    super({
      readableObjectMode: true,
      writableObjectMode: true,
      readableHighWaterMark: READABLE_HWM,
      writableHighWaterMark: WRITABLE_HWM,
      // With a source there is nothing to write: the writable side starts finished (a Node ≥ 14 option that
      // @types/node 20 does not declare).
      ...({ writable: source === undefined } as object),
    });
    this.sampleRate = sampleRate;
    this.frameSamples = frameSamples;
    this.#source = source;
    this.#channels = channels;
    this.#maxBytes = maxBytes;
  }

  /** Frames waiting in the readable buffer. (Decoded audio not yet made into frames is the source, not a queue.) */
  get bufferedMs(): number {
    return readableQueuedMs(this);
  }

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!(chunk instanceof Uint8Array)) {
      cb(new InvalidAudioError('ERR_DECODE_INPUT_TYPE', `decodeFile expects Buffer/Uint8Array chunks, got ${chunk === null ? 'null' : typeof chunk}`));
      return;
    }
    this.#inputBytes += chunk.byteLength;
    if (this.#inputBytes > this.#maxBytes) {
      cb(new BufferOverflowError('ERR_DECODE_TOO_LARGE', `decodeFile: input exceeds maxBytes (${this.#maxBytes})`));
      return;
    }
    this.#input.push(chunk);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const bytes = Buffer.concat(this.#input, this.#inputBytes);
    this.#input = [];
    this.#start(async () => bytes);
    cb();
  }

  override _read(): void {
    if (this.#planes) return this.#pushFrame();
    this.#readWaiting = true;
    // With a source, decoding starts on the first read; without, when the writer ends (_final).
    const source = this.#source;
    if (source !== undefined) this.#start(() => this.#load(source));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#release();
    cb(err);
  }

  #start(getBytes: () => Promise<Uint8Array>): void {
    if (this.#started) return;
    this.#started = true;
    getBytes()
      .then((bytes) => this.#decode(bytes))
      .then(() => {
        if (this.#readWaiting && !this.destroyed) this.#pushFrame();
      })
      .catch((err: unknown) => this.destroy(toError(err)));
  }

  async #load(source: DecodeFileSource): Promise<Uint8Array> {
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (source instanceof Uint8Array) return source;
    const size = (await stat(source)).size;
    if (size > this.#maxBytes) {
      throw new BufferOverflowError('ERR_DECODE_TOO_LARGE', `decodeFile: ${String(source)} is ${size} bytes, over maxBytes (${this.#maxBytes})`);
    }
    return readFile(source);
  }

  async #decode(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) throw new InvalidAudioError('ERR_DECODE_EMPTY', 'decodeFile: empty input');
    if (bytes.byteLength > this.#maxBytes) {
      throw new BufferOverflowError('ERR_DECODE_TOO_LARGE', `decodeFile: input is ${bytes.byteLength} bytes, over maxBytes (${this.#maxBytes})`);
    }
    const sourceRate = sniffSampleRate(bytes);
    const decodeRate = sourceRate ?? this.sampleRate;
    const { OfflineAudioContext } = loadWebAudio();
    // An OfflineAudioContext that is never rendered holds no thread or device: there is nothing to close
    // (test/decodeFile.test.ts checks that a process exits after decoding).
    const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: decodeRate });
    let audio: DecodedAudio;
    try {
      audio = await ctx.decodeAudioData(ownArrayBuffer(bytes));
    } catch (err) {
      throw classify(err);
    }
    if (audio.length === 0) throw new InvalidAudioError('ERR_DECODE_EMPTY', 'decodeFile: the file holds no audio');
    if (this.destroyed) return;
    const src = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
    const planes = mapChannels(src, this.#channels ?? src.length);
    let samplesPerChannel = audio.length;
    this.#block = this.frameSamples;
    if (decodeRate !== this.sampleRate) {
      await loadSpeex();
      if (this.destroyed) return;
      this.#resampler = createResampler(planes.length, decodeRate, this.sampleRate);
      this.#resampler.skipZeros(); // output aligned with input; after flush() the length is exactly:
      samplesPerChannel = Math.ceil((audio.length * this.sampleRate) / decodeRate);
      this.#block = Math.ceil((this.frameSamples * decodeRate) / this.sampleRate);
    }
    this.format = {
      sampleRate: this.sampleRate,
      channels: planes.length,
      sourceSampleRate: sourceRate,
      sourceChannels: src.length,
      samplesPerChannel,
      durationMs: (samplesPerChannel * 1000) / this.sampleRate,
    };
    this.#planes = planes;
    this.emit('format', this.format);
  }

  #pushFrame(): void {
    this.#readWaiting = false;
    const ch = this.format!.channels;
    const want = this.frameSamples * ch;
    while (this.#outLen < want && this.#planes!.length > 0) this.#produce();
    if (this.#outLen === 0) {
      this.#release();
      this.push(null);
      return;
    }
    this.push(createFrame(this.#take(Math.min(want, this.#outLen)), this.sampleRate, ch));
  }

  /** Convert the next block of decoded floats to int16 (through the resampler when rates differ). */
  #produce(): void {
    const planes = this.#planes!;
    const ch = planes.length;
    const n = Math.min(this.#block, planes[0]!.length - this.#at);
    const block = new Int16Array(n * ch);
    for (let c = 0; c < ch; c++) {
      const p = planes[c]!;
      for (let i = 0, j = this.#at; i < n; i++, j++) block[i * ch + c] = floatToInt16(p[j]!);
    }
    this.#at += n;
    const done = this.#at >= planes[0]!.length;
    const r = this.#resampler;
    this.#append(r ? r.process(block) : block);
    if (done) {
      if (r) this.#append(r.flush());
      this.#release();
    }
  }

  #append(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.#out.push(samples);
    this.#outLen += samples.length;
  }

  /** The first `n` samples of the output queue, as one array of their own. */
  #take(n: number): Int16Array {
    const first = this.#out[0]!;
    if (first.length === n) {
      this.#out.shift();
      this.#outLen -= n;
      return first;
    }
    const out = new Int16Array(n);
    for (let at = 0; at < n; ) {
      const head = this.#out[0]!;
      const k = Math.min(n - at, head.length);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) this.#out.shift();
      else this.#out[0] = head.subarray(k);
    }
    this.#outLen -= n;
    return out;
  }

  /** Drop the decoded planes and the resampler: all their audio is in the output queue. */
  #release(): void {
    this.#planes = [];
    this.#resampler?.destroy();
    this.#resampler = undefined;
  }
}

function isSource(x: unknown): x is DecodeFileSource {
  return typeof x === 'string' || x instanceof URL || x instanceof Uint8Array || x instanceof ArrayBuffer;
}

/** The bytes as an ArrayBuffer of their own (decodeAudioData takes an ArrayBuffer, not a view). */
function ownArrayBuffer(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Output planes: as decoded, mono averaged from N, or mono spread to N. */
function mapChannels(src: Float32Array[], want: number): Float32Array[] {
  if (want === src.length) return src;
  if (src.length === 1) return new Array<Float32Array>(want).fill(src[0]!);
  if (want === 1) {
    const mono = new Float32Array(src[0]!.length);
    for (const p of src) for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! + p[i]! / src.length;
    return [mono];
  }
  throw new UnsupportedFormatError('ERR_DECODE_CHANNELS', `decodeFile: cannot map ${src.length} channels to ${want} (use 1 or ${src.length})`);
}

/** decodeAudioData rejects with an EncodingError DOMException whose message says what symphonia thought. */
function classify(err: unknown): Error {
  const message = toError(err).message;
  if (/no suitable format reader/.test(message)) {
    return new UnsupportedFormatError('ERR_DECODE_FORMAT', `decodeFile: not a container it reads (WAV, MP3, FLAC, Ogg, AAC/MP4): ${message}`, { cause: err });
  }
  if (/unsupported/.test(message)) {
    return new UnsupportedFormatError('ERR_DECODE_UNSUPPORTED', `decodeFile: ${message}`, { cause: err });
  }
  return new InvalidAudioError('ERR_DECODE_FAILED', `decodeFile: ${message}`, { cause: err });
}

const MPEG_RATES: Record<number, readonly number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * The sample rate a file's header declares, for the containers decodeAudioData reads: WAV (fmt), FLAC
 * (STREAMINFO), Ogg Vorbis / Ogg FLAC (identification header), MP3 (first frame header after any ID3v2 tag),
 * AAC ADTS (frame header), MP4 (the mp4a sample entry). Undefined when none matches or the rate is out of range.
 */
export function sniffSampleRate(bytes: Uint8Array): number | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rate = sniff(b);
  return rate !== undefined && rate >= RATE_RANGE[0] && rate <= RATE_RANGE[1] ? rate : undefined;
}

function sniff(b: Buffer): number | undefined {
  const tag = (at: number, s: string) => b.length >= at + s.length && b.toString('latin1', at, at + s.length) === s;
  if (tag(0, 'RIFF') && tag(8, 'WAVE')) {
    for (let at = 12; at + 16 <= b.length; at += 8 + b.readUInt32LE(at + 4) + (b.readUInt32LE(at + 4) & 1)) {
      if (tag(at, 'fmt ')) return b.length >= at + 16 ? b.readUInt32LE(at + 12) : undefined;
    }
    return undefined;
  }
  if (tag(0, 'OggS')) {
    const packet = 27 + (b[26] ?? 0);
    if (tag(packet, '\x01vorbis') && b.length >= packet + 16) return b.readUInt32LE(packet + 12);
    if (tag(packet, '\x7fFLAC') && tag(packet + 9, 'fLaC')) return flacRate(b, packet + 13);
    return undefined;
  }
  if (tag(4, 'ftyp')) {
    // The AudioSampleEntry: box type at `mp4`, then 24 bytes of fields before the 16.16 sample rate.
    const mp4 = b.indexOf('mp4a', 8, 'latin1');
    return mp4 > 0 && b.length >= mp4 + 30 ? b.readUInt16BE(mp4 + 28) : undefined;
  }
  let at = 0;
  if (tag(0, 'ID3') && b.length >= 10) {
    at = 10 + ((b[6]! & 0x7f) << 21) + ((b[7]! & 0x7f) << 14) + ((b[8]! & 0x7f) << 7) + (b[9]! & 0x7f);
  }
  if (tag(at, 'fLaC')) return flacRate(b, at + 4);
  // The first MPEG audio / ADTS frame sync within 64 KiB.
  for (const end = Math.min(b.length - 3, at + 65536); at < end; at++) {
    if (b[at] !== 0xff || (b[at + 1]! & 0xe0) !== 0xe0) continue;
    const version = (b[at + 1]! >> 3) & 3;
    const layer = (b[at + 1]! >> 1) & 3;
    if (layer === 0 && (b[at + 1]! & 0xf6) === 0xf0) return ADTS_RATES[(b[at + 2]! >> 2) & 0x0f];
    const rateIndex = (b[at + 2]! >> 2) & 3;
    if (version !== 1 && layer !== 0 && rateIndex !== 3 && b[at + 2]! >> 4 !== 15) return MPEG_RATES[version]![rateIndex];
  }
  return undefined;
}

/** Sample rate from a FLAC metadata block header at `at` that starts STREAMINFO. */
function flacRate(b: Buffer, at: number): number | undefined {
  if (b.length < at + 4 + 13 || (b[at]! & 0x7f) !== 0) return undefined;
  const s = at + 4 + 10;
  return (b[s]! << 12) | (b[s + 1]! << 4) | (b[s + 2]! >> 4);
}
