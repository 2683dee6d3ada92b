/**
 * AudioFrame helpers. Frames are rtc-node `AudioFrame`s: int16 interleaved, `samplesPerChannel` per channel.
 *
 * rtc-node 1.1.0 serialises `new Uint8Array(frame.data.buffer)`, ignoring `byteOffset` (docs/design.md), so every
 * frame this library creates owns its buffer at offset 0 with no spare bytes. `ownedFrame` fixes frames from
 * elsewhere (sockets hand out pooled Buffer views).
 */
import { AudioFrame } from '@livekit/rtc-node';
import { ConfigError, FrameFormatError } from './errors.js';

export { AudioFrame };

/** True when rtc-node would read exactly this frame's samples from `data.buffer`. */
export function ownsBuffer(data: Int16Array): boolean {
  return data.byteOffset === 0 && data.buffer.byteLength === data.byteLength;
}

/** A frame over `data` (interleaved int16). Copies only when `data` is a view into a larger buffer. */
export function createFrame(data: Int16Array, sampleRate: number, channels: number): AudioFrame {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new FrameFormatError('ERR_FRAME_CHANNELS', `channels must be a positive integer, got ${channels}`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1) {
    throw new FrameFormatError('ERR_FRAME_RATE', `sampleRate must be a positive integer, got ${sampleRate}`);
  }
  if (data.length % channels !== 0) {
    throw new FrameFormatError(
      'ERR_FRAME_LENGTH',
      `${data.length} samples is not a whole number of ${channels}-channel sample frames`,
    );
  }
  const owned = ownsBuffer(data) ? data : data.slice();
  return new AudioFrame(owned, sampleRate, channels, owned.length / channels);
}

/** The same frame if it owns its buffer, otherwise a copy that does. */
export function ownedFrame(frame: AudioFrame): AudioFrame {
  if (ownsBuffer(frame.data)) return frame;
  return new AudioFrame(frame.data.slice(), frame.sampleRate, frame.channels, frame.samplesPerChannel);
}

/** A frame of digital silence. */
export function silentFrame(sampleRate: number, channels: number, samplesPerChannel: number): AudioFrame {
  return new AudioFrame(new Int16Array(samplesPerChannel * channels), sampleRate, channels, samplesPerChannel);
}

/** Duration of a frame in milliseconds. */
export function frameMs(frame: AudioFrame): number {
  return (frame.samplesPerChannel * 1000) / frame.sampleRate;
}

/** Samples per channel in `ms` at `sampleRate`; a ConfigError unless it is a whole number. */
export function samplesIn(sampleRate: number, ms: number): number {
  const n = (sampleRate * ms) / 1000;
  if (!Number.isInteger(n) || n <= 0) {
    throw new ConfigError(
      'ERR_FRAME_DURATION',
      `${ms} ms at ${sampleRate} Hz is ${n} samples; frames must hold a whole, positive number of samples`,
    );
  }
  return n;
}

/** Throws a FrameFormatError unless `frame` is a well-formed AudioFrame of the given rate and channel count. */
export function checkFrame(frame: unknown, sampleRate: number, channels: number, where: string): AudioFrame {
  if (!(frame instanceof AudioFrame)) {
    throw new FrameFormatError('ERR_NOT_A_FRAME', `${where} expects AudioFrame objects, got ${describe(frame)}`);
  }
  if (frame.sampleRate !== sampleRate || frame.channels !== channels) {
    throw new FrameFormatError(
      'ERR_FRAME_MISMATCH',
      `${where} is configured for ${sampleRate} Hz / ${channels} ch but got a frame of ${frame.sampleRate} Hz / ${frame.channels} ch`,
    );
  }
  if (
    !(frame.data instanceof Int16Array) ||
    !Number.isSafeInteger(frame.samplesPerChannel) ||
    frame.samplesPerChannel < 0 ||
    frame.data.length !== frame.samplesPerChannel * frame.channels
  ) {
    throw new FrameFormatError(
      'ERR_FRAME_LENGTH',
      `${where} got a frame whose data holds ${frame.data?.length} samples but declares ${frame.samplesPerChannel} × ${frame.channels}`,
    );
  }
  return frame;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Buffer.isBuffer(x)) return `a Buffer of ${x.length} bytes (decode bytes first)`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return typeof x;
}

/** The interleaved samples of `frames`, concatenated into one array. */
export function concatSamples(frames: Iterable<AudioFrame>): Int16Array {
  return concatInt16(Array.from(frames, (f) => f.data));
}

/** `parts` end to end, in one new array. */
export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
