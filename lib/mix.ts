/**
 * Channel mixing of int16 interleaved audio. 1 → N duplicates the channel; N → 1 averages, rounded to the
 * nearest integer with ties to even (no DC bias, and the result always fits int16). Any other N → M has no
 * single right answer (which input channel is which speaker?), so it is refused.
 *
 * Stereo → mono and mono → stereo, the common cases, have their own loops: the generic N → 1 rounding branches
 * on data (a mispredicted branch on half the samples of real audio: 8–12 ns per sample pair, measured), the
 * 2 → 1 loop rounds with shifts only (~1.2 ns per pair). Same output, bit for bit (test/lib/mix.test.ts).
 */
import { FrameFormatError } from './errors.js';

/** True when `from` channels can be mixed to `to` channels. */
export function canMix(from: number, to: number): boolean {
  return from === to || from === 1 || to === 1;
}

/** `data` with `from` channels mixed to `to` channels: a new array, or `data` itself when `from === to`. */
export function mixChannels(data: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return data;
  checkMix(from, to);
  const out = new Int16Array((data.length / from) * to);
  mixInto(data, from, to, out, 0);
  return out;
}

/**
 * Mix `data` (`from` channels) to `to` channels into `out` starting at index `at` (e.g. straight into a WASM
 * heap view, with no array in between). `out` must have room for data.length / from × to samples from `at`.
 */
export function mixInto(data: Int16Array, from: number, to: number, out: Int16Array, at: number): void {
  if (from === to) {
    out.set(data, at);
    return;
  }
  checkMix(from, to);
  const frames = data.length / from;
  if (from === 2) return downmixStereo(data, frames, out, at);
  if (from === 1) {
    if (to === 2) {
      for (let i = 0, o = at; i < frames; i++, o += 2) out[o] = out[o + 1] = data[i]!;
      return;
    }
    for (let i = 0, o = at; i < frames; i++) {
      const v = data[i]!;
      for (let c = 0; c < to; c++) out[o++] = v;
    }
    return;
  }
  for (let i = 0, src = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < from; c++) sum += data[src++]!;
    let q = Math.floor(sum / from);
    const twiceRem = 2 * (sum - q * from);
    if (twiceRem > from || (twiceRem === from && q & 1)) q++;
    out[at + i] = q;
  }
}

function checkMix(from: number, to: number): void {
  if (!canMix(from, to)) {
    throw new FrameFormatError(
      'ERR_CHANNEL_MIX',
      `cannot mix ${from} channels to ${to}: only 1 → N (duplicate) and N → 1 (average) are defined`,
    );
  }
}

/**
 * (L + R) / 2 to nearest, ties to even, without a branch: s >> 1 is floor(s / 2); adding bit 1 of s before the
 * shift rounds an odd s (a tie) up exactly when floor(s / 2) is odd.
 */
function downmixStereo(data: Int16Array, frames: number, out: Int16Array, at: number): void {
  for (let i = 0, j = 0, o = at; i < frames; i++, j += 2, o++) {
    const s = data[j]! + data[j + 1]!;
    out[o] = (s + ((s >> 1) & 1)) >> 1;
  }
}
