/**
 * Float planes (what the wasm engines give) → interleaved int16 (what AudioFrames hold), written straight into
 * the frame being filled: no intermediate array per block.
 *
 * Most engines scale by 2^15 (int16 → x / 32768), which lib/formats.ts floatToInt16 inverts. The FLAC engine
 * scales its integer samples asymmetrically: positive ones by 1 / (2^(b−1) − 1), negative ones by 1 / 2^(b−1),
 * b its bit depth (measured: 16385 arrives as 16385 / 32767). flacToInt16 undoes that, so 16-bit FLAC comes out
 * bit-exact (as ffmpeg decodes it), and deeper FLAC rounds to 16 bits as lib/formats.ts does for 24/32-bit PCM.
 */
import { floatToInt16 } from '../../formats.js';

export type SampleToInt16 = (x: number) => number;

/** The converter for the FLAC engine's floats at `bitDepth` bits. */
export function flacToInt16(bitDepth: number): SampleToInt16 {
  if (!(bitDepth >= 4 && bitDepth <= 32)) return floatToInt16;
  const pos = 2 ** (bitDepth - 1) - 1;
  const neg = 2 ** (bitDepth - 1);
  const shift = bitDepth - 16;
  return (x) => {
    const n = Math.round(x > 0 ? x * pos : x * neg);
    if (shift <= 0) return Math.max(-32768, Math.min(32767, n * 2 ** -shift));
    // round to nearest, ties up, then clip at +32767 (floor(n / 2^shift + 1/2))
    return Math.max(-32768, Math.min(32767, Math.floor(n / 2 ** shift + 0.5)));
  };
}

/**
 * Write samples `from .. from + count` of the first `channels` planes, interleaved, into `out` starting at
 * sample frame `outFrame`. Planes beyond `channels` are ignored (mpg123 always gives two, also for mono MP3).
 */
export function interleaveInt16(
  planes: readonly Float32Array[],
  channels: number,
  from: number,
  count: number,
  out: Int16Array,
  outFrame: number,
  toInt16: SampleToInt16 = floatToInt16,
): void {
  for (let c = 0; c < channels; c++) {
    const p = planes[c]!;
    for (let i = 0, o = outFrame * channels + c; i < count; i++, o += channels) out[o] = toInt16(p[from + i]!);
  }
}
