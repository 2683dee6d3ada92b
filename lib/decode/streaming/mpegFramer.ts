/**
 * MP3 framer: an optional ID3v2 tag, then MPEG audio frames whose headers give each frame's length. Finds the
 * first frame (two headers in a row, as lib/decode/containers/mpeg.ts does for whole files), then walks header
 * to header without holding the bodies. Junk between frames (or a trailing ID3v1/APE tag) makes it search again.
 * A stream is cut when it ends inside a frame, or before the frame count a Xing/Info/VBRI header declares.
 */
import { InvalidAudioError } from '../../errors.js';
import { mpegFrame } from '../containers/mpeg.js';
import { hasTag, id3v2Size, u32be } from '../containers/types.js';
import { ByteWindow } from './byteWindow.js';
import type { Framer } from './types.js';

type State = 'start' | 'sync' | 'frames';

export class MpegFramer implements Framer {
  sampleRate: number | undefined;
  channels: number | undefined;
  headerBytes = 0;
  audioStart: number | undefined;

  readonly #maxSearch: number;
  readonly #win = new ByteWindow();
  #state: State = 'start';
  /** Absolute offset of the next thing to read: the tag header, the search position, or the next frame. */
  #next = 0;
  /** Where the current search for sync began (the end of the tag, or where the walk lost the frames). */
  #searchFrom = 0;
  #frames = 0;
  /** Where the last frame walked starts. */
  #frameAt = 0;
  #declared: number | undefined;

  /** `maxSearch`: bytes searched for a frame (after the tag, or after frames stop) before the input is refused. */
  constructor(maxSearch: number) {
    this.#maxSearch = maxSearch;
  }

  get scanned(): number {
    return this.#state === 'frames' ? (this.audioStart ?? 0) : this.#next;
  }

  push(chunk: Uint8Array): void {
    const { data, base } = this.#win.append(chunk);
    for (;;) {
      const at = this.#next - base;
      if (this.#state === 'start') {
        if (data.length - at < 10) break;
        const tag = hasTag(data, at, 'ID3') ? id3v2Size(data.subarray(at)) : 0;
        this.headerBytes = tag;
        this.#next += tag;
        this.#searchFrom = this.#next;
        this.#state = 'sync';
      } else if (this.#state === 'sync') {
        if (!this.#sync(data, base)) break;
      } else {
        if (at + 4 > data.length) break;
        const f = mpegFrame(data, at);
        if (!f) {
          this.#searchFrom = this.#next;
          this.#state = 'sync';
          continue;
        }
        this.#frames++;
        this.#frameAt = this.#next;
        this.#next += f.length;
      }
    }
    this.#win.keepFrom(this.#next);
  }

  /** Look for a frame header followed by another; true when found (the walk resumes there). */
  #sync(data: Uint8Array, base: number): boolean {
    let i = Math.max(0, this.#next - base);
    for (; i + 4 <= data.length; i++) {
      if (data[i] !== 0xff) continue;
      const f = mpegFrame(data, i);
      if (!f) continue;
      if (i + f.length + 4 > data.length) break; // its successor has not arrived yet: wait here
      if (!mpegFrame(data, i + f.length)) continue;
      if (this.#frames === 0) {
        this.audioStart = base + i;
        this.sampleRate = f.sampleRate;
        this.channels = f.channels;
        this.#declared = declaredFrames(data, i, f.mpeg1, f.channels);
      }
      this.#next = base + i;
      this.#state = 'frames';
      return true;
    }
    this.#next = base + i;
    const searched = this.#next - this.#searchFrom;
    if (searched > this.#maxSearch) {
      throw new InvalidAudioError(
        'ERR_DECODE_FORMAT',
        this.#frames === 0
          ? `decodeStream: no MP3 frame in the first ${searched} bytes${this.headerBytes ? ' after the ID3v2 tag' : ''}: not MP3 audio`
          : `decodeStream: ${searched} bytes without an MP3 frame after byte ${this.#searchFrom}`,
      );
    }
    return false;
  }

  end(): string | undefined {
    const total = this.#win.end;
    if (this.#state === 'start' || this.#frames === 0) {
      if (this.headerBytes > 0 && this.#next > total) return `the input ends inside the ID3v2 tag (${total} bytes)`;
      // one frame alone is a valid (tiny) file: the search waits for a second header that never comes
      const { data, base } = this.#win.append(new Uint8Array(0));
      const at = this.#next - base;
      const f = at >= 0 ? mpegFrame(data, at) : undefined;
      if (f && at + f.length === data.length) return undefined;
      if (f) return `the input ends inside the first MP3 frame (${data.length - at} of ${f.length} bytes)`;
      throw new InvalidAudioError('ERR_DECODE_FORMAT', `decodeStream: no MP3 frame in ${total} bytes: not MP3 audio`);
    }
    if (this.#state === 'frames' && this.#next !== total) {
      return this.#next > total
        ? `the input ends inside the MP3 frame at byte ${this.#frameAt} (${this.#next - total} of its ${this.#next - this.#frameAt} bytes missing)`
        : `the input ends inside a frame header at byte ${this.#next}`;
    }
    // the Xing/Info frame carries no audio; its count covers the frames after it
    if (this.#declared !== undefined && this.#frames - 1 < this.#declared) {
      return `the Xing/Info header declares ${this.#declared} frames, ${this.#frames - 1} arrived`;
    }
    return undefined;
  }
}

/** The total frame count a Xing/Info or VBRI header in the first frame declares, if any. */
function declaredFrames(b: Uint8Array, at: number, mpeg1: boolean, channels: number): number | undefined {
  const side = mpeg1 ? (channels === 1 ? 17 : 32) : channels === 1 ? 9 : 17;
  const x = at + 4 + side;
  if ((hasTag(b, x, 'Xing') || hasTag(b, x, 'Info')) && x + 12 <= b.length && b[x + 7]! & 1) return u32be(b, x + 8);
  if (hasTag(b, at + 36, 'VBRI') && at + 36 + 18 <= b.length) return u32be(b, at + 36 + 14);
  return undefined;
}
