/** The framer for each format (see types.ts `Framer`). */
import { FlacFramer } from './flacFramer.js';
import { MpegFramer } from './mpegFramer.js';
import { OggFramer } from './oggFramer.js';
import type { Framer, StreamFormat } from './types.js';

/** `maxSearch`: bytes of junk the MP3 framer searches for a frame before refusing the input. */
export function createFramer(format: StreamFormat, maxSearch: number): Framer {
  switch (format) {
    case 'mp3':
      return new MpegFramer(maxSearch);
    case 'flac':
      return new FlacFramer();
    case 'opus':
    case 'vorbis':
      return new OggFramer(format);
  }
}
