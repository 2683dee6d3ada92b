/**
 * MPEG audio (MP3, layers 1–3) and AAC ADTS: both are a plain run of frames whose headers give each frame's
 * length, so a walk over the headers counts the samples and sees a last frame that runs past the end.
 */
import { endBeforeTrailingTags, hasTag, id3v2Size, u32be, type ContainerInfo } from './types.js';

const MPEG_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};
export const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** kbit/s by [MPEG-1?][layer 1..3][index]. */
const BITRATES = {
  v1: [
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  v2: [
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
};

interface Frame {
  length: number;
  samples: number;
  sampleRate: number;
  channels: number;
}

/** The MPEG audio frame header at `at`, or undefined (free-format bitrate is not walked). */
export function mpegFrame(b: Uint8Array, at: number): (Frame & { mpeg1: boolean; layer: number }) | undefined {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xe0) !== 0xe0) return undefined;
  const version = (b[at + 1]! >> 3) & 3;
  const layerBits = (b[at + 1]! >> 1) & 3;
  const bitrateIndex = b[at + 2]! >> 4;
  const rateIndex = (b[at + 2]! >> 2) & 3;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3)
    return undefined;
  const layer = 4 - layerBits;
  const mpeg1 = version === 3;
  const sampleRate = MPEG_RATES[version]![rateIndex]!;
  const kbps = (mpeg1 ? BITRATES.v1 : BITRATES.v2)[layer - 1]![bitrateIndex]!;
  const pad = (b[at + 2]! >> 1) & 1;
  const samples = layer === 1 ? 384 : layer === 2 || mpeg1 ? 1152 : 576;
  const length =
    layer === 1
      ? (Math.floor((12000 * kbps) / sampleRate) + pad) * 4
      : Math.floor(((samples / 8) * 1000 * kbps) / sampleRate) + pad;
  return { length, samples, sampleRate, channels: b[at + 3]! >> 6 === 3 ? 1 : 2, mpeg1, layer };
}

/** The ADTS frame header at `at`, or undefined. */
export function adtsFrame(b: Uint8Array, at: number): Frame | undefined {
  if (at + 7 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xf6) !== 0xf0) return undefined;
  const rate = ADTS_RATES[(b[at + 2]! >> 2) & 0x0f];
  const length = ((b[at + 3]! & 3) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5);
  if (rate === undefined || length < 7) return undefined;
  const channels = ((b[at + 2]! & 1) << 2) | (b[at + 3]! >> 6);
  return { length, samples: 1024 * ((b[at + 6]! & 3) + 1), sampleRate: rate, channels: channels === 7 ? 8 : channels };
}

/**
 * What an MP3's first frame says about the rest: the total frame count its Xing/Info or VBRI header declares,
 * and the encoder delay and padding of a LAME extension after a Xing/Info header (LAME, ffmpeg's libmp3lame and
 * others write one; like mpg123, any non-zero first byte counts, whatever the encoder's name), which a gapless
 * decoder (mpg123) trims from the start and the end. The Xing/Info frame itself carries no audio.
 */
interface FirstFrameInfo {
  /** Frames after the Xing/Info/VBRI frame, when declared. */
  declared: number | undefined;
  /** The first frame is a Xing/Info/VBRI frame (no audio). */
  infoFrame: boolean;
  /** Encoder delay + padding in samples, from a LAME extension; undefined without one. */
  trim: number | undefined;
}

function firstFrameInfo(b: Uint8Array, at: number, f: ReturnType<typeof mpegFrame> & object): FirstFrameInfo {
  const side = f.mpeg1 ? (f.channels === 1 ? 17 : 32) : f.channels === 1 ? 9 : 17;
  const x = at + 4 + side;
  if ((hasTag(b, x, 'Xing') || hasTag(b, x, 'Info')) && x + 8 <= b.length) {
    const flags = u32be(b, x + 4);
    const declared = flags & 1 && x + 12 <= b.length ? u32be(b, x + 8) : undefined;
    // the optional fields in flag order: frames (4), bytes (4), TOC (100), quality (4); then the LAME extension:
    // encoder name (9), revision, lowpass, peak (4), gains (4), flags, bitrate, then delay and padding (12 bits each)
    const lame = x + 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
    let trim: number | undefined;
    if (lame + 24 <= Math.min(b.length, at + f.length) && b[lame] !== 0) {
      const d = lame + 21;
      trim = ((b[d]! << 4) | (b[d + 1]! >> 4)) + (((b[d + 1]! & 0x0f) << 8) | b[d + 2]!);
    }
    return { declared, infoFrame: true, trim };
  }
  if (hasTag(b, at + 36, 'VBRI') && at + 36 + 18 <= b.length)
    return { declared: u32be(b, at + 36 + 14), infoFrame: true, trim: undefined };
  return { declared: undefined, infoFrame: false, trim: 0 };
}

/**
 * The samples mpg123 plays, where this walk can tell: every frame's when there is no Xing/Info/VBRI frame; the
 * frames after it less the LAME delay and padding when it declares exactly the frames present. Anything else (no
 * LAME extension, a VBRI header, a frame count that disagrees) is left to a decode to count.
 */
function playedSamples(first: FirstFrameInfo, frames: number, audio: number): number | undefined {
  if (!first.infoFrame) return audio;
  if (first.trim === undefined || first.declared !== frames - 1) return undefined;
  return Math.max(0, audio - first.trim);
}

const SYNC_SCAN = 65536;

/** MP3 or ADTS after an optional ID3v2 tag: undefined when no two consecutive frame headers are found. */
export function probeMpeg(b: Uint8Array): ContainerInfo | undefined {
  const tag = id3v2Size(b);
  if (hasTag(b, 0, 'ID3') && b.length < 10) return { kind: 'mp3', truncated: 'the input ends inside the ID3v2 header' };
  if (tag > 0 && tag >= b.length) return { kind: 'mp3', truncated: 'the ID3v2 tag runs past the end' };
  const end = endBeforeTrailingTags(b);
  for (let at = tag, stop = Math.min(end - 4, tag + SYNC_SCAN); at < stop; at++) {
    if (b[at] !== 0xff) continue;
    const adts = adtsFrame(b, at);
    if (adts && chained(b, at, adts.length, end, adtsFrame)) return walk(b, at, end, 'adts', adtsFrame, undefined);
    const mp3 = mpegFrame(b, at);
    if (mp3 && chained(b, at, mp3.length, end, mpegFrame))
      return walk(b, at, end, 'mp3', mpegFrame, firstFrameInfo(b, at, mp3));
  }
  // An ID3v2 tag says MP3: no frame after it means the audio was cut off.
  return tag > 0 ? { kind: 'mp3', truncated: 'no complete MPEG audio frame after the ID3v2 tag' } : undefined;
}

/**
 * A frame at `at` is real if the next one follows it, or the input ends before the next header could (a cut
 * frame, or a one-frame file).
 */
function chained(
  b: Uint8Array,
  at: number,
  length: number,
  end: number,
  parse: (b: Uint8Array, at: number) => Frame | undefined,
): boolean {
  return at + length + 7 > end || parse(b, at + length) !== undefined;
}

function walk(
  b: Uint8Array,
  first: number,
  end: number,
  kind: 'mp3' | 'adts',
  parse: (b: Uint8Array, at: number) => Frame | undefined,
  firstFrame: FirstFrameInfo | undefined,
): ContainerInfo {
  const head = parse(b, first)!;
  let frames = 0;
  let samples = 0;
  let at = first;
  let truncated: string | undefined;
  for (;;) {
    const f = parse(b, at);
    // files joined end to end: the next one's ID3v2 tag, then its frames
    const tag = f ? 0 : id3v2Size(b.subarray(at));
    if (tag > 0 && parse(b, at + tag)) {
      at += tag;
      continue;
    }
    if (!f) {
      // A partial header at the very end is a cut frame; anything else after the frames is junk or a tag.
      const rest = end - at;
      if (rest > 0 && rest < 7 && b[at] === 0xff && (rest === 1 || (b[at + 1]! & 0xe0) === 0xe0))
        truncated = `the input ends inside a frame header at byte ${at}`;
      break;
    }
    if (at + f.length > end) {
      truncated = `the frame at byte ${at} needs ${f.length} bytes, ${end - at} remain`;
      break;
    }
    frames++;
    samples += f.samples;
    at += f.length;
  }
  // The Xing/Info frame carries no audio; its count covers the frames after it.
  const declared = firstFrame?.declared;
  if (declared !== undefined && !truncated && frames - 1 < declared)
    truncated = `the Xing/Info header declares ${declared} frames, ${frames - 1} are present`;
  const audio = firstFrame?.infoFrame ? samples - head.samples : samples;
  return {
    kind,
    sampleRate: head.sampleRate,
    channels: head.channels,
    samplesPerChannel: samples,
    ...(kind === 'mp3' && firstFrame ? { playedSamplesPerChannel: playedSamples(firstFrame, frames, audio) } : {}),
    ...(truncated ? { truncated } : {}),
  };
}
