/**
 * "Accelerate" (NetEq's name): remove a stretch of audio that will not be missed, to shed a large excess of
 * buffered audio faster than the ±1 % varispeed can. A segment can go when the audio is quiet, or when it is
 * periodic at that lag (normalized correlation ≥ 0.9 — a pitch period of voiced speech, whole cycles of a tone):
 * then the audio after the cut continues the waveform before it, and a short crossfade hides the rest.
 */

export interface StretchSearch {
  /** shortest removable segment, frames */
  minLag: number;
  /** longest removable segment, frames */
  maxLag: number;
  /** correlation window = crossfade length, frames */
  window: number;
  /** RMS below which audio counts as quiet (int16 units) */
  quietRms: number;
  /** correlation needed for a voiced cut */
  minCorrelation: number;
}

/**
 * How many frames can be cut from the front of `x` (interleaved, at least maxLag + window frames): the lag with
 * the best normalized correlation if it reaches minCorrelation, maxLag if the span is quiet, else 0.
 */
export function findCut(x: Int16Array, channels: number, s: StretchSearch): number {
  const span = s.maxLag + s.window;
  const mono = new Float64Array(span);
  let energy = 0;
  for (let i = 0; i < span; i++) {
    let v = 0;
    for (let k = 0; k < channels; k++) v += x[i * channels + k]!;
    v /= channels;
    mono[i] = v;
    energy += v * v;
  }
  if (Math.sqrt(energy / span) < s.quietRms) return s.maxLag;

  let e0 = 0;
  for (let i = 0; i < s.window; i++) e0 += mono[i]! * mono[i]!;
  // energy of the window starting at the lag, slid along as the lag grows
  let eLag = 0;
  for (let i = s.minLag; i < s.minLag + s.window; i++) eLag += mono[i]! * mono[i]!;
  let best = 0;
  let bestCorr = -1;
  for (let lag = s.minLag; lag <= s.maxLag; lag++) {
    let xy = 0;
    for (let i = 0; i < s.window; i++) xy += mono[i]! * mono[i + lag]!;
    const denom = Math.sqrt(e0 * eLag);
    const corr = denom > 0 ? xy / denom : 0;
    if (corr > bestCorr) {
      bestCorr = corr;
      best = lag;
    }
    if (lag + s.window < span) {
      const out = mono[lag]!;
      const inn = mono[lag + s.window]!;
      eLag += inn * inn - out * out;
    }
  }
  return bestCorr >= s.minCorrelation ? best : 0;
}
