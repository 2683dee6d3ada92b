/**
 * The resampling engine for a fixed ratio: the polyphase SIMD kernel where its table is affordable
 * (lib/polyphase/, every common rate pair), otherwise speex (lib/speex.ts). Both keep speex's quality scale,
 * alignment and exact output length, so a stage does not care which it got. Ratios that change on the fly
 * (the jitter buffer's drift correction) use SpeexResampler directly: only speex has `setRatio`.
 */
import { PolyphaseResampler } from './polyphase/PolyphaseResampler.js';
import { checkResamplerShape, SpeexResampler, SPEEX_DEFAULT_QUALITY } from './speex.js';

/** What the stages use of an engine. */
export interface Resampler {
  readonly channels: number;
  /** Input samples per channel held back as lookahead. */
  readonly inputLatency: number;
  /** Align output with input (before the first `process`). */
  skipZeros(): void;
  /** Interleaved int16 in (mixed from `inputChannels`), the output it makes (owned, may be empty). */
  process(input: Int16Array, inputChannels?: number): Int16Array;
  /** The lookahead's tail. */
  flush(): Int16Array;
  destroy(): void;
}

/** Which engine `createResampler` picks for a conversion (for docs, stats and tests). */
export function resamplerEngine(
  inRate: number,
  outRate: number,
  quality = SPEEX_DEFAULT_QUALITY,
): 'polyphase' | 'speex' {
  return PolyphaseResampler.supports(inRate, outRate, quality) ? 'polyphase' : 'speex';
}

/** A fixed-ratio resampler. The speex fallback needs `await loadSpeex()` first (stages do it on construction). */
export function createResampler(
  channels: number,
  inRate: number,
  outRate: number,
  quality = SPEEX_DEFAULT_QUALITY,
): Resampler {
  checkResamplerShape(channels, inRate, outRate);
  return resamplerEngine(inRate, outRate, quality) === 'polyphase'
    ? new PolyphaseResampler(channels, inRate, outRate, quality)
    : new SpeexResampler(channels, inRate, outRate, quality);
}
