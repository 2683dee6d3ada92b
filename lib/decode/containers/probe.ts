/**
 * probeContainer: which container a file is and what its headers say (rate, channels, decoded length, whether
 * the bytes are cut short), read from the bytes alone before any decoding. Pure: no I/O, no allocation beyond
 * the answer; each walk is linear in the input.
 */
import { probeFlac } from './flac.js';
import { probeMp4 } from './mp4.js';
import { probeMpeg } from './mpeg.js';
import { probeOgg } from './ogg.js';
import { hasTag, id3v2Size, type ContainerInfo } from './types.js';
import { isWav, readWavHeader } from './wav.js';

export type { ContainerInfo, ContainerKind } from './types.js';

export function probeContainer(b: Uint8Array): ContainerInfo {
  if (isWav(b)) return readWavHeader(b)!;
  if (hasTag(b, 0, 'OggS')) return probeOgg(b)!;
  if (hasTag(b, 4, 'ftyp')) return probeMp4(b)!;
  if (hasTag(b, id3v2Size(b), 'fLaC')) return probeFlac(b)!;
  return probeMpeg(b) ?? { kind: 'unknown' };
}
