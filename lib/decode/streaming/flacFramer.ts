/**
 * FLAC framer: "fLaC" (after an optional ID3v2 tag), then metadata blocks — STREAMINFO first, which gives the
 * rate, the channels and (when the encoder knew it) the total sample count — then frames, which the engine
 * syncs on itself and this walk does not follow. A stream is cut when it ends inside the metadata, or when
 * fewer samples came out than STREAMINFO declares. Metadata blocks are skipped, not held (a cover picture can
 * be megabytes); only STREAMINFO's 34 bytes are read.
 */
import { InvalidAudioError } from '../../errors.js';
import { readStreamInfo } from '../containers/flac.js';
import { hasTag, id3v2Size } from '../containers/types.js';
import { ByteWindow } from './byteWindow.js';
import { formatHint, printable } from './sniff.js';
import type { Framer } from './types.js';

type State = 'start' | 'magic' | 'block' | 'frames';

export class FlacFramer implements Framer {
  sampleRate: number | undefined;
  channels: number | undefined;
  headerBytes = 0;
  audioStart: number | undefined;

  readonly #win = new ByteWindow();
  #state: State = 'start';
  #next = 0;
  #totalSamples = 0;

  get scanned(): number {
    return this.audioStart ?? (this.#state === 'magic' ? this.#next : 0);
  }

  push(chunk: Uint8Array): void {
    if (this.#state === 'frames') return;
    const { data, base } = this.#win.append(chunk);
    for (;;) {
      const at = this.#next - base;
      if (this.#state === 'start') {
        if (data.length - at < 10) break;
        this.#next += hasTag(data, at, 'ID3') ? id3v2Size(data.subarray(at)) : 0;
        this.#state = 'magic';
      } else if (this.#state === 'magic') {
        if (at + 4 > data.length) break;
        if (!hasTag(data, at, 'fLaC')) throw notFlac(data.subarray(at));
        this.audioStart = this.#next;
        this.#next += 4;
        this.#state = 'block';
      } else if (this.#state === 'block') {
        if (at + 4 > data.length) break;
        const type = data[at]! & 0x7f;
        const size = (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
        if (type === 0) {
          if (at + 4 + size > data.length) break; // STREAMINFO is read whole (34 bytes)
          const info = readStreamInfo(data, at + 4);
          if (!info || size < 34) {
            throw new InvalidAudioError(
              'ERR_DECODE_FAILED',
              `decodeStream: FLAC STREAMINFO is ${size} bytes, 34 expected`,
            );
          }
          this.sampleRate = info.sampleRate;
          this.channels = info.channels;
          this.#totalSamples = info.totalSamples;
        } else if (this.sampleRate === undefined) {
          throw new InvalidAudioError(
            'ERR_DECODE_FAILED',
            'decodeStream: the first FLAC metadata block is not STREAMINFO',
          );
        }
        this.#next += 4 + size;
        if (data[at]! & 0x80) {
          this.#state = 'frames';
          this.headerBytes = this.#next;
          break;
        }
      } else break;
    }
    this.#win.keepFrom(this.#state === 'frames' ? Infinity : this.#next);
  }

  end(decodedSamples: number): string | undefined {
    const total = this.#win.end;
    if (this.#state !== 'frames') {
      if (total === 0) return undefined;
      const { data } = this.#win.append(new Uint8Array(0));
      const at = Math.max(0, this.#next - (total - data.length));
      if (this.#state === 'magic' || (this.#state === 'start' && !hasTag(data, 0, 'ID3'))) {
        if (!hasTag(data, at, 'fLaC'.slice(0, Math.min(4, data.length - at)))) throw notFlac(data.subarray(at));
      }
      return `the input ends inside the FLAC headers (${total} bytes)`;
    }
    if (this.#totalSamples > 0 && decodedSamples < this.#totalSamples) {
      return `STREAMINFO declares ${this.#totalSamples} samples per channel, ${decodedSamples} decoded`;
    }
    return undefined;
  }
}

function notFlac(b: Uint8Array): InvalidAudioError {
  return new InvalidAudioError(
    'ERR_DECODE_FORMAT',
    `decodeStream: not FLAC: starts with ${printable(b)}, expected "fLaC"${formatHint(b, 'flac')}`,
  );
}
