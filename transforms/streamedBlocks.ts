/**
 * How decodeFile reads MP3, Ogg Opus, FLAC and Ogg Vorbis when the format's wasm engine is installed: the
 * file's bytes go through decodeStream a slice at a time, so memory stays flat however long the file is and the
 * first frame is out as soon as its bytes are decoded — no decoded copy of the file, no child process.
 *
 * The length decodeFile announces before the first frame is the one the container declares for a gapless
 * player (probeContainer's playedSamplesPerChannel: MP3 after the LAME tag's encoder delay and padding, Opus
 * after its pre-skip, Ogg to its last granule position, FLAC from STREAMINFO or its last frame). The output is
 * held to it: up to MAX_PADDING samples past it are the encoder's padding and are dropped (ogg-opus-decoder
 * sometimes leaves the end trim undone), more is an error; so is a decoder that stops short of it, since the
 * headers promised more. Where the
 * headers cannot tell (an Ogg stream captured from the middle of a live one starts at a large granule), a first
 * pass decodes the file to count it: memory stays flat, the first frame waits for the count. A file given by its
 * path is read again from disk for the decode, so its bytes (read whole for the container walk) are not held.
 */
import { Readable } from 'node:stream';
import type { AudioFrame } from '../lib/frames.js';
import { InvalidAudioError, UnsupportedFormatError } from '../lib/errors.js';
import type { ContainerInfo } from '../lib/decode/containers/types.js';
import { FORMAT_NAMES, type StreamFormat } from '../lib/decode/streaming/types.js';
import { DecodeStream } from './decodeStream.js';

/** Where decodeFile's audio comes from: interleaved int16 blocks at the source rate, read on demand. */
export interface BlockSource {
  rate: number;
  channels: number;
  /** Samples per channel it will give. */
  length: number;
  read(): Promise<Int16Array | null>;
  close(): void;
}

/**
 * Samples past the declared length taken for encoder padding and dropped: an Opus packet of 120 ms, five MP3
 * frames. More is audio the headers do not count, and an error rather than silent loss.
 */
const MAX_PADDING = 5760;

/** Bytes handed to decodeStream at a time (it slices further for its engine). */
const SLICE_BYTES = 64 * 1024;

/** The decodeStream format that reads a container, or undefined (AAC, MP4, Ogg FLAC, Speex: no streaming engine). */
export function streamFormatOf(info: ContainerInfo): StreamFormat | undefined {
  if (info.kind === 'mp3' || info.kind === 'flac') return info.kind;
  if (info.kind === 'ogg' && (info.codec === 'opus' || info.codec === 'vorbis')) return info.codec;
  return undefined;
}

/** The samples per channel a gapless decode of the container gives, when its headers tell. */
export function declaredLength(info: ContainerInfo): number | undefined {
  return info.kind === 'flac' ? info.samplesPerChannel : info.playedSamplesPerChannel;
}

/**
 * The container walk already recognised the format, so bytes the decoder calls "not this format" are a corrupt
 * file: ERR_DECODE_FAILED, as the native decoder reports it.
 */
function asFileError(err: unknown): unknown {
  if (!(err instanceof InvalidAudioError) || err.code !== 'ERR_DECODE_FORMAT') return err;
  return new InvalidAudioError('ERR_DECODE_FAILED', `decodeFile: corrupt file: ${err.message}`, { cause: err });
}

/** The file's bytes again, from the start: its path read from disk, or the bytes in hand. */
export type Reread = () => Readable;

/** `bytes` as a stream of slices. */
export function sliced(bytes: Uint8Array): Reread {
  return () => Readable.from(slices(bytes, SLICE_BYTES), { objectMode: false, highWaterMark: 1 });
}

function open(reread: Reread, format: StreamFormat, allowTruncated: boolean) {
  const input = reread();
  const decoder = new DecodeStream({ format, allowTruncated });
  input.pipe(decoder);
  // pipe() does not carry an error across: a file that cannot be read again ends the decode with its error
  input.once('error', (err) => decoder.destroy(err));
  return { input, decoder };
}

/** Samples per channel the engine makes of `bytes`: a decode whose frames are counted and dropped. */
async function countSamples(
  reread: Reread,
  format: StreamFormat,
  allowTruncated: boolean,
  cancelled: () => boolean,
): Promise<number> {
  const { input, decoder } = open(reread, format, allowTruncated);
  let n = 0;
  try {
    for await (const frame of decoder as AsyncIterable<AudioFrame>) {
      if (cancelled()) break; // leaving the loop destroys the decoder
      n += frame.samplesPerChannel;
    }
  } catch (err) {
    throw asFileError(err);
  } finally {
    input.destroy();
  }
  return n;
}

export function* slices(b: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < b.byteLength; at += size) yield b.subarray(at, at + size);
}

/** Decode `bytes` as `format`, `declared` samples per channel (or counted first); resolves at the first frame. */
export async function streamedBlocks(
  reread: Reread,
  format: StreamFormat,
  declared: number | undefined,
  allowTruncated: boolean,
  /** Checked during a counting pass (seconds for an hour of audio): true stops it, and nothing is opened. */
  cancelled: () => boolean = () => false,
): Promise<BlockSource> {
  const length = declared ?? (await countSamples(reread, format, allowTruncated, cancelled));
  if (cancelled()) return { rate: 0, channels: 0, length: 0, read: async () => null, close: () => {} };
  const { input, decoder } = open(reread, format, allowTruncated);
  const close = () => {
    input.destroy();
    decoder.destroy();
  };
  const iterator = decoder[Symbol.asyncIterator]() as AsyncIterator<AudioFrame>;
  const frames = { next: () => iterator.next().catch((err: unknown) => Promise.reject(asFileError(err))) };
  let first: IteratorResult<AudioFrame>;
  try {
    first = await frames.next();
  } catch (err) {
    close();
    throw err;
  }
  if (first.done) return { rate: 0, channels: 0, length: 0, read: async () => null, close };
  const { sampleRate: rate, channels } = first.value;
  let next: AudioFrame | undefined = first.value;
  let given = 0;
  /** Samples cut from the frame that reached the declared length: padding too. */
  let cut = 0;
  const name = FORMAT_NAMES[format];
  /** After the declared length: what the decoder still makes is padding, unless it is more than padding can be. */
  const drainPadding = async (): Promise<null> => {
    let extra = cut;
    for (let r = await frames.next(); !r.done; r = await frames.next()) {
      extra += r.value.samplesPerChannel;
      if (extra > MAX_PADDING) {
        throw new InvalidAudioError(
          'ERR_DECODE_FAILED',
          `decodeFile: the ${name} decoder made more than the ${length} samples per channel the file's headers ` +
            `declare (is it two files joined?); decodeStream reads it whole`,
        );
      }
    }
    return null;
  };
  return {
    rate,
    channels,
    length,
    close,
    read: async () => {
      if (given >= length) return drainPadding();
      const frame = next ?? (await frames.next()).value;
      next = undefined;
      if (frame === undefined) {
        if (allowTruncated) return null;
        throw new InvalidAudioError(
          'ERR_DECODE_FAILED',
          `decodeFile: the ${name} decoder made ${given} samples per channel, the file's headers declare ${length}`,
        );
      }
      if (frame.sampleRate !== rate || frame.channels !== channels) {
        throw new UnsupportedFormatError(
          'ERR_DECODE_UNSUPPORTED',
          `decodeFile: the ${name} stream changes from ${rate} Hz ${channels} ch to ${frame.sampleRate} Hz ` +
            `${frame.channels} ch; decodeStream reads such a chain (a format event per link)`,
        );
      }
      const n = Math.min(frame.samplesPerChannel, length - given);
      given += n;
      cut = frame.samplesPerChannel - n;
      return n === frame.samplesPerChannel ? frame.data : frame.data.slice(0, n * channels);
    },
  };
}
