/**
 * decodeWav: WAV bytes in (Buffers of any size), rtc-node AudioFrames out (int16 interleaved, the file's own rate
 * and channel count). Our own streaming RIFF parser — the `wav` package throws past pipeline() on a size-0 chunk,
 * skips no pad bytes and ends silently on a truncated header (docs/decoding.md has the probes).
 *
 *   await pipeline(fs.createReadStream('a.wav'), decodeWav(), resample({ sampleRate: 48000, channels: 1 }), sink);
 *
 * Reads PCM 8/16/24/32-bit, IEEE float 32/64, µ-law, A-law, each plain or WAVE_FORMAT_EXTENSIBLE, RF64/BW64 and
 * big-endian RIFX. PCM whose bit depth is narrower than its container (blockAlign / channels) reads the container:
 * 12 bits in 2 bytes, 20 in 3 (left-justified, as the WAV spec says); 24 bits in 4 bytes with a plain header is
 * ALSA's S24_LE (what arecord writes): the low three bytes. Rates outside SAMPLE_RATE_RANGE and more than
 * MAX_CHANNELS channels are refused (ERR_WAV_RATE, ERR_WAV_UNSUPPORTED) before any sample.
 * Any chunks may come before or after `fmt ` and after `data`; non-audio chunks are skipped without buffering
 * (only `fmt `/`ds64` are buffered, capped at MAX_HEADER_CHUNK_BYTES). A data size of 0 or 0xFFFFFFFF (streamed
 * files) means "to the end of the input"; sizes ≥ 0x7FFFF000 (sox's and the `wav` package's streaming
 * placeholders) are an upper bound, not a promise. Every defect is an InvalidAudioError or
 * UnsupportedFormatError with an ERR_WAV_* code on the stream, after the audio decoded before it.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createFrame } from '../lib/frames.js';
import { InvalidAudioError, UnsupportedFormatError } from '../lib/errors.js';
import { isAudioSampleRate, MAX_CHANNELS, SAMPLE_RATE_RANGE, toInt16, type SampleEncoding } from '../lib/formats.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import { bytesOf, writableQueuedBytes } from '../lib/chunks.js';

export interface DecodeWavOptions {
  /**
   * Accept a file that ends before its data chunk's declared size (or inside the last sample frame, which is
   * then dropped): end cleanly and set `truncated`. Default false: the audio that is there is emitted, then
   * the stream errors with ERR_WAV_TRUNCATED.
   */
  allowTruncated?: boolean;
}

/** What the `format` event reports, before the first frame. */
export interface WavFormatInfo {
  encoding: 'pcm' | 'float' | 'mulaw' | 'alaw';
  sampleRate: number;
  channels: number;
  /** Bits per sample as stored (the container size for WAVE_FORMAT_EXTENSIBLE). */
  bitsPerSample: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** The data chunk's declared size; undefined when it is a streaming placeholder (0, ≥ 0x7FFFF000). */
  dataBytes: number | undefined;
}

/** The largest `fmt ` or `ds64` chunk we buffer; a bigger one is an ERR_WAV_CHUNK_SIZE, not a big allocation. */
export const MAX_HEADER_CHUNK_BYTES = 4096;

/** Data sizes at or above this are streaming placeholders (sox writes 0x7FFFF000, the `wav` Writer 2^32 − 101). */
const PLACEHOLDER_SIZE = 0x7ffff000;
/** Readable side: frames held before backpressure stops the writer. */
const READABLE_HWM = 1;
/** Writable side (object mode, see the constructor): input chunks queued before write() returns false. */
const WRITABLE_HWM = 1;

/** int16 samples in memory are little-endian bytes, as in a WAV file (true on x86 and ARM). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const EMPTY = Buffer.alloc(0);

/** The 14 bytes that follow the format tag in every KSDATAFORMAT_SUBTYPE_* GUID (…-0000-0010-8000-00AA00389B71). */
const KS_GUID_TAIL = Buffer.from([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);

/** Names for format tags people meet in the wild, for error messages. */
const TAG_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x0092: 'Dolby AC-3 SPDIF',
  0x00ff: 'AAC',
  0x0161: 'Windows Media Audio',
  0x2000: 'Dolby AC-3',
  0xf1ac: 'FLAC',
};

type Phase = 'magic' | 'form' | 'chunkHeader' | 'chunkBody' | 'skip' | 'data' | 'done';

interface ParsedFmt {
  info: Omit<WavFormatInfo, 'dataBytes'>;
  sampleEncoding: SampleEncoding;
  /** Rewrites whole sample frames into the layout `sampleEncoding` reads (RIFX, 24-in-32). */
  repack?: (b: Buffer) => Buffer;
}

export function decodeWav(options?: DecodeWavOptions): DecodeWav {
  return new DecodeWav(options);
}

export class DecodeWav extends Transform implements HoldsAudio {
  /** The stream's format, once the data chunk starts (also emitted as the `format` event). */
  format: WavFormatInfo | undefined;
  /** True when `allowTruncated` let a short file end cleanly. */
  truncated = false;

  readonly #allowTruncated: boolean;
  #phase: Phase = 'magic';
  /** Header bytes collected so far for the current fixed-size phase, and how many it needs. */
  #acc: Buffer[] = [];
  #accLen = 0;
  #need = 4;
  /** Absolute offset of the next input byte (for messages and the RIFF bound). */
  #pos = 0;
  /** End of the RIFF form when its declared size is trustworthy. */
  #riffEnd: number | undefined;
  #rf64 = false;
  /** RIFX: every number in the header and every sample is big-endian. */
  #bigEndian = false;
  #ds64DataSize: number | undefined;
  #chunkId = '';
  #chunkSize = 0;
  #chunkStart = 0;
  #skipLeft = 0;
  /** The current chunk is odd-sized: a pad byte follows it. */
  #pad = false;
  /** Skipping exactly that pad byte (which may be missing at the very end of the file). */
  #skippingPad = false;
  #fmt: ParsedFmt | undefined;
  #seenData = false;
  #dataLeft = 0;
  #dataSizeKnown = false;
  /** A partial sample frame carried to the next input chunk. */
  #carry: Buffer = EMPTY;
  /** Samples decoded from the current input chunk, emitted as one frame. */
  #decoded: Int16Array | undefined;
  /** An error waiting for the readable side to drain, so the audio before it reaches the consumer. */
  #pending: { err: Error; cb: TransformCallback } | undefined;

  constructor(options: DecodeWavOptions = {}) {
    // The writable side is in object mode so that a non-bytes chunk reaches _transform and becomes a stream
    // error: in byte mode Node throws ERR_INVALID_ARG_TYPE out of write(), past pipeline() (measured).
    super({
      readableObjectMode: true,
      writableObjectMode: true,
      readableHighWaterMark: READABLE_HWM,
      writableHighWaterMark: WRITABLE_HWM,
    });
    this.#allowTruncated = options.allowTruncated === true;
  }

  /** Audio held here: frames in the readable buffer plus input bytes not yet decoded (once the format is known). */
  get bufferedMs(): number {
    const bytes = this.#carry.length + writableQueuedBytes(this);
    const f = this.format;
    return readableQueuedMs(this) + (f ? (bytes / f.blockAlign / f.sampleRate) * 1000 : 0);
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    const bytes = bytesOf(chunk, 'decodeWav', 'ERR_WAV_INPUT_TYPE');
    if (bytes instanceof InvalidAudioError) {
      this.#fail(bytes, cb);
      return;
    }
    try {
      this.#consume(bytes);
    } catch (err) {
      this.#emitDecoded();
      this.#fail(err as Error, cb);
      return;
    }
    this.#emitDecoded();
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const err = this.#endOfInput();
    if (err) this.#fail(err, cb);
    else cb();
  }

  override _read(size: number): void {
    super._read(size);
    // Readable.read() calls _read just before it takes the frame it returns, and with a highWaterMark of 1 it
    // only calls it when that read empties the buffer: on the next tick the frames before the error are out.
    if (this.#pending) process.nextTick(() => this.#deliverPending());
  }

  /** Error the stream once the frames decoded before `err` have left the readable buffer (destroy drops them). */
  #fail(err: Error, cb: TransformCallback): void {
    this.#pending = { err, cb };
    if (this.readableLength === 0) this.#deliverPending();
  }

  #deliverPending(): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.cb(p.err);
  }

  #emitDecoded(): void {
    const samples = this.#decoded;
    if (!samples) return;
    this.#decoded = undefined;
    this.push(createFrame(samples, this.format!.sampleRate, this.format!.channels));
  }

  #consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      const rest = buf.length - i;
      switch (this.#phase) {
        case 'magic':
        case 'form':
        case 'chunkHeader':
        case 'chunkBody': {
          const take = Math.min(this.#need - this.#accLen, rest);
          // Copy: header bytes outlive this call and the writer owns its buffer.
          this.#acc.push(Buffer.from(buf.subarray(i, i + take)));
          this.#accLen += take;
          i += take;
          this.#pos += take;
          if (this.#accLen === this.#need) {
            const bytes = Buffer.concat(this.#acc, this.#accLen);
            this.#acc = [];
            this.#accLen = 0;
            this.#onHeaderBytes(bytes);
          }
          break;
        }
        case 'skip': {
          const take = Math.min(this.#skipLeft, rest);
          this.#skipLeft -= take;
          i += take;
          this.#pos += take;
          if (this.#skipLeft === 0) {
            if (this.#skippingPad) this.#nextChunk();
            else this.#chunkDone();
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.#dataLeft, rest);
          this.#audio(buf.subarray(i, i + take));
          this.#dataLeft -= take;
          i += take;
          this.#pos += take;
          if (this.#dataLeft === 0) this.#chunkDone();
          break;
        }
        case 'done':
          this.#pos += rest;
          i = buf.length;
          break;
      }
    }
  }

  #expect(phase: Phase, need: number): void {
    this.#phase = phase;
    this.#need = need;
  }

  #onHeaderBytes(b: Buffer): void {
    switch (this.#phase) {
      case 'magic':
        return this.#onMagic(b.toString('latin1'));
      case 'form':
        return this.#onForm(b);
      case 'chunkHeader':
        return this.#onChunkHeader(b);
      default:
        return this.#onChunkBody(b);
    }
  }

  /** A 32-bit size or field in the file's byte order (RIFX is big-endian). */
  #u32(b: Buffer, at: number): number {
    return this.#bigEndian ? b.readUInt32BE(at) : b.readUInt32LE(at);
  }

  #onMagic(magic: string): void {
    if (magic !== 'RIFF' && magic !== 'RIFX' && magic !== 'RF64' && magic !== 'BW64') {
      throw new InvalidAudioError(
        'ERR_WAV_NOT_RIFF',
        `not a WAV file: starts with ${printable(magic)}, expected "RIFF"${hint(magic)}`,
      );
    }
    this.#rf64 = magic === 'RF64' || magic === 'BW64';
    this.#bigEndian = magic === 'RIFX';
    this.#expect('form', 8);
  }

  #onForm(b: Buffer): void {
    const form = b.toString('latin1', 4, 8);
    if (form !== 'WAVE') {
      throw new InvalidAudioError('ERR_WAV_NOT_WAVE', `RIFF form type is ${printable(form)}, expected "WAVE"`);
    }
    const size = this.#u32(b, 0);
    if (!this.#rf64 && size >= 4 && size < PLACEHOLDER_SIZE) this.#riffEnd = 8 + size;
    this.#nextChunk();
  }

  #nextChunk(): void {
    this.#skippingPad = false;
    if (this.#seenData && this.#riffEnd !== undefined && this.#pos >= this.#riffEnd) {
      // Past the end of a RIFF form whose size we trust: whatever follows is not part of the file.
      this.#phase = 'done';
      return;
    }
    this.#expect('chunkHeader', 8);
  }

  #onChunkHeader(b: Buffer): void {
    const id = b.toString('latin1', 0, 4);
    const size = this.#u32(b, 4);
    this.#chunkId = id;
    this.#chunkSize = size;
    this.#chunkStart = this.#pos - 8;
    this.#pad = (size & 1) === 1;
    if (!/^[\x20-\x7e]{4}$/.test(id)) {
      throw new InvalidAudioError(
        'ERR_WAV_CHUNK_ID',
        `chunk id at offset ${this.#chunkStart} is not ASCII (${printable(id)}): not a chunk boundary`,
      );
    }
    if (this.#rf64 && this.#ds64DataSize === undefined && id !== 'ds64') {
      throw new InvalidAudioError(
        'ERR_WAV_BAD_DS64',
        `RF64 file: the first chunk must be "ds64", got ${printable(id)}`,
      );
    }
    if (id === 'data') return this.#onDataHeader(size);
    if (this.#riffEnd !== undefined && this.#chunkStart + 8 + size > this.#riffEnd) {
      throw new InvalidAudioError(
        'ERR_WAV_CHUNK_SIZE',
        `"${id}" chunk at offset ${this.#chunkStart} declares ${size} bytes, past the RIFF end at ${this.#riffEnd}`,
      );
    }
    if (id === 'fmt ') {
      if (this.#fmt)
        throw new InvalidAudioError('ERR_WAV_DUPLICATE_CHUNK', `second "fmt " chunk at offset ${this.#chunkStart}`);
      if (size < 16)
        throw new InvalidAudioError('ERR_WAV_BAD_FMT', `"fmt " chunk is ${size} bytes, at least 16 needed`);
      return this.#bufferChunk(size);
    }
    if (id === 'ds64' && this.#rf64 && this.#ds64DataSize === undefined) {
      if (size < 28)
        throw new InvalidAudioError('ERR_WAV_BAD_DS64', `"ds64" chunk is ${size} bytes, at least 28 needed`);
      return this.#bufferChunk(size);
    }
    this.#skip(size);
  }

  #bufferChunk(size: number): void {
    if (size > MAX_HEADER_CHUNK_BYTES) {
      throw new InvalidAudioError(
        'ERR_WAV_CHUNK_SIZE',
        `"${this.#chunkId}" chunk at offset ${this.#chunkStart} declares ${size} bytes (limit ${MAX_HEADER_CHUNK_BYTES})`,
      );
    }
    this.#expect('chunkBody', size);
  }

  #skip(n: number): void {
    if (n === 0) return this.#chunkDone();
    this.#phase = 'skip';
    this.#skipLeft = n;
  }

  /** The current chunk's body is consumed: skip its pad byte, if any, then read the next chunk header. */
  #chunkDone(): void {
    if (!this.#pad) return this.#nextChunk();
    this.#pad = false;
    this.#skippingPad = true;
    this.#phase = 'skip';
    this.#skipLeft = 1;
  }

  #onChunkBody(b: Buffer): void {
    if (this.#chunkId === 'fmt ') this.#fmt = parseFmt(b, this.#bigEndian);
    else {
      const size = b.readBigUInt64LE(8);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new UnsupportedFormatError(
          'ERR_WAV_CHUNK_SIZE',
          `RF64 "ds64" declares a data size of ${size} bytes, over 2^53 − 1`,
        );
      }
      this.#ds64DataSize = Number(size);
    }
    this.#chunkDone();
  }

  #onDataHeader(size: number): void {
    const fmt = this.#fmt;
    if (!fmt)
      throw new InvalidAudioError(
        'ERR_WAV_DATA_BEFORE_FMT',
        `"data" chunk at offset ${this.#chunkStart} comes before any "fmt " chunk`,
      );
    if (this.#seenData)
      throw new InvalidAudioError('ERR_WAV_DUPLICATE_CHUNK', `second "data" chunk at offset ${this.#chunkStart}`);
    const fromDs64 = this.#rf64 && size === 0xffffffff;
    const declared = fromDs64 ? this.#ds64DataSize! : size;
    const open = declared === 0 || (!fromDs64 && size === 0xffffffff);
    this.#dataSizeKnown = !open && (fromDs64 || declared < PLACEHOLDER_SIZE);
    this.#dataLeft = open ? Infinity : declared;
    this.#chunkSize = declared;
    this.#pad = declared % 2 === 1;
    const { blockAlign } = fmt.info;
    if (this.#dataSizeKnown && declared % blockAlign !== 0) {
      throw new InvalidAudioError(
        'ERR_WAV_CHUNK_SIZE',
        `"data" chunk declares ${declared} bytes, not a whole number of ${blockAlign}-byte sample frames`,
      );
    }
    this.#seenData = true;
    this.format = { ...fmt.info, dataBytes: this.#dataSizeKnown ? declared : undefined };
    this.emit('format', this.format);
    this.#phase = 'data';
  }

  /**
   * Decode the whole sample frames in carry + bytes; keep the partial one. No concatenation of the chunk: the
   * sample frame split across chunks is decoded on its own, and 16-bit little-endian PCM on a little-endian
   * machine is one byte copy into the frame's own buffer.
   */
  #audio(bytes: Buffer): void {
    const { sampleEncoding, info } = this.#fmt!;
    const { blockAlign, channels } = info;
    const carried = this.#carry.length;
    const total = carried + bytes.length;
    const whole = total - (total % blockAlign);
    if (whole === 0) {
      this.#carry = Buffer.concat([this.#carry, bytes]);
      return;
    }
    const rest = bytes.subarray(whole - carried); // the next partial sample frame (copied: the writer owns bytes)
    const out = new Int16Array((whole / blockAlign) * channels);
    const repack = this.#fmt!.repack;
    if (repack) {
      toInt16(sampleEncoding, repack(Buffer.concat([this.#carry, bytes.subarray(0, whole - carried)])), out);
    } else if (sampleEncoding === 's16le' && LITTLE_ENDIAN) {
      const o8 = new Uint8Array(out.buffer);
      o8.set(this.#carry);
      o8.set(bytes.subarray(0, whole - carried), carried);
    } else {
      let from = 0;
      let to = 0;
      if (carried > 0) {
        from = blockAlign - carried;
        toInt16(sampleEncoding, Buffer.concat([this.#carry, bytes.subarray(0, from)]), out.subarray(0, channels));
        to = channels;
      }
      toInt16(sampleEncoding, bytes.subarray(from), out.subarray(to));
    }
    this.#carry = rest.length > 0 ? Buffer.from(rest) : EMPTY;
    this.#decoded = out;
  }

  /** The error (if any) for input ending here. */
  #endOfInput(): Error | undefined {
    const at = `at byte ${this.#pos}`;
    switch (this.#phase) {
      case 'magic': {
        if (this.#pos === 0) return new InvalidAudioError('ERR_WAV_EMPTY', 'empty input: no WAV header');
        const got = Buffer.concat(this.#acc).toString('latin1');
        if (!['RIFF', 'RF64', 'BW64', 'RIFX'].some((m) => m.startsWith(got))) {
          return new InvalidAudioError(
            'ERR_WAV_NOT_RIFF',
            `not a WAV file: ${this.#pos} bytes starting with ${printable(got)}`,
          );
        }
        return truncated(`input ended inside the RIFF header ${at}`);
      }
      case 'form':
        return truncated(`input ended inside the RIFF header ${at}`);
      case 'chunkHeader':
        if (this.#accLen > 0) return truncated(`input ended ${at} inside a chunk header (${this.#accLen} of 8 bytes)`);
        return this.#endAtBoundary();
      case 'chunkBody':
        return truncated(
          `input ended ${at} inside the "${this.#chunkId}" chunk (${this.#accLen} of ${this.#chunkSize} bytes)`,
        );
      case 'skip':
        if (this.#skippingPad) return this.#endAtBoundary();
        if (this.#seenData && this.#allowTruncated) return this.#acceptTruncation();
        return truncated(
          `input ended ${at} inside the "${this.#chunkId}" chunk at offset ${this.#chunkStart} (declared ${this.#chunkSize} bytes, ${this.#skipLeft} missing)`,
        );
      case 'data': {
        const partial = this.#carry.length;
        const missing = this.#dataSizeKnown ? this.#dataLeft : 0;
        if (partial === 0 && missing === 0) return undefined;
        if (this.#allowTruncated) return this.#acceptTruncation();
        return partial > 0 && missing === 0
          ? truncated(`input ended ${at} inside a sample frame (${partial} of ${this.#fmt!.info.blockAlign} bytes)`)
          : truncated(`input ended ${at}: the "data" chunk declares ${this.#chunkSize} bytes, ${missing} are missing`);
      }
      case 'done':
        return undefined;
    }
  }

  #endAtBoundary(): Error | undefined {
    if (this.#seenData) return undefined;
    if (this.#riffEnd !== undefined && this.#pos < this.#riffEnd) {
      return truncated(
        `input ended at byte ${this.#pos}, before any audio; the RIFF form declares ${this.#riffEnd} bytes`,
      );
    }
    return this.#fmt
      ? new InvalidAudioError('ERR_WAV_NO_DATA', `no "data" chunk in ${this.#pos} bytes`)
      : new InvalidAudioError('ERR_WAV_NO_FMT', `no "fmt " chunk in ${this.#pos} bytes`);
  }

  #acceptTruncation(): undefined {
    this.truncated = true;
    this.#carry = EMPTY;
    return undefined;
  }
}

function parseFmt(b: Buffer, bigEndian: boolean): ParsedFmt {
  const u16 = (at: number) => (bigEndian ? b.readUInt16BE(at) : b.readUInt16LE(at));
  const tag = u16(0);
  const channels = u16(2);
  const sampleRate = bigEndian ? b.readUInt32BE(4) : b.readUInt32LE(4);
  const blockAlign = u16(12);
  const bits = u16(14);
  if (channels === 0) throw new InvalidAudioError('ERR_WAV_BAD_FMT', '"fmt " declares 0 channels');
  if (channels > MAX_CHANNELS)
    throw new UnsupportedFormatError(
      'ERR_WAV_UNSUPPORTED',
      `"fmt " declares ${channels} channels (1..${MAX_CHANNELS})`,
    );
  if (sampleRate === 0) throw new InvalidAudioError('ERR_WAV_BAD_FMT', '"fmt " declares a sample rate of 0 Hz');
  if (!isAudioSampleRate(sampleRate)) {
    throw new UnsupportedFormatError(
      'ERR_WAV_RATE',
      `"fmt " declares ${sampleRate} Hz, outside the ${SAMPLE_RATE_RANGE.join('..')} Hz audio uses`,
    );
  }
  let sub = tag;
  if (tag === 0xfffe) {
    const cbSize = b.length >= 18 ? u16(16) : 0;
    if (b.length < 40 || cbSize < 22) {
      throw new InvalidAudioError(
        'ERR_WAV_BAD_FMT',
        `WAVE_FORMAT_EXTENSIBLE needs a 40-byte "fmt " chunk, got ${b.length} (cbSize ${cbSize})`,
      );
    }
    const validBits = u16(18);
    if (validBits > bits) {
      throw new InvalidAudioError('ERR_WAV_BAD_FMT', `${validBits} valid bits do not fit a ${bits}-bit container`);
    }
    const g = subFormatGuid(b.subarray(24, 40), bigEndian);
    if (!g)
      throw new UnsupportedFormatError(
        'ERR_WAV_UNSUPPORTED',
        `unknown WAVE_FORMAT_EXTENSIBLE SubFormat ${guid(b.subarray(24, 40))}`,
      );
    sub = g.readUInt16LE(0);
  }
  // The container (bytes per sample, from blockAlign) may be wider than the bit depth: 12 bits in 2 bytes,
  // 20 in 3 (left-justified, as the WAV spec says: read the container), or 24 in 4 as ALSA's S24_LE that
  // arecord writes with a plain header (the low three bytes).
  const container = blockAlign / channels;
  const plainFit = blockAlign === channels * (bits / 8);
  const widerPcm =
    sub === 0x0001 &&
    bits > 0 &&
    Number.isInteger(container) &&
    container >= 1 &&
    container <= 4 &&
    bits < container * 8;
  const lowJustified24 = widerPcm && bits === 24 && container === 4 && tag === 0x0001;
  const { encoding, sampleEncoding } = sampleFormat(sub, widerPcm ? (lowJustified24 ? 24 : container * 8) : bits);
  if (!plainFit && !widerPcm) {
    throw new InvalidAudioError(
      'ERR_WAV_BAD_FMT',
      `block align is ${blockAlign}, but ${channels} channel(s) × ${bits} bits need ${channels * Math.ceil(bits / 8)}`,
    );
  }
  const containerBytes = plainFit ? bits / 8 : container;
  const repack = repacker(bigEndian ? containerBytes : 0, lowJustified24);
  return {
    info: { encoding, sampleRate, channels, bitsPerSample: bits, blockAlign },
    sampleEncoding,
    ...(repack ? { repack } : {}),
  };
}

/**
 * The SubFormat GUID in little-endian field order, if it is a KSDATAFORMAT_SUBTYPE_*. In RIFX the numeric fields
 * are big-endian: swapped field by field, or (as sox writes it) the format tag as a big-endian u16 first.
 */
function subFormatGuid(raw: Buffer, bigEndian: boolean): Buffer | undefined {
  const candidates = [raw];
  if (bigEndian) {
    const fields = Buffer.from(raw);
    fields.subarray(0, 4).swap32();
    fields.subarray(4, 6).swap16();
    fields.subarray(6, 8).swap16();
    const sox = Buffer.from(raw);
    sox.writeUInt16LE(raw.readUInt16BE(0), 0);
    candidates.splice(0, 1, fields, sox);
  }
  return candidates.find((g) => g.subarray(2).equals(KS_GUID_TAIL));
}

/**
 * Bytes of whole sample frames → the layout toInt16 reads: big-endian containers swapped (RIFX), 24-in-32
 * containers cut to their low three bytes. Undefined when the bytes are read as they are.
 */
function repacker(swapBytes: number, lowJustified24: boolean): ((b: Buffer) => Buffer) | undefined {
  if (swapBytes <= 1 && !lowJustified24) return undefined;
  return (b) => {
    let out = b;
    if (swapBytes === 2) out = Buffer.from(b).swap16();
    else if (swapBytes === 4) out = Buffer.from(b).swap32();
    else if (swapBytes === 8) out = Buffer.from(b).swap64();
    else if (swapBytes === 3) {
      out = Buffer.from(b);
      for (let i = 0; i + 2 < out.length; i += 3) [out[i], out[i + 2]] = [out[i + 2]!, out[i]!];
    }
    if (!lowJustified24) return out;
    const packed = Buffer.allocUnsafe((out.length / 4) * 3);
    for (let i = 0, j = 0; i < out.length; i += 4, j += 3) {
      packed[j] = out[i]!;
      packed[j + 1] = out[i + 1]!;
      packed[j + 2] = out[i + 2]!;
    }
    return packed;
  };
}

function sampleFormat(
  tag: number,
  bits: number,
): { encoding: WavFormatInfo['encoding']; sampleEncoding: SampleEncoding } {
  const unsupported = (what: string) => new UnsupportedFormatError('ERR_WAV_UNSUPPORTED', what);
  const noBits = () => new InvalidAudioError('ERR_WAV_BAD_FMT', '"fmt " declares 0 bits per sample');
  switch (tag) {
    case 0x0001: {
      const enc = ({ 8: 'u8', 16: 's16le', 24: 's24le', 32: 's32le' } as const)[bits as 8];
      if (!enc) throw bits === 0 ? noBits() : unsupported(`${bits}-bit PCM is not supported (8, 16, 24 or 32)`);
      return { encoding: 'pcm', sampleEncoding: enc };
    }
    case 0x0003: {
      const enc = ({ 32: 'f32le', 64: 'f64le' } as const)[bits as 32];
      if (!enc) throw bits === 0 ? noBits() : unsupported(`${bits}-bit float is not supported (32 or 64)`);
      return { encoding: 'float', sampleEncoding: enc };
    }
    case 0x0006:
    case 0x0007: {
      const encoding = tag === 0x0006 ? 'alaw' : 'mulaw';
      if (bits !== 8)
        throw new InvalidAudioError('ERR_WAV_BAD_FMT', `${encoding} must be 8 bits per sample, got ${bits}`);
      return { encoding, sampleEncoding: encoding };
    }
    default: {
      const name = TAG_NAMES[tag];
      throw unsupported(
        `WAV format tag 0x${tag.toString(16).padStart(4, '0')}${name ? ` (${name})` : ''} is not supported`,
      );
    }
  }
}

function truncated(message: string): InvalidAudioError {
  return new InvalidAudioError('ERR_WAV_TRUNCATED', message);
}

function printable(s: string): string {
  return JSON.stringify(s.replace(/[^\x20-\x7e]/g, '?'));
}

function hint(magic: string): string {
  const compressed = ['OggS', 'fLaC', 'ID3\x03', 'ID3\x04'].includes(magic) || /^\xff[\xe0-\xff]/.test(magic);
  return compressed ? ' (compressed audio? use decodeFile)' : '';
}

function guid(b: Buffer): string {
  const h = b.toString('hex');
  const le = (s: string) => s.match(/../g)!.reverse().join('');
  return `${le(h.slice(0, 8))}-${le(h.slice(8, 12))}-${le(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`;
}
