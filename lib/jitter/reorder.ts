/**
 * Ordering for RTP-like input. Packets carry `seq` (16-bit, wraps) and/or `timestamp` (in samples at the stream
 * rate, 32-bit, wraps); plain frames carry neither and are taken in arrival order.
 *
 * A packet that arrives ahead of a missing one is held. The missing one is waited for until its audio is due —
 * the playout FIFO has run out in front of it (NetEq's rule: the reorder window is the buffer depth itself);
 * then it is declared lost, the gap is concealed and the held packets play. A packet that turns up after its
 * slot was concealed is late: counted and dropped; one whose slot was already played is a duplicate (dropped).
 *
 * Gap length: from timestamps when present, else missing packets × the next packet's length. A gap longer than
 * `maxGapSamples` (a sender restart, a timestamp jump) is not concealed: the stream resynchronizes (counted).
 *
 * Until playout starts (the first releaseGap), everything is held: a packet that arrives before the one that came
 * first (packet 2 overtaking packet 1 at the start of a call) still finds its place, and becomes the start.
 */
import { FrameFormatError } from '../errors.js';

export interface InPacket {
  data: Int16Array;
  frames: number;
  seq?: number;
  timestamp?: number;
}

/** In-order audio (with its media position in frames) or a gap to conceal. */
export type Released = { data: Int16Array; frames: number; pos: number } | { gap: number };

interface Held {
  key: number;
  data: Int16Array;
  frames: number;
  /** media position from the timestamp, NaN without one */
  tsPos: number;
}

type Mode = 'plain' | 'seq' | 'ts';

const SEQ_MOD = 65536;
const TS_MOD = 4294967296;
const LOST_MEMORY = 64;

function unwrapDelta(raw: number, ref: number, mod: number): number {
  return ((((raw - ref) % mod) + mod + mod / 2) % mod) - mod / 2;
}

export class Reorderer {
  readonly maxGapSamples: number;
  reordered = 0;
  late = 0;
  duplicates = 0;
  /** packets declared lost (seq mode: exact; timestamp mode: one per gap) */
  lost = 0;
  resyncs = 0;
  #mode: Mode | undefined;
  #held: Held[] = [];
  #heldSamples = 0;
  #nextKey = NaN;
  #maxKey = -Infinity;
  #nextPos = 0;
  // unwrapping references
  #seqRaw = 0;
  #seqExt = 0;
  #tsRaw = 0;
  #tsExt = 0;
  #tsBase = NaN;
  /** key ranges [from, to) declared lost, the most recent LOST_MEMORY of them */
  #lost: [number, number][] = [];
  /** Playout has begun: audio in order is released as it comes. Before, all is held (see the header). */
  #playing = false;

  constructor(maxGapSamples: number) {
    this.maxGapSamples = maxGapSamples;
  }

  /** Audio frames held behind a gap. */
  get heldSamples(): number {
    return this.#heldSamples;
  }

  /** Estimated frames of the gap in front of the held packets (0 when nothing is held). */
  get gapSamples(): number {
    const first = this.#held[0];
    if (first === undefined) return 0;
    const gap = this.#gapBefore(first);
    return gap > this.maxGapSamples ? 0 : Math.max(0, gap);
  }

  get hasHeld(): boolean {
    return this.#held.length > 0;
  }

  /**
   * Take one packet; in-order audio is appended to `out`. Returns the packet's media position in frames (for the
   * jitter estimate; an estimate for a seq-only packet ahead of a gap) and whether it was accepted.
   */
  accept(p: InPacket, out: Released[]): { pos: number; status: 'ok' | 'late' | 'duplicate' } {
    const mode: Mode = p.seq !== undefined ? 'seq' : p.timestamp !== undefined ? 'ts' : 'plain';
    this.#mode ??= mode;
    if (mode !== this.#mode) {
      throw new FrameFormatError(
        'ERR_PACKET_METADATA',
        `jitterBuffer: the stream started with ${describeMode(this.#mode)} but a packet came with ${describeMode(mode)}`,
      );
    }
    if (mode === 'plain') {
      const pos = this.#nextPos;
      this.#nextPos += p.frames;
      out.push({ data: p.data, frames: p.frames, pos });
      return { pos, status: 'ok' };
    }
    const tsPos = p.timestamp === undefined ? NaN : this.#unwrapTs(p.timestamp);
    const key = mode === 'seq' ? this.#unwrapSeq(p.seq!) : tsPos;
    if (Number.isNaN(this.#nextKey)) this.#nextKey = key;
    const pos = Number.isNaN(tsPos) ? this.#nextPos + (key - this.#nextKey) * p.frames : tsPos;
    const earlier = mode === 'seq' ? (this.#nextKey - key) * p.frames : this.#nextKey - key;
    if (earlier > 0 && earlier <= this.maxGapSamples && !this.#playing) {
      // before playout: an earlier packet than the first to arrive becomes the start
      this.#nextPos = Number.isNaN(tsPos) ? this.#nextPos - earlier : tsPos;
      this.#nextKey = key;
    }
    if (key < this.#nextKey) {
      // a slot that was concealed is late; one that was played is a duplicate
      if (this.#lost.some(([from, to]) => key >= from && key < to)) {
        this.late++;
        return { pos, status: 'late' };
      }
      this.duplicates++;
      return { pos, status: 'duplicate' };
    }
    if (this.#held.some((h) => h.key === key)) {
      this.duplicates++;
      return { pos, status: 'duplicate' };
    }
    if (key < this.#maxKey) this.reordered++;
    this.#maxKey = Math.max(this.#maxKey, key);
    const h: Held = { key, data: p.data, frames: p.frames, tsPos };
    if (key === this.#nextKey && this.#playing) {
      this.#release(h, out);
      this.#drain(out);
    } else {
      let i = this.#held.length;
      while (i > 0 && this.#held[i - 1]!.key > key) i--;
      this.#held.splice(i, 0, h);
      this.#heldSamples += h.frames;
    }
    return { pos, status: 'ok' };
  }

  /** Playout has begun (implied by the first releaseGap): audio in order is released as it arrives from now on. */
  play(out: Released[]): void {
    this.#playing = true;
    this.#drain(out);
  }

  /** Declare the gap in front of the first held packet lost: a gap item, then the held audio that follows it. */
  releaseGap(out: Released[]): void {
    this.#playing = true;
    const first = this.#held[0];
    if (first === undefined) return;
    const missing = this.#gapBefore(first);
    if (first.key === this.#nextKey) {
      // no gap: the held audio was waiting for playout to start
    } else if (missing > this.maxGapSamples || missing < 0) {
      this.resyncs++;
    } else {
      this.lost += this.#mode === 'seq' ? first.key - this.#nextKey : 1;
      this.#lost.push([this.#nextKey, first.key]);
      if (this.#lost.length > LOST_MEMORY) this.#lost.shift();
      if (missing > 0) out.push({ gap: missing });
    }
    this.#nextKey = first.key;
    this.#nextPos = Number.isNaN(first.tsPos) ? this.#nextPos + Math.max(0, missing) : first.tsPos;
    this.#drain(out);
  }

  #gapBefore(first: Held): number {
    if (!Number.isNaN(first.tsPos)) return first.tsPos - this.#nextPos;
    return (first.key - this.#nextKey) * first.frames;
  }

  #drain(out: Released[]): void {
    while (this.#held.length > 0 && this.#held[0]!.key === this.#nextKey) {
      const h = this.#held.shift()!;
      this.#heldSamples -= h.frames;
      this.#release(h, out);
    }
  }

  #release(h: Held, out: Released[]): void {
    const pos = Number.isNaN(h.tsPos) ? this.#nextPos : h.tsPos;
    out.push({ data: h.data, frames: h.frames, pos });
    this.#nextPos = pos + h.frames;
    this.#nextKey = this.#mode === 'seq' ? h.key + 1 : h.key + h.frames;
  }

  #unwrapSeq(raw: number): number {
    checkInteger(raw, 'seq');
    if (Number.isNaN(this.#nextKey)) {
      this.#seqRaw = raw;
      this.#seqExt = 0;
      return 0;
    }
    const ext = this.#seqExt + unwrapDelta(raw, this.#seqRaw, SEQ_MOD);
    if (ext > this.#seqExt) {
      this.#seqRaw = raw;
      this.#seqExt = ext;
    }
    return ext;
  }

  #unwrapTs(raw: number): number {
    checkInteger(raw, 'timestamp');
    if (Number.isNaN(this.#tsBase)) {
      this.#tsBase = raw;
      this.#tsRaw = raw;
      this.#tsExt = 0;
      return 0;
    }
    const ext = this.#tsExt + unwrapDelta(raw, this.#tsRaw, TS_MOD);
    if (ext > this.#tsExt) {
      this.#tsRaw = raw;
      this.#tsExt = ext;
    }
    return ext;
  }
}

function checkInteger(v: number, name: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new FrameFormatError(
      'ERR_PACKET_METADATA',
      `jitterBuffer: packet ${name} must be a non-negative integer, got ${v}`,
    );
  }
}

function describeMode(m: Mode): string {
  return m === 'plain'
    ? 'plain frames (no seq/timestamp)'
    : m === 'seq'
      ? 'packets with seq'
      : 'packets with timestamp only';
}
