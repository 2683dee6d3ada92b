/**
 * "Latency is declared, not discovered": every stage reports how much audio it holds, in milliseconds.
 * These helpers count frames sitting in a Node stream's own buffers so stages can add their internal state.
 */
import type { Readable, Writable } from 'node:stream';
import type { AudioFrame } from '@livekit/rtc-node';

/** A stage that can say how many milliseconds of audio it currently holds. */
export interface HoldsAudio {
  readonly bufferedMs: number;
}

/** Milliseconds of AudioFrames in an iterable of queued chunks (non-frames are ignored). */
export function framesMs(chunks: Iterable<unknown>): number {
  let ms = 0;
  for (const c of chunks) {
    const f = c as AudioFrame;
    if (f && typeof f.samplesPerChannel === 'number' && typeof f.sampleRate === 'number' && f.sampleRate > 0) {
      ms += (f.samplesPerChannel * 1000) / f.sampleRate;
    }
  }
  return ms;
}

/** Milliseconds of frames waiting in a stream's readable buffer (object mode). */
export function readableQueuedMs(stream: Readable): number {
  // readableBuffer is a BufferList in Node 20: iterable over its chunks.
  const buf = (stream as unknown as { readableBuffer?: Iterable<unknown> }).readableBuffer;
  return buf ? framesMs(buf) : 0;
}

/** Milliseconds of frames waiting in a stream's writable buffer (object mode). */
export function writableQueuedMs(stream: Writable): number {
  // Node 20's writableBuffer holds { chunk, encoding, callback } entries, not the chunks themselves.
  const buf = (stream as unknown as { writableBuffer?: Iterable<unknown> }).writableBuffer;
  return buf ? framesMs(Array.from(buf, (e) => (e as { chunk?: unknown })?.chunk ?? e)) : 0;
}

/** Sum of `bufferedMs` over stages that report it: the latency budget a pipeline holds ahead of its sink. */
export function totalBufferedMs(stages: Iterable<unknown>): number {
  let ms = 0;
  for (const s of stages) {
    const b = (s as Partial<HoldsAudio>)?.bufferedMs;
    if (typeof b === 'number') ms += b;
  }
  return ms;
}

/** The q-quantile (0..1) of a numeric sample, by sorting a copy. Empty input gives NaN. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const pos = Math.min(sorted.length - 1, Math.max(0, q * (sorted.length - 1)));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
