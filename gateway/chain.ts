/**
 * The audio chain of one gateway call, split at the jitter buffer — the clock boundary:
 *
 *   feeding (written as messages arrive):  decodePcm ─► jitterBuffer
 *   playing (pulled by the sink, 10 ms a tick):        jitterBuffer ─► resample ─► rechunk ─► sink
 *
 * Why the jitter buffer comes before the resampler: it then runs at the caller's rate (8 kHz for telephony)
 * instead of the track's 48 kHz, six times fewer samples (figures: docs/scaling.md). Nothing waits on the far
 * side of the resampler either: its few ms of lookahead and the rechunk remainder are all it holds.
 *
 * A caller rate with no whole 10 ms frame (22050 Hz, say) cannot be jitter-buffered in 10 ms frames: there
 * the jitter buffer runs after the resampler, at the track's rate, as decodePcm ─► resample ─► rechunk ─►
 * jitterBuffer. When the track has the caller's rate and channels, nothing follows the jitter buffer.
 *
 * The gateway publishes each call at the caller's own rate by default (trackRate). A LiveKit track is Opus at
 * 48 kHz on the wire whatever its source's rate: WebRTC converts natively, on its own thread, before the encoder.
 * Upsampling 8 kHz telephony to 48 kHz on the main thread first adds nothing to the audio (there is nothing
 * above 4 kHz) and costs main-thread time (bench `ours` against `ours:r=48000`, docs/benchmarks.md).
 */
import type { Duplex, Transform } from 'node:stream';
import type { Clock } from '../lib/clock.js';
import type { HoldsAudio } from '../lib/stats.js';
import { decodePcm, type DecodePcm } from '../transforms/decodePcm.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { jitterBuffer, type JitterBuffer, type JitterBufferOptions } from '../transforms/jitterBuffer.js';
import type { PcmFormat } from './protocols/rawPcm.js';

type Stage = (Transform | Duplex) & HoldsAudio;

export interface CallChain {
  /** Where the caller's bytes are written. */
  decoder: DecodePcm;
  /** decoder, then these, then the jitter buffer. */
  feeding: Stage[];
  jitter: JitterBuffer;
  /** The jitter buffer, then these, then the sink. */
  playing: Stage[];
  /** Every stage, in order (for bufferedMs). */
  stages: Stage[];
  /** The rate and channels the jitter buffer runs at (the caller's, or the track's; see above). */
  jitterRate: number;
  jitterChannels: number;
}

export interface CallChainOptions {
  /** What the caller sends. */
  format: PcmFormat;
  /** What the sink takes. */
  sampleRate: number;
  channels: number;
  jitter?: Partial<JitterBufferOptions>;
  clock: Clock;
}

/** The track rate for a caller's format: its own rate when that has whole 10 ms frames, else 48 kHz. */
export function trackRate(format: PcmFormat): number {
  return format.sampleRate % 100 === 0 ? format.sampleRate : 48000;
}

export function callChain(opts: CallChainOptions): CallChain {
  const { format, sampleRate, channels, clock } = opts;
  const decoder = decodePcm({ encoding: format.encoding, sampleRate: format.sampleRate, channels: format.channels });
  const early = format.sampleRate % 100 === 0;
  const jitterRate = early ? format.sampleRate : sampleRate;
  const jitterChannels = early ? format.channels : channels;
  const jitter = jitterBuffer({ ...opts.jitter, sampleRate: jitterRate, channels: jitterChannels, clock });
  const same = format.sampleRate === sampleRate && format.channels === channels;
  const convert: Stage[] = same ? [] : [resample({ sampleRate, channels }), rechunk()];
  const feeding = early ? [] : convert;
  const playing = early ? convert : [];
  return {
    decoder,
    feeding,
    jitter,
    playing,
    stages: [decoder, ...feeding, jitter, ...playing],
    jitterRate,
    jitterChannels,
  };
}
