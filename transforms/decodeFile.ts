/**
 * decodeFile: a compressed (or WAV) file → AudioFrames of `frameMs` at `sampleRate`.
 *
 *   await pipeline(decodeFile('speech.mp3', { sampleRate: 48000 }), rechunk(), sink);
 *   await pipeline(process.stdin, decodeFile(), rechunk(), sink);   // no source: write the file's bytes into it
 *
 * Before decoding, the container's headers are read (lib/decode/containers): a rate outside SAMPLE_RATE_RANGE
 * or a cut file (unless `allowTruncated`) is refused with a typed error, without decoding. Then:
 * - WAV streams through decodeWav in this process.
 * - MP3, Ogg Opus, FLAC and Ogg Vorbis stream through decodeStream's wasm engine when its optional package is
 *   installed (transforms/streamedBlocks.ts): flat memory however long the file, the gapless length the headers
 *   declare.
 * - Anything else (AAC in ADTS or MP4, Ogg FLAC; those four without their package) is decoded by
 *   node-web-audio-api's decodeAudioData in a child process (lib/decode/nativeDecoder.ts) that is killed on
 *   destroy() and when its memory passes the cap, and that hands the audio back a block at a time, as frames are
 *   read. It holds the file decoded, so a declared length over `maxDecodedBytes` is refused up front.
 *
 * Rate change: decodeAudioData resamples to its context's rate, but measured here at only ~34 dB SNR
 * (44.1 → 48 kHz) and ~21 dB (→ 8 kHz) against 87 dB undisturbed. So decoding happens at the file's own rate
 * and the project's resampler (lib/resampler.ts, ≈ 90 dB) makes `sampleRate`. Only when the header cannot be
 * read does decodeAudioData resample (`format.sourceSampleRate` is then undefined).
 */
import { Duplex, Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createFrame, samplesIn } from '../lib/frames.js';
import { BufferOverflowError, ConfigError, InvalidAudioError, UnsupportedFormatError, toError } from '../lib/errors.js';
import { isAudioSampleRate, MAX_CHANNELS as MAX_SOURCE_CHANNELS, SAMPLE_RATE_RANGE } from '../lib/formats.js';
import { createResampler, type Resampler } from '../lib/resampler.js';
import { loadSpeex } from '../lib/speex.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import { bytesOf } from '../lib/chunks.js';
import { probeContainer, type ContainerInfo } from '../lib/decode/containers/probe.js';
import { readWavHeader } from '../lib/decode/containers/wav.js';
import { NATIVE_DECODER_PACKAGE, NativeDecoder, nativeDecoderInstalled } from '../lib/decode/nativeDecoder.js';
import { ENGINE_PACKAGES, engineInstalled } from '../lib/decode/streaming/engines.js';
import { FORMAT_NAMES } from '../lib/decode/streaming/types.js';
import { DecodeWav } from './decodeWav.js';
import {
  declaredLength,
  sliced,
  slices,
  streamedBlocks,
  streamFormatOf,
  type BlockSource,
  type Reread,
} from './streamedBlocks.js';

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
  /**
   * Refuse a compressed file whose decoded audio (32-bit float per sample per channel, at the file's rate, as
   * the decoder holds it) would take more than this many bytes: up front when the headers declare the length,
   * otherwise when the decoder process's memory passes 3× this (its measured peak is 2.1–2.5×) plus its own
   * ~160 MB (BufferOverflowError ERR_DECODE_TOO_LONG). Default 256 MiB: 23 minutes of 48 kHz mono, 12 minutes
   * of 44.1 kHz stereo. WAV and streamed decodes hold no decoded copy and are not limited by it.
   */
  maxDecodedBytes?: number;
  /**
   * Decode a file that is cut short (its container says more follows) as the audio that is there. Default
   * false: InvalidAudioError ERR_DECODE_TRUNCATED before any frame.
   */
  allowTruncated?: boolean;
  /**
   * Which decoder reads a compressed file. 'auto' (default): MP3, Ogg Opus, FLAC and Ogg Vorbis stream through
   * decodeStream's wasm engine when its package is installed (flat memory, no child process, gapless length),
   * anything else — AAC, MP4, Ogg FLAC, or those four without their package — goes to node-web-audio-api.
   * 'streaming': only the streaming engines (ERR_DECODE_UNSUPPORTED for the others). 'native': always
   * node-web-audio-api.
   */
  decoder?: 'auto' | 'streaming' | 'native';
}

/** What the `format` event reports once the file is decoded, before the first frame. */
export interface DecodedFileFormat {
  sampleRate: number;
  channels: number;
  /** The file's own rate, read from its header; undefined if unreadable (decodeAudioData then resampled). */
  sourceSampleRate: number | undefined;
  /** Channels in the file. */
  sourceChannels: number;
  /**
   * Samples per channel the stream will emit, at `sampleRate`. For a streamed decode it is the length the
   * file's headers declare for gapless playback, which the stream is held to (with `allowTruncated`, an upper
   * bound).
   */
  samplesPerChannel: number;
  /** Which decoder reads the file: 'wav' (decodeWav), 'streaming' (a decodeStream engine) or 'native'. */
  decoder: 'wav' | 'streaming' | 'native';
  durationMs: number;
}

const READABLE_HWM = 1;
/** Writable side (object mode, so a non-bytes chunk is a stream error): input chunks queued. */
const WRITABLE_HWM = 1;
const RATE_RANGE = [2000, 384000] as const;
const MAX_CHANNELS = 32;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** WAV bytes handed to decodeWav at a time. */
const WAV_SLICE_BYTES = 64 * 1024;
export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;

export function decodeFile(source?: DecodeFileSource | null, options?: DecodeFileOptions): DecodeFile;
export function decodeFile(options?: DecodeFileOptions): DecodeFile;
export function decodeFile(a?: DecodeFileSource | DecodeFileOptions | null, b?: DecodeFileOptions): DecodeFile {
  return isSource(a) ? new DecodeFile(a, b) : new DecodeFile(undefined, (a ?? b) as DecodeFileOptions | undefined);
}

interface Opened {
  blocks: BlockSource;
  decoder: DecodedFileFormat['decoder'];
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
  readonly #maxDecodedBytes: number;
  readonly #allowTruncated: boolean;
  readonly #decoder: 'auto' | 'streaming' | 'native';
  #input: Uint8Array[] = [];
  #inputBytes = 0;
  #started = false;
  #readWaiting = false;
  #pumping = false;
  /** The decoded audio, read a block at a time; undefined before the format is known and after the last block. */
  #blocks: BlockSource | undefined;
  #ended = false;
  #resampler: Resampler | undefined;
  /** Output samples (interleaved int16) made but not yet cut into frames. */
  #out: Int16Array[] = [];
  #outLen = 0;

  constructor(source?: DecodeFileSource, options: DecodeFileOptions = {}) {
    const {
      sampleRate = 48000,
      channels,
      frameMs = 10,
      maxBytes = DEFAULT_MAX_BYTES,
      maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES,
      decoder = 'auto',
    } = options;
    if (source !== undefined && !isSource(source)) {
      throw new ConfigError(
        'ERR_DECODE_SOURCE',
        `decodeFile: source must be a path, file URL, Buffer, Uint8Array or ArrayBuffer, got ${typeof source}`,
      );
    }
    if (!Number.isInteger(sampleRate) || sampleRate < RATE_RANGE[0] || sampleRate > RATE_RANGE[1]) {
      throw new ConfigError(
        'ERR_DECODE_RATE',
        `decodeFile: sampleRate must be an integer in ${RATE_RANGE.join('..')}, got ${String(sampleRate)}`,
      );
    }
    if (channels !== undefined && (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS)) {
      throw new ConfigError(
        'ERR_DECODE_CHANNELS',
        `decodeFile: channels must be an integer in 1..${MAX_CHANNELS}, got ${String(channels)}`,
      );
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new ConfigError(
        'ERR_DECODE_MAX_BYTES',
        `decodeFile: maxBytes must be a positive integer, got ${String(maxBytes)}`,
      );
    }
    if (!Number.isSafeInteger(maxDecodedBytes) || maxDecodedBytes < 1) {
      throw new ConfigError(
        'ERR_DECODE_MAX_BYTES',
        `decodeFile: maxDecodedBytes must be a positive integer, got ${String(maxDecodedBytes)}`,
      );
    }
    if (decoder !== 'auto' && decoder !== 'streaming' && decoder !== 'native') {
      throw new ConfigError(
        'ERR_DECODE_OPTIONS',
        `decodeFile: decoder must be 'auto', 'streaming' or 'native', got ${String(decoder)}`,
      );
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
    this.#maxDecodedBytes = maxDecodedBytes;
    this.#allowTruncated = options.allowTruncated === true;
    this.#decoder = decoder;
  }

  /** Frames waiting in the readable buffer. (Decoded audio not yet made into frames is the source, not a queue.) */
  get bufferedMs(): number {
    return readableQueuedMs(this);
  }

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const bytes = bytesOf(chunk, 'decodeFile', 'ERR_DECODE_INPUT_TYPE');
    if (bytes instanceof InvalidAudioError) {
      cb(bytes);
      return;
    }
    this.#inputBytes += bytes.byteLength;
    if (this.#inputBytes > this.#maxBytes) {
      cb(new BufferOverflowError('ERR_DECODE_TOO_LARGE', `decodeFile: input exceeds maxBytes (${this.#maxBytes})`));
      return;
    }
    this.#input.push(bytes);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const bytes = Buffer.concat(this.#input, this.#inputBytes);
    this.#input = [];
    this.#start(async () => bytes);
    cb();
  }

  override _read(): void {
    this.#readWaiting = true;
    if (this.format) return this.#pump();
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
      .then((bytes) => this.#open(bytes))
      .then(() => {
        if (this.#readWaiting && !this.destroyed) this.#pump();
      })
      .catch((err: unknown) => this.destroy(toError(err)));
  }

  async #load(source: DecodeFileSource): Promise<Uint8Array> {
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (source instanceof Uint8Array) return source;
    const size = (await stat(source)).size;
    if (size > this.#maxBytes) {
      throw new BufferOverflowError(
        'ERR_DECODE_TOO_LARGE',
        `decodeFile: ${String(source)} is ${size} bytes, over maxBytes (${this.#maxBytes})`,
      );
    }
    return readFile(source);
  }

  /** Check what the headers say, start the decoder, and announce the format. */
  async #open(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) throw new InvalidAudioError('ERR_DECODE_EMPTY', 'decodeFile: empty input');
    if (bytes.byteLength > this.#maxBytes) {
      throw new BufferOverflowError(
        'ERR_DECODE_TOO_LARGE',
        `decodeFile: input is ${bytes.byteLength} bytes, over maxBytes (${this.#maxBytes})`,
      );
    }
    const info = probeContainer(bytes);
    this.#refuseImpossible(info);
    const opened = info.kind === 'wav' ? await this.#openWav(bytes) : await this.#openCompressed(bytes, info);
    const blocks = opened.blocks;
    if (this.destroyed) return blocks.close();
    this.#blocks = blocks;
    if (blocks.length === 0) throw new InvalidAudioError('ERR_DECODE_EMPTY', 'decodeFile: the file holds no audio');
    const channels = this.#channels ?? blocks.channels;
    if (channels !== blocks.channels && blocks.channels !== 1 && channels !== 1) {
      throw new UnsupportedFormatError(
        'ERR_DECODE_CHANNELS',
        `decodeFile: cannot map ${blocks.channels} channels to ${channels} (use 1 or ${blocks.channels})`,
      );
    }
    let samplesPerChannel = blocks.length;
    if (blocks.rate !== this.sampleRate) {
      await loadSpeex();
      if (this.destroyed) return;
      this.#resampler = createResampler(channels, blocks.rate, this.sampleRate);
      this.#resampler.skipZeros(); // output aligned with input; after flush() the length is exactly:
      samplesPerChannel = Math.ceil((blocks.length * this.sampleRate) / blocks.rate);
    }
    this.format = {
      sampleRate: this.sampleRate,
      channels,
      sourceSampleRate: opened.decoder === 'native' ? sniffSampleRate(bytes) : blocks.rate,
      sourceChannels: blocks.channels,
      samplesPerChannel,
      durationMs: (samplesPerChannel * 1000) / this.sampleRate,
      decoder: opened.decoder,
    };
    this.emit('format', this.format);
  }

  /** What no decoder should be asked to do: an impossible rate or channel count, a cut file. */
  #refuseImpossible(info: ContainerInfo): void {
    if (info.sampleRate !== undefined && !isAudioSampleRate(info.sampleRate)) {
      throw new UnsupportedFormatError(
        'ERR_DECODE_RATE',
        `decodeFile: the ${info.kind} header declares ${info.sampleRate} Hz, outside the ${SAMPLE_RATE_RANGE.join('..')} Hz audio uses`,
      );
    }
    if (info.channels !== undefined && (info.channels < 1 || info.channels > MAX_SOURCE_CHANNELS)) {
      throw new UnsupportedFormatError(
        'ERR_DECODE_CHANNELS',
        `decodeFile: the ${info.kind} header declares ${info.channels} channels (1..${MAX_SOURCE_CHANNELS})`,
      );
    }
    if (info.truncated !== undefined && !this.#allowTruncated) {
      throw new InvalidAudioError(
        'ERR_DECODE_TRUNCATED',
        `decodeFile: the ${info.kind} file is cut short: ${info.truncated} (allowTruncated decodes what is there)`,
      );
    }
  }

  /** The native decoder holds the whole file decoded: refuse one whose headers declare more than the cap. */
  #refuseTooLong(info: ContainerInfo): void {
    const decodedBytes = (info.samplesPerChannel ?? 0) * (info.channels ?? 1) * 4;
    if (decodedBytes > this.#maxDecodedBytes) {
      throw new BufferOverflowError(
        'ERR_DECODE_TOO_LONG',
        `decodeFile: the ${info.kind} header declares ${info.samplesPerChannel} samples per channel, ${decodedBytes} bytes decoded, ` +
          `over maxDecodedBytes (${this.#maxDecodedBytes})`,
      );
    }
  }

  /** WAV streams through decodeWav: no decoded copy of the file is ever held. */
  async #openWav(bytes: Uint8Array): Promise<Opened> {
    const header = readWavHeader(bytes);
    const available = bytes.byteLength - (header?.dataOffset ?? bytes.byteLength);
    if (header?.dataBytes !== undefined && header.dataBytes > available && !this.#allowTruncated) {
      throw new InvalidAudioError(
        'ERR_DECODE_TRUNCATED',
        `decodeFile: the WAV file is cut short: its data chunk declares ${header.dataBytes} bytes, ${available} are there (allowTruncated decodes what is there)`,
      );
    }
    const wav = new DecodeWav({ allowTruncated: this.#allowTruncated });
    // fed in slices, so backpressure holds at most a slice of decoded frames
    const input = Readable.from(slices(bytes, WAV_SLICE_BYTES), { objectMode: false, highWaterMark: 1 });
    input.pipe(wav);
    const format = await new Promise<{ sampleRate: number; channels: number; blockAlign: number }>(
      (resolve, reject) => {
        wav.once('format', resolve);
        wav.once('error', reject);
      },
    );
    const frames = wav[Symbol.asyncIterator]() as AsyncIterator<{ data: Int16Array }>;
    const dataBytes = Math.min(header?.dataBytes ?? available, available);
    const blocks: BlockSource = {
      rate: format.sampleRate,
      channels: format.channels,
      length: Math.floor(dataBytes / format.blockAlign),
      read: async () => {
        const r = await frames.next();
        return r.done ? null : r.value.data;
      },
      close: () => {
        input.destroy();
        wav.destroy();
      },
    };
    return { blocks, decoder: 'wav' };
  }

  /** A streaming engine where one reads the format (see DecodeFileOptions.decoder), else node-web-audio-api. */
  async #openCompressed(bytes: Uint8Array, info: ContainerInfo): Promise<Opened> {
    const format = streamFormatOf(info);
    const length = declaredLength(info);
    if (this.#decoder !== 'native' && format !== undefined) {
      const installed = await engineInstalled(format);
      if (!installed && this.#decoder === 'auto' && !nativeDecoderInstalled()) {
        throw new UnsupportedFormatError(
          'ERR_DECODE_UNAVAILABLE',
          `decodeFile: ${FORMAT_NAMES[format]} decodes with the optional package ${ENGINE_PACKAGES[format]} ` +
            `(streamed) or ${NATIVE_DECODER_PACKAGE}, neither of which is installed — npm install ${ENGINE_PACKAGES[format]}`,
        );
      }
      if (installed || this.#decoder === 'streaming') {
        const blocks = await streamedBlocks(
          this.#reread(bytes),
          format,
          length,
          this.#allowTruncated,
          () => this.destroyed,
        );
        return { blocks, decoder: 'streaming' };
      }
    }
    if (this.#decoder === 'streaming') {
      throw new UnsupportedFormatError(
        'ERR_DECODE_UNSUPPORTED',
        `decodeFile: no streaming decoder reads this ${info.codec ?? info.kind} file` +
          `; decoder 'auto' or 'native' decodes it with ${NATIVE_DECODER_PACKAGE}`,
      );
    }
    this.#refuseTooLong(info);
    return { blocks: await this.#openNative(bytes, info), decoder: 'native' };
  }

  /** A path is read again from disk for a streamed decode, so the bytes read for the container walk can go. */
  #reread(bytes: Uint8Array): Reread {
    const source = this.#source;
    if (typeof source !== 'string' && !(source instanceof URL)) return sliced(bytes);
    return () => createReadStream(source, { highWaterMark: 64 * 1024 });
  }

  /** Compressed audio decodes in a child process, at the file's own rate when the header gives it. */
  async #openNative(bytes: Uint8Array, info: ContainerInfo): Promise<BlockSource> {
    const sourceRate = sniffSampleRate(bytes);
    const rate = sourceRate ?? this.sampleRate;
    const decoder = new NativeDecoder(bytes, { rate, maxDecodedBytes: this.#maxDecodedBytes });
    this.once('close', () => decoder.close());
    try {
      const { length, channels } = await decoder.format();
      if (channels < 1 || channels > MAX_SOURCE_CHANNELS) {
        throw new UnsupportedFormatError(
          'ERR_DECODE_CHANNELS',
          `decodeFile: the ${info.kind} file decodes to ${channels} channels`,
        );
      }
      return { rate, channels, length, read: () => decoder.read(), close: () => decoder.close() };
    } catch (err) {
      decoder.close();
      throw err;
    }
  }

  /** Make frames until one is pushed and the reader wants no more, or the audio ends. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    this.#fill()
      .then((frame) => {
        this.#pumping = false;
        if (this.destroyed) return;
        this.#readWaiting = false;
        if (frame === null) {
          this.#release();
          this.push(null);
        } else if (this.push(frame)) this.#pump();
      })
      .catch((err: unknown) => {
        this.#pumping = false;
        this.destroy(toError(err));
      });
  }

  /** The next frame, or null after the last. */
  async #fill(): Promise<ReturnType<typeof createFrame> | null> {
    const ch = this.format!.channels;
    const want = this.frameSamples * ch;
    while (this.#outLen < want && !this.#ended) {
      const block = await this.#blocks!.read();
      if (this.destroyed) return null;
      const r = this.#resampler;
      if (block === null) {
        this.#ended = true;
        if (r) this.#append(r.flush());
        this.#release();
      } else {
        const mapped = mapChannels(block, this.#blocks!.channels, ch);
        this.#append(r ? r.process(mapped) : mapped);
      }
    }
    if (this.#outLen === 0) return null;
    return createFrame(this.#take(Math.min(want, this.#outLen)), this.sampleRate, ch);
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
    for (let at = 0; at < n;) {
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

  /** Stop the decoder and drop the resampler: everything they made is in the output queue. */
  #release(): void {
    this.#blocks?.close();
    this.#resampler?.destroy();
    this.#resampler = undefined;
  }
}

function isSource(x: unknown): x is DecodeFileSource {
  return typeof x === 'string' || x instanceof URL || x instanceof Uint8Array || x instanceof ArrayBuffer;
}

/** Interleaved int16 as decoded, averaged to mono, or mono spread to `want` channels. */
function mapChannels(block: Int16Array, have: number, want: number): Int16Array {
  if (want === have) return block;
  const n = block.length / have;
  const out = new Int16Array(n * want);
  if (have === 1) {
    for (let i = 0; i < n; i++) out.fill(block[i]!, i * want, (i + 1) * want);
    return out;
  }
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < have; c++) sum += block[i * have + c]!;
    out[i] = Math.round(sum / have);
  }
  return out;
}

const MPEG_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * The sample rate a file's header declares, for the containers decodeAudioData reads: WAV (fmt), FLAC
 * (STREAMINFO), Ogg Vorbis / Ogg FLAC (identification header), MP3 (first frame header after any ID3v2 tag),
 * AAC ADTS (frame header), MP4 (the mp4a sample entry). Undefined when none matches or the rate is out of range.
 */
export function sniffSampleRate(bytes: Uint8Array): number | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rate = sniff(b);
  return isAudioSampleRate(rate) ? rate : undefined;
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
    if (version !== 1 && layer !== 0 && rateIndex !== 3 && b[at + 2]! >> 4 !== 15)
      return MPEG_RATES[version]![rateIndex];
  }
  return undefined;
}

/** Sample rate from a FLAC metadata block header at `at` that starts STREAMINFO. */
function flacRate(b: Buffer, at: number): number | undefined {
  if (b.length < at + 4 + 13 || (b[at]! & 0x7f) !== 0) return undefined;
  const s = at + 4 + 10;
  return (b[s]! << 12) | (b[s + 1]! << 4) | (b[s + 2]! >> 4);
}
