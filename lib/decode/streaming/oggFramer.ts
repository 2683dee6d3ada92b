/**
 * Ogg framer (Opus, Vorbis): a run of pages, each with its own length. Checks that the first packet is the
 * declared codec's identification header, reads rate and channels from it, and walks page headers without
 * holding the bodies (the first page, a few dozen bytes, excepted). A stream is cut when it ends inside a page
 * or before a logical stream's end-of-stream page. Chained streams (a new beginning page after an end) are
 * walked on; anything else after the last stream ended is ignored.
 */
import { InvalidAudioError } from '../../errors.js';
import { hasTag, u32le } from '../containers/types.js';
import { OggLength, readPageHeader } from '../containers/oggLength.js';
import { ByteWindow } from './byteWindow.js';
import { formatHint, printable } from './sniff.js';
import { FORMAT_NAMES, type Framer } from './types.js';

const ID_HEADER = { opus: 'OpusHead', vorbis: '\x01vorbis' } as const;

export class OggFramer implements Framer {
  sampleRate: number | undefined;
  channels: number | undefined;
  headerBytes = 0;
  audioStart: number | undefined;
  readonly scanned = 0;

  readonly #codec: 'opus' | 'vorbis';
  readonly #win = new ByteWindow();
  /** Absolute offset of the next page. */
  #next = 0;
  #pageAt = 0;
  #pages = 0;
  /** A page that ends a packet with a positive granule has been seen: pages after it are audio. */
  #audio = false;
  /** The length the granule positions declare, and the logical streams still open. */
  readonly #length = new OggLength();
  /** Bytes after the last stream ended that are not a page: ignored. */
  #done = false;

  constructor(codec: 'opus' | 'vorbis') {
    this.#codec = codec;
  }

  push(chunk: Uint8Array): void {
    if (this.#done) return;
    const { data, base } = this.#win.append(chunk);
    for (;;) {
      const at = this.#next - base;
      if (at + 27 > data.length) break;
      if (!hasTag(data, at, 'OggS')) {
        if (this.#pages > 0 && this.#length.open.size === 0) {
          this.#done = true;
          this.#win.keepFrom(Infinity);
          return;
        }
        throw this.#pages === 0
          ? this.#notOgg(data)
          : new InvalidAudioError(
              'ERR_DECODE_FAILED',
              `decodeStream: no Ogg page where one should start, at byte ${this.#next}`,
            );
      }
      if (at + 27 + data[at + 26]! > data.length) break;
      const page = readPageHeader(data, at);
      const { bodyAt, bodyLength: body } = page;
      // a page that begins a logical stream is read whole (a few dozen bytes): its identification header
      if (page.flags & 2 && bodyAt + body > data.length) break;
      if (this.#pages === 0) {
        if (bodyAt + body > data.length) break; // the identification header is checked whole
        this.#identify(data, bodyAt, body);
        this.audioStart = 0;
      }
      this.#length.page(page, data, bodyAt);
      // granule 0: header pages
      if (page.granule !== undefined && page.granule > 0) this.#audio = true;
      this.#pages++;
      this.#pageAt = this.#next;
      this.#next += bodyAt - at + body;
      if (!this.#audio) this.headerBytes = this.#next;
    }
    this.#win.keepFrom(this.#next);
  }

  #notOgg(data: Uint8Array): InvalidAudioError {
    return new InvalidAudioError(
      'ERR_DECODE_FORMAT',
      `decodeStream: not an Ogg stream: starts with ${printable(data)}, expected "OggS"${formatHint(data, this.#codec)}`,
    );
  }

  #identify(b: Uint8Array, at: number, length: number): void {
    const id = ID_HEADER[this.#codec];
    if (!hasTag(b, at, id)) {
      const hint = formatHint(b, this.#codec);
      throw new InvalidAudioError(
        'ERR_DECODE_FORMAT',
        `decodeStream: the Ogg stream does not start with ${FORMAT_NAMES[this.#codec]}'s identification header${hint || ' (another codec in Ogg?)'}`,
      );
    }
    if (this.#codec === 'opus' && length >= 19) {
      this.channels = b[at + 9]!;
      this.sampleRate = 48000; // Opus always decodes at 48 kHz; the header's rate is the input's, informative
    } else if (this.#codec === 'vorbis' && length >= 16) {
      this.channels = b[at + 11]!;
      this.sampleRate = u32le(b, at + 12);
    }
  }

  end(decodedSamples: number): string | undefined {
    const cut = this.#cut();
    // Not cut, and starting at sample 0: the granule positions say how much audio there is. An engine that made
    // less lost some (ogg-opus-decoder after the first link of a chained stream): an error, not a short stream.
    const played = this.#length.length.playedSamplesPerChannel;
    if (cut === undefined && played !== undefined && decodedSamples < played) {
      throw new InvalidAudioError(
        'ERR_DECODE_FAILED',
        `decodeStream: the ${FORMAT_NAMES[this.#codec]} decoder made ${decodedSamples} samples per channel, ` +
          `the stream's granule positions declare ${played}`,
      );
    }
    return cut;
  }

  #cut(): string | undefined {
    if (this.#done) return undefined;
    const total = this.#win.end;
    if (this.#pages === 0) {
      const { data } = this.#win.append(new Uint8Array(0));
      if (total > 0 && !hasTag(data, 0, 'OggS'.slice(0, Math.min(4, total)))) throw this.#notOgg(data);
      if (total === 0) return undefined;
      return `the input ends inside the first Ogg page (${total} bytes)`;
    }
    if (this.#next > total) return `the input ends inside the Ogg page at byte ${this.#pageAt}`;
    if (this.#next < total) return `the input ends inside an Ogg page header at byte ${this.#next}`;
    if (this.#length.open.size > 0) return 'the input ends before the end-of-stream page';
    return undefined;
  }
}
