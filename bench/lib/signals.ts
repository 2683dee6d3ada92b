/** Inputs the benchmarks feed: a µ-law call signal and a 44.1 kHz stereo WAV file, both built in memory. */
import { encodeMulaw } from '../../lib/formats.js';
import { AudioFrame } from '../../lib/frames.js';

/** Amplitude of the probe sine, int16 units. */
export const PROBE_AMPLITUDE = 16000;
/** Not a divisor of 100 Hz: a dropped or repeated 10 ms frame shows as a phase jump. */
export const PROBE_HZ = 440;

/** The level the sine dips to once per second: the marker the probe times (see probe.ts). */
export const MARKER_LEVEL = 0.6;

/**
 * Gain of the 1-second cycle at input sample `n` (8 kHz): 1, except in the first 20 ms chunk, where a raised-cosine
 * dip to MARKER_LEVEL (5 ms down, 10 ms held, 5 ms up) marks the cycle's start. Smooth, so it does not break the
 * sine's recurrence (no glitch), and above the dropout threshold.
 */
function markerGain(n: number): number {
  const ramp = 40; // 5 ms at 8 kHz
  if (n >= 160) return 1;
  const dip = n < ramp ? n / ramp : n < 160 - ramp ? 1 : (160 - n) / ramp;
  return 1 - (1 - MARKER_LEVEL) * 0.5 * (1 - Math.cos(Math.PI * dip));
}

/**
 * One second of a 440 Hz sine as 8 kHz µ-law, with the marker dip in its first chunk, cut into 20 ms (160-byte)
 * chunks: 50 chunks that repeat seamlessly (440 whole cycles per second). Each chunk owns its bytes, like a
 * socket payload would.
 */
export function mulawCallChunks(): Buffer[] {
  const chunks: Buffer[] = [];
  for (let c = 0; c < 50; c++) {
    const b = Buffer.allocUnsafeSlow(160);
    for (let i = 0; i < 160; i++) {
      const n = c * 160 + i;
      const x = PROBE_AMPLITUDE * markerGain(n) * Math.sin((2 * Math.PI * PROBE_HZ * n) / 8000);
      b[i] = encodeMulaw(Math.round(x));
    }
    chunks.push(b);
  }
  return chunks;
}

/** One second of the probe sine at 48 kHz as 100 frames of 10 ms that repeat seamlessly. */
export function sineFrames(rate = 48000): AudioFrame[] {
  const frames: AudioFrame[] = [];
  const n = rate / 100;
  for (let f = 0; f < 100; f++) {
    const d = new Int16Array(n);
    for (let i = 0; i < n; i++)
      d[i] = Math.round(PROBE_AMPLITUDE * Math.sin((2 * Math.PI * PROBE_HZ * (f * n + i)) / rate));
    frames.push(new AudioFrame(d, rate, 1, n));
  }
  return frames;
}

/**
 * A canonical 44-byte-header WAV, 44.1 kHz stereo int16: a slow chirp on the left, deterministic noise at −20 dB
 * on the right (so the resampler works on real content, not silence).
 */
export function stereoWav(seconds: number): Buffer {
  const rate = 44100;
  const frames = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + frames * 4);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + frames * 4, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(frames * 4, 40);
  let seed = 12345;
  let phase = 0;
  for (let i = 0; i < frames; i++) {
    const hz = 100 + ((i / rate) % 10) * 1000; // 100 Hz → 10 kHz every 10 s
    phase += (2 * Math.PI * hz) / rate;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    buf.writeInt16LE(Math.round(12000 * Math.sin(phase)), 44 + i * 4);
    buf.writeInt16LE(((seed >>> 16) % 6554) - 3277, 46 + i * 4);
  }
  return buf;
}

/** `buf` cut into chunks of `size` bytes (the last may be shorter), as a file read stream would hand them out. */
export function chunked(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) out.push(buf.subarray(at, Math.min(buf.length, at + size)));
  return out;
}
