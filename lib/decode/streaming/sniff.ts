/**
 * What the first bytes of a stream look like, for the message when they are not the declared format: telling
 * the user "this is Ogg Vorbis, not Opus" saves a round of guessing.
 */
import { hasTag, id3v2Size } from '../containers/types.js';
import type { StreamFormat } from './types.js';

/** The format these leading bytes are (as far as the first page or header tells), if any decodeStream reads. */
export function sniffStreamFormat(b: Uint8Array): StreamFormat | undefined {
  if (hasTag(b, 0, 'OggS')) {
    const body = 27 + (b[26] ?? 0);
    if (hasTag(b, body, 'OpusHead')) return 'opus';
    if (hasTag(b, body, '\x01vorbis')) return 'vorbis';
    return undefined;
  }
  if (hasTag(b, 0, 'fLaC') || hasTag(b, id3v2Size(b), 'fLaC')) return 'flac';
  if (hasTag(b, 0, 'ID3') || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  return undefined;
}

/** " (it looks like X: use format 'x')" when the bytes look like another format, else "". */
export function formatHint(b: Uint8Array, declared: StreamFormat): string {
  const seen = sniffStreamFormat(b);
  return seen && seen !== declared ? ` (it looks like ${seen}: use format '${seen}')` : '';
}

/** The first bytes as printable text, for messages. */
export function printable(b: Uint8Array, n = 4): string {
  return JSON.stringify(
    Buffer.from(b.subarray(0, n))
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '?'),
  );
}
