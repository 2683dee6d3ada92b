/**
 * Concealment and the fades around it. The rule is "no steps in the waveform": audio never stops or starts at
 * full amplitude. When the buffer runs dry mid-waveform, the last few milliseconds are played backwards
 * (a reflection: same value at the joint, so no step) under a raised-cosine fade-out, then silence; audio that
 * resumes after silence is faded in. A cut inside continuous audio (a drop, a time-stretch) is a crossfade.
 */
import type { SampleQueue } from './sampleQueue.js';

/** Raised-cosine gain rising from ~0 to ~1 over `n` steps (index 0 … n−1, both ends excluded). */
export function fadeGain(i: number, n: number): number {
  return 0.5 - 0.5 * Math.cos((Math.PI * (i + 1)) / (n + 1));
}

/** Fade in the first `fadeFrames` frames of interleaved `data` in place. */
export function fadeIn(data: Int16Array, channels: number, fadeFrames: number): void {
  const n = Math.min(fadeFrames, data.length / channels);
  for (let i = 0; i < n; i++) {
    const g = fadeGain(i, n);
    for (let k = 0; k < channels; k++) data[i * channels + k] = Math.round(data[i * channels + k]! * g);
  }
}

/** Fade in the first `fadeFrames` frames at the head of the queue (before playing resumes). */
export function fadeInHead(queue: SampleQueue, fadeFrames: number): void {
  const n = Math.min(fadeFrames, queue.samples);
  queue.mapHead(n, (i, v) => Math.round(v * fadeGain(i, n)));
}

/**
 * The start of a concealment: `frames` frames that continue `recent` (the audio just played, interleaved,
 * oldest first) by playing it backwards — the joint has no step — under a raised-cosine fade to silence that
 * completes within those frames.
 */
export function fadeOutTail(recent: Int16Array, channels: number, frames: number): Int16Array {
  const have = recent.length / channels;
  const n = Math.min(frames, have);
  const out = new Int16Array(frames * channels);
  for (let j = 0; j < n; j++) {
    const g = 1 - fadeGain(j, n);
    const src = (have - 1 - j) * channels;
    for (let k = 0; k < channels; k++) out[j * channels + k] = Math.round(recent[src + k]! * g);
  }
  return out;
}

/**
 * Cut `cut` frames out of continuous audio at the head of the queue without a step: the `fadeFrames` frames that
 * would have played are crossfaded into the audio that follows the cut. Needs `cut + fadeFrames` frames queued.
 */
export function crossfadeCut(queue: SampleQueue, cut: number, fadeFrames: number): void {
  const before = queue.peek(fadeFrames);
  queue.skip(cut);
  const ch = queue.channels;
  queue.mapHead(fadeFrames, (i, v, k) => {
    const g = fadeGain(i, fadeFrames);
    return Math.round(before[i * ch + k]! * (1 - g) + v * g);
  });
}
