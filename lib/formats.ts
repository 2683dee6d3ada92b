/**
 * Sample conversions shared by the decoders: every supported sample encoding → int16, plus G.711 µ-law/A-law
 * encoders (for tests and simulated telephony clients).
 *
 * Rounding rules (docs/decoding.md):
 * - 24/32-bit integers round to nearest, ties up (floor(x / 2^k + 1/2)), then clip at +32767.
 * - Floats are scaled by 32768 (the inverse of the usual int16 → float x/32768, so int16-sourced float
 *   data converts back bit-exact), rounded to nearest, clipped to [-32768, 32767]; NaN → 0.
 * - 8-bit PCM is unsigned (128 = silence): (b − 128) × 256.
 * - G.711 follows ITU-T G.711 with the classic Sun/CCITT reference code. Decoding matches sox and ffmpeg for
 *   all 256 codes; encoding matches sox for all 65536 int16 inputs (checked against sox output, see
 *   test/transforms/decodePcm.test.ts and docs/decoding.md).
 */

/**
 * The sample rates audio uses, Hz, inclusive: every decoder, the resampler engines and the sinks refuse a rate
 * outside it with a typed error (a header that says 1 Hz is hostile, not audio). 1 kHz is below any real codec;
 * 768 kHz is the highest rate audio files are made at (DXD ×2).
 */
export const SAMPLE_RATE_RANGE = [1000, 768000] as const;

/** True when `rate` is an integer in SAMPLE_RATE_RANGE. */
export function isAudioSampleRate(rate: unknown): rate is number {
  return Number.isInteger(rate) && (rate as number) >= SAMPLE_RATE_RANGE[0] && (rate as number) <= SAMPLE_RATE_RANGE[1];
}

/** The most channels any stage accepts (a frame of 10 ms at 768 kHz × 64 channels is still ~1 MB). */
export const MAX_CHANNELS = 64;

/**
 * An rtc-node `AudioSource` queue size it accepts: 0 (direct mode) or a positive multiple of 10 ms. rtc-node
 * panics — ending the process — on anything else, so every caller checks this first.
 */
export function isNativeQueueMs(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms % 10 === 0;
}

/** Sample encodings the decoders understand. Multi-byte encodings are little-endian unless named `be`. */
export type SampleEncoding = 'u8' | 's16le' | 's16be' | 's24le' | 's32le' | 'f32le' | 'f64le' | 'mulaw' | 'alaw';

const BYTES: Record<SampleEncoding, number> = {
  u8: 1,
  s16le: 2,
  s16be: 2,
  s24le: 3,
  s32le: 4,
  f32le: 4,
  f64le: 8,
  mulaw: 1,
  alaw: 1,
};

/** Every SampleEncoding, in a stable order. */
export const SAMPLE_ENCODINGS = Object.keys(BYTES) as readonly SampleEncoding[];

/** True when `x` names a SampleEncoding. */
export function isSampleEncoding(x: unknown): x is SampleEncoding {
  return typeof x === 'string' && Object.hasOwn(BYTES, x);
}

/** Bytes one sample of `encoding` occupies. */
export function bytesPerSample(encoding: SampleEncoding): number {
  return BYTES[encoding];
}

/** A float sample (nominal range [-1, 1]) as int16: ×32768, round to nearest, clip; NaN → 0. */
export function floatToInt16(x: number): number {
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
}

/** G.711 µ-law byte → linear (±32124), ITU-T G.711 / Sun reference `ulaw2linear`. */
function mulawDecode(u: number): number {
  u = ~u & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** G.711 A-law byte → linear (±32256), ITU-T G.711 / Sun reference `alaw2linear`. */
function alawDecode(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** µ-law byte → int16, all 256 codes. */
export const MULAW_TO_INT16: Int16Array = Int16Array.from({ length: 256 }, (_, b) => mulawDecode(b));
/** A-law byte → int16, all 256 codes. */
export const ALAW_TO_INT16: Int16Array = Int16Array.from({ length: 256 }, (_, b) => alawDecode(b));

const MULAW_SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segment(v: number, ends: readonly number[]): number {
  let seg = 0;
  while (seg < 8 && v > ends[seg]!) seg++;
  return seg;
}

/** int16 → G.711 µ-law byte: Sun reference `linear2ulaw` on the 14-bit value round(x / 4), byte-identical to sox. */
export function encodeMulaw(x: number): number {
  let v = Math.min(8191, (x + 2) >> 2);
  let mask = 0xff;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  }
  if (v > 8159) v = 8159;
  v += 0x21;
  const seg = segment(v, MULAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  return (((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask) & 0xff;
}

/** int16 → G.711 A-law byte: Sun reference `linear2alaw` on the 13-bit value round(x / 8), byte-identical to sox. */
export function encodeAlaw(x: number): number {
  let v = Math.min(4095, (x + 4) >> 3);
  let mask = 0xd5;
  if (v < 0) {
    v = -v - 1;
    mask = 0x55;
  }
  const seg = segment(v, ALAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  const q = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | q) ^ mask;
}

/** µ-law bytes → int16 samples. */
export function mulawToInt16(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  toInt16('mulaw', bytes, out);
  return out;
}

/** A-law bytes → int16 samples. */
export function alawToInt16(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  toInt16('alaw', bytes, out);
  return out;
}

/** int16 samples → µ-law bytes. */
export function int16ToMulaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  fromInt16('mulaw', samples, out);
  return out;
}

/** int16 samples → A-law bytes. */
export function int16ToAlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  fromInt16('alaw', samples, out);
  return out;
}

/**
 * Convert `out.length` samples of `encoding` from the start of `src` into `out` (int16). `src` must hold at
 * least `out.length × bytesPerSample(encoding)` bytes.
 */
export function toInt16(encoding: SampleEncoding, src: Uint8Array, out: Int16Array): void {
  const n = out.length;
  switch (encoding) {
    case 'u8':
      for (let i = 0; i < n; i++) out[i] = (src[i]! - 128) << 8;
      return;
    case 's16le':
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = src[j]! | (src[j + 1]! << 8);
      return;
    case 's16be':
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (src[j]! << 8) | src[j + 1]!;
      return;
    case 's24le':
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const v = ((src[j]! | (src[j + 1]! << 8) | (src[j + 2]! << 16)) << 8) >> 8;
        const r = (v >> 8) + ((v >> 7) & 1);
        out[i] = r > 32767 ? 32767 : r;
      }
      return;
    case 's32le':
      for (let i = 0, j = 0; i < n; i++, j += 4) {
        const v = src[j]! | (src[j + 1]! << 8) | (src[j + 2]! << 16) | (src[j + 3]! << 24);
        const r = (v >> 16) + ((v >> 15) & 1);
        out[i] = r > 32767 ? 32767 : r;
      }
      return;
    case 'f32le': {
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < n; i++) out[i] = floatToInt16(dv.getFloat32(i * 4, true));
      return;
    }
    case 'f64le': {
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < n; i++) out[i] = floatToInt16(dv.getFloat64(i * 8, true));
      return;
    }
    case 'mulaw':
      for (let i = 0; i < n; i++) out[i] = MULAW_TO_INT16[src[i]!]!;
      return;
    case 'alaw':
      for (let i = 0; i < n; i++) out[i] = ALAW_TO_INT16[src[i]!]!;
      return;
  }
}

/**
 * Convert int16 `samples` into `encoding` at the start of `out` (which must hold samples.length ×
 * bytesPerSample(encoding) bytes): the inverse of toInt16 — exact for every 16-bit value into s16/s24/s32/f32/f64;
 * u8 to the nearest code; G.711 through the Sun reference encoders (a level next to the sample; every code
 * decodes and re-encodes to itself but µ-law's negative zero).
 */
export function fromInt16(encoding: SampleEncoding, samples: Int16Array, out: Uint8Array): void {
  const n = samples.length;
  switch (encoding) {
    case 'u8':
      for (let i = 0; i < n; i++) out[i] = Math.min(255, (samples[i]! + 32768 + 128) >> 8);
      return;
    case 's16le':
      for (let i = 0, j = 0; i < n; i++, j += 2) {
        const v = samples[i]!;
        out[j] = v & 0xff;
        out[j + 1] = (v >> 8) & 0xff;
      }
      return;
    case 's16be':
      for (let i = 0, j = 0; i < n; i++, j += 2) {
        const v = samples[i]!;
        out[j] = (v >> 8) & 0xff;
        out[j + 1] = v & 0xff;
      }
      return;
    case 's24le':
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const v = samples[i]! << 8;
        out[j] = v & 0xff;
        out[j + 1] = (v >> 8) & 0xff;
        out[j + 2] = (v >> 16) & 0xff;
      }
      return;
    case 's32le':
      for (let i = 0, j = 0; i < n; i++, j += 4) {
        const v = samples[i]! << 16;
        out[j] = v & 0xff;
        out[j + 1] = (v >> 8) & 0xff;
        out[j + 2] = (v >> 16) & 0xff;
        out[j + 3] = (v >>> 24) & 0xff;
      }
      return;
    case 'f32le': {
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < n; i++) dv.setFloat32(i * 4, samples[i]! / 32768, true);
      return;
    }
    case 'f64le': {
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < n; i++) dv.setFloat64(i * 8, samples[i]! / 32768, true);
      return;
    }
    case 'mulaw':
      for (let i = 0; i < n; i++) out[i] = encodeMulaw(samples[i]!);
      return;
    case 'alaw':
      for (let i = 0; i < n; i++) out[i] = encodeAlaw(samples[i]!);
      return;
  }
}
