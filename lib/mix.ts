/**
 * Channel mixing of int16 interleaved audio. 1 → N duplicates the channel; N → 1 averages, rounded to the
 * nearest integer with ties to even (no DC bias, and the result always fits int16). Any other N → M has no
 * single right answer (which input channel is which speaker?), so it is refused.
 */
import { FrameFormatError } from './errors.js';

/** True when `from` channels can be mixed to `to` channels. */
export function canMix(from: number, to: number): boolean {
  return from === to || from === 1 || to === 1;
}

/** `data` with `from` channels mixed to `to` channels: a new array, or `data` itself when `from === to`. */
export function mixChannels(data: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return data;
  if (!canMix(from, to)) {
    throw new FrameFormatError(
      'ERR_CHANNEL_MIX',
      `cannot mix ${from} channels to ${to}: only 1 → N (duplicate) and N → 1 (average) are defined`,
    );
  }
  const frames = data.length / from;
  const out = new Int16Array(frames * to);
  if (from === 1) {
    for (let i = 0, o = 0; i < frames; i++) {
      const v = data[i]!;
      for (let c = 0; c < to; c++) out[o++] = v;
    }
    return out;
  }
  for (let i = 0, at = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < from; c++) sum += data[at++]!;
    let q = Math.floor(sum / from);
    const twiceRem = 2 * (sum - q * from);
    if (twiceRem > from || (twiceRem === from && q & 1)) q++;
    out[i] = q;
  }
  return out;
}
