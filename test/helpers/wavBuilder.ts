/**
 * Build WAV bytes programmatically for decoder tests: any format tag, extensible or not, extra chunks anywhere,
 * and every size field overridable so malformed files are one option away. Plus ways to cut bytes into chunks
 * and to run a decoder to completion.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { concatSamples, type AudioFrame } from '../../lib/frames.js';
import { prng } from './prng.js';

export const TAG = { pcm: 1, float: 3, alaw: 6, mulaw: 7, extensible: 0xfffe } as const;

/** A KSDATAFORMAT_SUBTYPE_* GUID for a format tag (tag-0000-0010-8000-00AA00389B71). */
export function ksGuid(tag: number): Buffer {
  const g = Buffer.from([0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
  g.writeUInt16LE(tag, 0);
  return g;
}

export interface FmtSpec {
  tag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Default channels × bits / 8. */
  blockAlign?: number;
  /** Write WAVE_FORMAT_EXTENSIBLE with `tag` as the SubFormat (or `subFormat` verbatim). */
  extensible?: boolean;
  validBits?: number;
  subFormat?: Buffer;
  /** Append cbSize = 0 to a plain fmt (18 bytes, as sox writes for float). */
  cbSize0?: boolean;
}

/** The body of a `fmt ` chunk. */
export function fmtBody(f: FmtSpec): Buffer {
  const blockAlign = f.blockAlign ?? (f.channels * f.bitsPerSample) / 8;
  const b = Buffer.alloc(f.extensible ? 40 : f.cbSize0 ? 18 : 16);
  b.writeUInt16LE(f.extensible ? TAG.extensible : f.tag, 0);
  b.writeUInt16LE(f.channels, 2);
  b.writeUInt32LE(f.sampleRate, 4);
  b.writeUInt32LE((f.sampleRate * blockAlign) >>> 0, 8);
  b.writeUInt16LE(blockAlign, 12);
  b.writeUInt16LE(f.bitsPerSample, 14);
  if (f.extensible) {
    b.writeUInt16LE(22, 16);
    b.writeUInt16LE(f.validBits ?? f.bitsPerSample, 18);
    b.writeUInt32LE(f.channels === 2 ? 3 : 0, 20);
    (f.subFormat ?? ksGuid(f.tag)).copy(b, 24);
  }
  return b;
}

/** One RIFF chunk: id, size (declared, default the body length), body, pad byte when the body is odd. */
export function chunk(id: string, body: Uint8Array, declaredSize = body.length, pad = body.length % 2 === 1): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(declaredSize >>> 0, 4);
  return Buffer.concat([h, body, pad ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

export interface WavSpec extends FmtSpec {
  data: Uint8Array;
  /** Chunks between "WAVE" and "fmt ", between "fmt " and "data", after "data". */
  before?: Buffer[];
  between?: Buffer[];
  after?: Buffer[];
  /** Override the RIFF size and the data chunk's declared size. */
  riffSize?: number;
  dataSize?: number;
  /** Write no pad byte after odd-sized data. */
  noDataPad?: boolean;
  magic?: string;
}

/** A complete WAV file. */
export function buildWav(s: WavSpec): Buffer {
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    ...(s.before ?? []),
    chunk('fmt ', fmtBody(s)),
    ...(s.between ?? []),
    chunk('data', s.data, s.dataSize ?? s.data.length, s.data.length % 2 === 1 && !s.noDataPad),
    ...(s.after ?? []),
  ]);
  const h = Buffer.alloc(8);
  h.write(s.magic ?? 'RIFF', 0, 'latin1');
  h.writeUInt32LE((s.riffSize ?? body.length) >>> 0, 4);
  return Buffer.concat([h, body]);
}

/** Raw little-endian sample bytes: integers as stored (u8 0..255, s24 −2^23..2^23−1, …), floats as floats. */
export function sampleBytes(
  enc: 'u8' | 's16le' | 's16be' | 's24le' | 's32le' | 'f32le' | 'f64le',
  values: readonly number[],
): Buffer {
  const size = { u8: 1, s16le: 2, s16be: 2, s24le: 3, s32le: 4, f32le: 4, f64le: 8 }[enc];
  const b = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    const o = i * size;
    if (enc === 'u8') b.writeUInt8(v, o);
    else if (enc === 's16le') b.writeInt16LE(v, o);
    else if (enc === 's16be') b.writeInt16BE(v, o);
    else if (enc === 's24le') b.writeIntLE(v, o, 3);
    else if (enc === 's32le') b.writeInt32LE(v, o);
    else if (enc === 'f32le') b.writeFloatLE(v, o);
    else b.writeDoubleLE(v, o);
  });
  return b;
}

/** `buf` cut into pieces: 'whole', 'bytes' (1-byte writes, with 0-length writes mixed in) or random sizes. */
export function cut(buf: Buffer, how: 'whole' | 'bytes' | { seed: number; max: number }): Buffer[] {
  if (how === 'whole') return [buf];
  const out: Buffer[] = [];
  if (how === 'bytes') {
    for (let i = 0; i < buf.length; i++) {
      out.push(buf.subarray(i, i + 1));
      if (i % 7 === 0) out.push(Buffer.alloc(0));
    }
    return out;
  }
  const rand = prng(how.seed);
  for (let i = 0; i < buf.length;) {
    const n = Math.floor(rand() * (how.max + 1));
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

export interface Decoded {
  frames: AudioFrame[];
  samples: Int16Array;
  formatEvents: unknown[];
}

/** Run `chunks` through `decoder` with pipeline() into a collecting sink. Rejects as the pipeline does. */
export async function runDecoder(
  chunks: readonly Uint8Array[],
  decoder: NodeJS.ReadWriteStream & { on(ev: string, fn: (x: unknown) => void): unknown },
  seen?: Decoded,
): Promise<Decoded> {
  const out: Decoded = seen ?? { frames: [], samples: new Int16Array(0), formatEvents: [] };
  decoder.on('format', (f) => out.formatEvents.push(f));
  await pipeline(
    Readable.from(chunks, { objectMode: true }),
    decoder,
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(frame: AudioFrame, _e, cb) {
        out.frames.push(frame);
        cb();
      },
    }),
  );
  out.samples = concatSamples(out.frames);
  return out;
}

export { concatSamples };
