/**
 * NativeDecoder: decodes a compressed file in a child process (lib/decode/nativeDecodeChild.ts) and hands the
 * audio back a block at a time, on request. Why a process: see the child's header. What it costs: one process
 * start (~60 ms here) per file; what it buys: `close()` stops the decode and frees its memory at once, and a file
 * that decodes larger than the cap ends in BufferOverflowError instead of exhausting the host.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BufferOverflowError, InvalidAudioError, UnsupportedFormatError } from '../errors.js';

/** Exit code of the child when its resident memory passed the cap. */
const EXIT_MEMORY = 3;
/** Resident memory of the child before it decodes anything (Node + the addon, measured 55–75 MB), with room. */
const BASE_RSS = 160 * 1024 * 1024;
/**
 * Peak resident memory over the decoded float audio while symphonia decodes: measured 2.1× (FLAC) and 2.5× (MP3)
 * for 20 minutes of stereo (its buffers grow by doubling, and the planes are copied out at the end).
 */
const DECODE_PEAK_FACTOR = 3;

export interface NativeFormat {
  /** Samples per channel decoded. */
  length: number;
  channels: number;
}

export interface NativeDecodeOptions {
  /** The rate to decode at: the file's own when known (decodeAudioData resamples poorly). */
  rate: number;
  /** Bytes the decoded audio (float planes) may take; the child is killed past this plus its own footprint. */
  maxDecodedBytes: number;
}

type Message = { format: NativeFormat } | { block: Int16Array } | { end: true } | { error: string };

/** The child's entry: its .js beside this file when built, its .ts when this file runs from source (tests). */
function childPath(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? './nativeDecodeChild.ts' : './nativeDecodeChild.js', here));
}

/** The package that decodes compressed audio: an optional peer dependency (41 MB), installed by who needs it. */
export const NATIVE_DECODER_PACKAGE = 'node-web-audio-api';

/** Whether node-web-audio-api resolves from here. */
export function nativeDecoderInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(NATIVE_DECODER_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** Its absence is a clear error here, not a crash in the child. */
function checkDecoderInstalled(): void {
  try {
    createRequire(import.meta.url).resolve(NATIVE_DECODER_PACKAGE);
  } catch (err) {
    throw new UnsupportedFormatError(
      'ERR_DECODE_UNAVAILABLE',
      `decodeFile: MP3, FLAC, Ogg and AAC/M4A decode with the optional package ${NATIVE_DECODER_PACKAGE}, which is ` +
        `not installed — npm install ${NATIVE_DECODER_PACKAGE} (WAV needs nothing more)`,
      { cause: err },
    );
  }
}

export class NativeDecoder {
  readonly #child: ChildProcess;
  readonly #maxDecodedBytes: number;
  #waiting: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  #done = false;

  constructor(bytes: Uint8Array, { rate, maxDecodedBytes }: NativeDecodeOptions) {
    checkDecoderInstalled();
    this.#maxDecodedBytes = maxDecodedBytes;
    this.#child = fork(childPath(), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // the parent's loader flags (a TypeScript loader in tests) but never its inspector port
      execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')),
    });
    this.#child.stderr!.resume();
    this.#child.on('message', (m: Message) => this.#settle(m));
    this.#child.on('error', (err) =>
      this.#fail(
        new InvalidAudioError('ERR_DECODE_FAILED', `decodeFile: the decoder process failed: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    this.#child.on('exit', (code, signal) => this.#exited(code, signal));
    this.#child.send({ bytes, rate, maxRss: BASE_RSS + 2 * bytes.byteLength + DECODE_PEAK_FACTOR * maxDecodedBytes });
  }

  /** The decoded length and channels, once the whole file is decoded. */
  async format(): Promise<NativeFormat> {
    const m = await this.#next();
    if ('format' in m) return m.format;
    throw this.#unexpected(m);
  }

  /** The next block of interleaved int16 samples, or null after the last. */
  async read(): Promise<Int16Array | null> {
    if (this.#done) return null;
    this.#child.send({ more: true });
    const m = await this.#next();
    if ('block' in m) return m.block;
    if ('end' in m) {
      this.close();
      return null;
    }
    throw this.#unexpected(m);
  }

  /** Stop decoding and free the child's memory now. */
  close(): void {
    this.#done = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  #next(): Promise<Message> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  #settle(m: Message): void {
    if ('error' in m) return this.#fail(classify(m.error));
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.resolve(m);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(this.#failure);
    this.close();
  }

  #exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#done) return;
    this.#fail(
      code === EXIT_MEMORY
        ? new BufferOverflowError(
            'ERR_DECODE_TOO_LONG',
            `decodeFile: the decoded audio needs more than maxDecodedBytes (${this.#maxDecodedBytes}); raise it to decode this file`,
          )
        : new InvalidAudioError(
            'ERR_DECODE_FAILED',
            `decodeFile: the decoder process ended (${signal ?? `exit ${code}`}) before the audio`,
          ),
    );
  }

  #unexpected(m: Message): Error {
    return new InvalidAudioError(
      'ERR_DECODE_FAILED',
      `decodeFile: unexpected message from the decoder: ${Object.keys(m).join()}`,
    );
  }
}

/** decodeAudioData rejects with an EncodingError whose message says what symphonia thought. */
function classify(message: string): Error {
  if (/no suitable format reader/.test(message)) {
    return new UnsupportedFormatError(
      'ERR_DECODE_FORMAT',
      `decodeFile: not a container it reads (WAV, MP3, FLAC, Ogg, AAC/MP4): ${message}`,
    );
  }
  if (/unsupported/.test(message))
    return new UnsupportedFormatError('ERR_DECODE_UNSUPPORTED', `decodeFile: ${message}`);
  return new InvalidAudioError('ERR_DECODE_FAILED', `decodeFile: ${message}`);
}
