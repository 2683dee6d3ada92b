/**
 * What a container's headers say about the audio inside, read before any decoding (lib/containers/*): enough
 * to refuse an impossible rate, bound the decoded size, and tell a truncated file from a short one.
 */
export type ContainerKind = 'wav' | 'mp3' | 'adts' | 'flac' | 'ogg' | 'mp4' | 'unknown';

export interface ContainerInfo {
  kind: ContainerKind;
  /** The codec inside, where the container names it (e.g. 'vorbis', 'flac', 'opus', 'mp4a'). */
  codec?: string;
  /** The rate the headers declare (not range-checked: the caller decides what is impossible). */
  sampleRate?: number;
  channels?: number;
  /** Samples per channel the headers promise (or a frame walk counts), at `sampleRate`; undefined when unknowable. */
  samplesPerChannel?: number;
  /**
   * Samples per channel a gapless decoder plays, where the headers tell it: an MP3 without its Xing/Info frame
   * and the LAME tag's encoder delay and padding; Ogg Vorbis to its last granule position and Ogg Opus without
   * its pre-skip, when every link starts at sample 0 (not a capture from the middle of a live stream).
   */
  playedSamplesPerChannel?: number;
  /** Why the bytes end before the container says they should; undefined when they end where it ends. */
  truncated?: string;
}

/** `b[at..]` starts with the latin1 string `s`. */
export function hasTag(b: Uint8Array, at: number, s: string): boolean {
  if (at < 0 || b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

export const u16be = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
export const u32be = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
export const u16le = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const u32le = (b: Uint8Array, at: number): number =>
  ((b[at + 3]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 1]! << 8) | b[at]!);

/** Size of an ID3v2 tag at the start of `b` (header, body and footer), 0 when there is none. */
export function id3v2Size(b: Uint8Array): number {
  if (!hasTag(b, 0, 'ID3') || b.length < 10) return 0;
  const body = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
  return 10 + body + (b[5]! & 0x10 ? 10 : 0);
}

/** End of the audio before trailing tags: an ID3v1 tag (128 bytes, 'TAG') and/or an APEv2 tag ('APETAGEX' footer). */
export function endBeforeTrailingTags(b: Uint8Array): number {
  let end = b.length;
  if (end >= 128 && hasTag(b, end - 128, 'TAG')) end -= 128;
  if (end >= 32 && hasTag(b, end - 32, 'APETAGEX')) {
    const size = u32le(b, end - 32 + 12); // footer + items
    const hasHeader = (b[end - 32 + 23]! & 0x80) !== 0;
    end = Math.max(0, end - size - (hasHeader ? 32 : 0));
  }
  return end;
}
