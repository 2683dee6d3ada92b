/**
 * WAV (RIFF, RIFX, RF64, BW64) headers: rate, channels, sample frame size and where the data chunk starts —
 * what a decoder needs to announce the exact length before streaming. The samples themselves are decodeWav's.
 */
import { hasTag, u16le, u32le, type ContainerInfo } from './types.js';

export interface WavHeader extends ContainerInfo {
  kind: 'wav';
  blockAlign?: number;
  /** Byte offset of the data chunk's body; undefined when the bytes given end before it. */
  dataOffset?: number;
  /** The data chunk's declared size; undefined for a streaming placeholder (0, 0xFFFFFFFF, ≥ 0x7FFFF000). */
  dataBytes?: number;
}

const PLACEHOLDER_SIZE = 0x7ffff000;

export function isWav(b: Uint8Array): boolean {
  return (
    (hasTag(b, 0, 'RIFF') || hasTag(b, 0, 'RIFX') || hasTag(b, 0, 'RF64') || hasTag(b, 0, 'BW64')) &&
    hasTag(b, 8, 'WAVE')
  );
}

/** Walk the chunks in `head` (the file's first bytes) up to the data chunk. */
export function readWavHeader(head: Uint8Array): WavHeader | undefined {
  if (!isWav(head)) return undefined;
  const be = hasTag(head, 0, 'RIFX');
  const u16 = (at: number) => (be ? (head[at]! << 8) | head[at + 1]! : u16le(head, at));
  const u32 = (at: number) =>
    be ? ((head[at]! << 24) >>> 0) + ((head[at + 1]! << 16) | (head[at + 2]! << 8) | head[at + 3]!) : u32le(head, at);
  const out: WavHeader = { kind: 'wav' };
  let ds64Data: number | undefined;
  for (let at = 12; at + 8 <= head.length;) {
    const size = u32(at + 4);
    const body = at + 8;
    if (hasTag(head, at, 'fmt ') && body + 16 <= head.length) {
      out.channels = u16(body + 2);
      out.sampleRate = u32(body + 4);
      out.blockAlign = u16(body + 12);
    } else if (hasTag(head, at, 'ds64') && body + 16 <= head.length) {
      ds64Data = u32le(head, body + 12) * 2 ** 32 + u32le(head, body + 8);
    } else if (hasTag(head, at, 'data')) {
      out.dataOffset = body;
      const declared = size === 0xffffffff && ds64Data !== undefined ? ds64Data : size;
      if (declared !== 0 && (declared < PLACEHOLDER_SIZE || ds64Data !== undefined)) out.dataBytes = declared;
      break;
    }
    at = body + size + (size & 1);
  }
  return out;
}
