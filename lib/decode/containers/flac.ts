/**
 * FLAC: metadata blocks (STREAMINFO first), then frames. STREAMINFO declares the total samples (0 = unknown);
 * the last frame's header gives its sample position and its CRC-16 footer proves it ends where the bytes end,
 * so the decoded length is known, and a cut is seen, without decoding.
 */
import { endBeforeTrailingTags, hasTag, id3v2Size, u16be, u32be, type ContainerInfo } from './types.js';

export interface StreamInfo {
  minBlockSize: number;
  /** Largest frame in bytes, 0 when unknown. */
  maxFrameSize: number;
  sampleRate: number;
  channels: number;
  /** 0 when the encoder did not know it. */
  totalSamples: number;
}

/** STREAMINFO body (34 bytes) at `at`. */
export function readStreamInfo(b: Uint8Array, at: number): StreamInfo | undefined {
  if (at + 18 > b.length) return undefined;
  const s = at + 10;
  return {
    minBlockSize: u16be(b, at),
    maxFrameSize: (b[at + 7]! << 16) | (b[at + 8]! << 8) | b[at + 9]!,
    sampleRate: (b[s]! << 12) | (b[s + 1]! << 4) | (b[s + 2]! >> 4),
    channels: ((b[s + 2]! >> 1) & 7) + 1,
    totalSamples: (b[s + 3]! & 0x0f) * 2 ** 32 + u32be(b, s + 4),
  };
}

export function probeFlac(b: Uint8Array): ContainerInfo | undefined {
  const start = id3v2Size(b);
  if (!hasTag(b, start, 'fLaC')) return undefined;
  let at = start + 4;
  let info: StreamInfo | undefined;
  for (;;) {
    if (at + 4 > b.length)
      return { kind: 'flac', ...(info ? fields(info) : {}), truncated: 'the input ends inside the metadata blocks' };
    const last = (b[at]! & 0x80) !== 0;
    const size = (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    if (at + 4 + size > b.length)
      return {
        kind: 'flac',
        ...(info ? fields(info) : {}),
        truncated: `metadata block at byte ${at} runs past the end`,
      };
    if ((b[at]! & 0x7f) === 0) info = readStreamInfo(b, at + 4);
    at += 4 + size;
    if (last) break;
  }
  if (!info) return { kind: 'flac' };
  const end = endBeforeTrailingTags(b);
  const lastFrame = findLastFrame(b, at, end, info);
  const result: ContainerInfo = { kind: 'flac', ...fields(info) };
  if (!lastFrame) {
    if (end > at || info.totalSamples > 0) result.truncated = 'no complete frame ends at the end of the input';
    return result;
  }
  const decoded = lastFrame.firstSample + lastFrame.blockSize;
  if (info.totalSamples > 0 && decoded < info.totalSamples) {
    result.truncated = `STREAMINFO declares ${info.totalSamples} samples, the frames end at ${decoded}`;
  }
  result.samplesPerChannel = Math.max(decoded, info.totalSamples);
  return result;
}

function fields(info: StreamInfo): Partial<ContainerInfo> {
  return {
    codec: 'flac',
    sampleRate: info.sampleRate,
    channels: info.channels,
    ...(info.totalSamples > 0 ? { samplesPerChannel: info.totalSamples } : {}),
  };
}

interface FrameHeader {
  firstSample: number;
  blockSize: number;
}

/** How far back from the end to look for the last frame's header when STREAMINFO gives no maximum frame size. */
const DEFAULT_LAST_FRAME_SCAN = 1 << 20;
/** Header candidates (sync + good CRC-8) checked against the footer: bounds the work a crafted tail can cause. */
const MAX_CANDIDATES = 64;

/** The last frame: a header with a good CRC-8 whose CRC-16 over [header, end − 2) matches the final two bytes. */
function findLastFrame(b: Uint8Array, audioStart: number, end: number, info: StreamInfo): FrameHeader | undefined {
  if (end - audioStart < 8) return undefined;
  const footer = u16be(b, end - 2);
  const scan = info.maxFrameSize > 0 ? info.maxFrameSize + 16 : DEFAULT_LAST_FRAME_SCAN;
  let candidates = 0;
  for (let at = end - 8; at >= audioStart && at >= end - scan && candidates < MAX_CANDIDATES; at--) {
    if (b[at] !== 0xff || (b[at + 1]! & 0xfe) !== 0xf8) continue;
    const h = frameHeader(b, at, end, info);
    if (!h) continue;
    candidates++;
    if (crc16(b, at, end - 2) === footer) return h;
  }
  return undefined;
}

/** Parse and CRC-8-check the frame header at `at`. */
export function frameHeader(b: Uint8Array, at: number, end: number, info: StreamInfo): FrameHeader | undefined {
  const variable = (b[at + 1]! & 1) === 1;
  const sizeCode = b[at + 2]! >> 4;
  const rateCode = b[at + 2]! & 0x0f;
  if (sizeCode === 0 || rateCode === 15 || b[at + 3]! >> 4 > 10 || (b[at + 3]! & 1) !== 0) return undefined;
  let p = at + 4;
  // The frame (or sample) number, UTF-8-style coded: up to 6 (7 for sample numbers) bytes.
  const lead = b[p]!;
  let n: number;
  let extra: number;
  if (lead < 0x80) [n, extra] = [lead, 0];
  else if (lead >= 0xc0 && lead < 0xfe) {
    extra = lead >= 0xfc ? 5 : lead >= 0xf8 ? 4 : lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    n = lead & (0x3f >> extra);
  } else if (lead === 0xfe && variable) [n, extra] = [0, 6];
  else return undefined;
  p++;
  for (let i = 0; i < extra; i++, p++) {
    if (p >= end || (b[p]! & 0xc0) !== 0x80) return undefined;
    n = n * 64 + (b[p]! & 0x3f);
  }
  let blockSize: number;
  if (sizeCode === 1) blockSize = 192;
  else if (sizeCode <= 5) blockSize = 576 << (sizeCode - 2);
  else if (sizeCode === 6) blockSize = b[p++]! + 1;
  else if (sizeCode === 7) blockSize = u16be(b, (p += 2) - 2) + 1;
  else blockSize = 256 << (sizeCode - 8);
  if (rateCode === 12) p += 1;
  else if (rateCode === 13 || rateCode === 14) p += 2;
  if (p >= end || crc8(b, at, p) !== b[p]) return undefined;
  return { firstSample: variable ? n : n * info.minBlockSize, blockSize };
}

function crc8(b: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = CRC8[c ^ b[i]!]!;
  return c;
}

function crc16(b: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = ((c << 8) & 0xffff) ^ CRC16[(c >> 8) ^ b[i]!]!;
  return c;
}

const CRC8 = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  return c;
});
const CRC16 = Uint16Array.from({ length: 256 }, (_, i) => {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff;
  return c;
});
