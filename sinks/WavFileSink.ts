/**
 * WavFileSink — a Writable of AudioFrames into a 16-bit PCM WAV file.
 *
 * The 44-byte header is written here, not by the `wav` package's FileWriter: that one pipes into an
 * fs.WriteStream whose errors (a missing directory, EACCES) it does not forward — an unhandled 'error' that
 * kills the process — and it patches the sizes after 'finish', so 'finish' comes before the file is valid
 * (only its own 'done' event says so). Here the file is opened in `_construct` (open errors are stream
 * errors), data is written after a placeholder header, and the real RIFF/data sizes are written in `_final`,
 * before 'finish'. A destroyed sink also patches the sizes, so an interrupted recording is still a valid file.
 *
 * The format is the `sampleRate`/`channels` options, or else the first frame's; every frame must match it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { AudioPipelineError, ConfigError, toError } from '../lib/errors.js';
import { checkFrame, frameMs, type AudioFrame } from '../lib/frames.js';
import { writableQueuedMs } from '../lib/stats.js';

export interface WavFileSinkOptions {
  path: string;
  /** Expected rate; default: the first frame's (48000 if no frame ever comes). */
  sampleRate?: number;
  /** Expected channels; default: the first frame's (1 if no frame ever comes). */
  channels?: number;
  /** Frames buffered before write() returns false. Default 2. */
  highWaterMark?: number;
}

const HEADER_BYTES = 44;
// RIFF sizes are 32-bit: the data chunk can hold at most this many bytes
const MAX_DATA_BYTES = 0xffffffff - (HEADER_BYTES - 8);

export function wavFileSink(pathOrOptions: string | WavFileSinkOptions): WavFileSink {
  return new WavFileSink(pathOrOptions);
}

export class WavFileSink extends Writable {
  readonly path: string;
  #sampleRate: number | undefined;
  #channels: number | undefined;
  #file: FileHandle | undefined;
  #dataBytes = 0;
  #writing: AudioFrame | undefined;

  constructor(pathOrOptions: string | WavFileSinkOptions) {
    const opts = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
    if (typeof opts?.path !== 'string' || opts.path === '') {
      throw new ConfigError('ERR_WAV_SINK_OPTIONS', 'WavFileSink needs a file path');
    }
    for (const [name, v] of [
      ['sampleRate', opts.sampleRate],
      ['channels', opts.channels],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
        throw new ConfigError('ERR_WAV_SINK_OPTIONS', `${name} must be a positive integer, got ${v}`);
      }
    }
    const highWaterMark = opts.highWaterMark ?? 2;
    if (!Number.isInteger(highWaterMark) || highWaterMark < 0) {
      throw new ConfigError(
        'ERR_WAV_SINK_OPTIONS',
        `highWaterMark must be a non-negative integer, got ${highWaterMark}`,
      );
    }
    super({ objectMode: true, highWaterMark });
    this.path = opts.path;
    this.#sampleRate = opts.sampleRate;
    this.#channels = opts.channels;
  }

  /** ms of audio not yet handed to the file system: the Writable buffer plus the frame being written. */
  get bufferedMs(): number {
    return writableQueuedMs(this) + (this.#writing ? frameMs(this.#writing) : 0);
  }

  /** Audio written so far, ms. */
  get writtenMs(): number {
    const blockAlign = 2 * (this.#channels ?? 1);
    return (this.#dataBytes / blockAlign / (this.#sampleRate ?? 48000)) * 1000;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    void (async () => {
      this.#file = await open(this.path, 'w');
      await this.#file.write(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
    })().then(
      () => cb(),
      (err: unknown) => cb(toError(err)),
    );
  }

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let frame: AudioFrame;
    try {
      // the first frame fixes the format unless the options did
      const first = chunk as Partial<AudioFrame> | null;
      frame = checkFrame(
        chunk,
        this.#sampleRate ?? first?.sampleRate ?? 0,
        this.#channels ?? first?.channels ?? 0,
        'WavFileSink',
      );
    } catch (err) {
      cb(toError(err));
      return;
    }
    this.#sampleRate = frame.sampleRate;
    this.#channels = frame.channels;
    const bytes = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    if (this.#dataBytes + bytes.length > MAX_DATA_BYTES) {
      cb(new AudioPipelineError('ERR_WAV_TOO_LARGE', `a WAV file holds at most ${MAX_DATA_BYTES} bytes of audio`));
      return;
    }
    this.#writing = frame;
    // int16 samples are written in host byte order: little-endian on every platform Node ships for
    this.#file!.write(bytes, 0, bytes.length, HEADER_BYTES + this.#dataBytes).then(
      () => {
        this.#writing = undefined;
        this.#dataBytes += bytes.length;
        cb();
      },
      (err: unknown) => {
        this.#writing = undefined;
        cb(toError(err));
      },
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#close().then(
      () => cb(),
      (err: unknown) => cb(toError(err)),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#close().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? toError(closeErr)),
    );
  }

  /** Write the real sizes into the header and close the file. Runs once. */
  async #close(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      const header = wavHeader(this.#sampleRate ?? 48000, this.#channels ?? 1, this.#dataBytes);
      await file.write(header, 0, HEADER_BYTES, 0);
    } finally {
      await file.close();
    }
  }
}

/** The canonical 44-byte header of a 16-bit PCM WAV file. */
function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  const blockAlign = channels * 2;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
