import t from 'tap';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../lib/errors.js';
import { mixChannels } from '../../lib/mix.js';
import { designPolyphase, polyphaseShape } from '../../lib/polyphase/design.js';
import { KERNEL_WASM_BASE64 } from '../../lib/polyphase/kernelWasm.js';
import { MAX_TABLE_BYTES, PolyphaseResampler } from '../../lib/polyphase/PolyphaseResampler.js';
import { createResampler, resamplerEngine } from '../../lib/resampler.js';
import { loadSpeex, SpeexResampler } from '../../lib/speex.js';
import { concatArrays, idealSine, prng, sineFitSnrDb, snrDb, toneLevelDb } from '../helpers/signals.js';

const int16 = (x: Float64Array) => Int16Array.from(x, Math.round);

/** Feed `input` in chunks of `sizes` frames (cycled), then flush; the whole output. */
function runAll(
  r: { skipZeros(): void; process(x: Int16Array): Int16Array; flush(): Int16Array },
  input: Int16Array,
  ch: number,
  sizes: number[],
): Int16Array {
  r.skipZeros();
  const parts: Int16Array[] = [];
  for (let at = 0, k = 0; at < input.length / ch; k++) {
    const n = Math.min(sizes[k % sizes.length]!, input.length / ch - at);
    parts.push(r.process(input.subarray(at * ch, (at + n) * ch)));
    at += n;
  }
  parts.push(r.flush());
  return concatArrays(parts);
}

/** The first index where `a` and `b` differ (−1 if identical): tap's deep equality is slow on long arrays. */
function firstDiff(a: Int16Array, b: Int16Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const PAIRS: Array<[number, number]> = [
  [8000, 48000],
  [16000, 48000],
  [22050, 48000],
  [24000, 48000],
  [44100, 48000],
  [48000, 16000],
  [48000, 8000],
  [48000, 44100],
  [44100, 16000],
  [11025, 16000],
];

t.test('the kernel in the package is kernel.wat assembled (scripts/build-kernel.mjs)', async (t) => {
  const { assembleKernel } = (await import('../../scripts/build-kernel.mjs' as string)) as {
    assembleKernel(): Promise<Buffer>;
  };
  const fresh = await assembleKernel();
  t.equal(KERNEL_WASM_BASE64, fresh.toString('base64'), 'run `node scripts/build-kernel.mjs` after editing kernel.wat');
  t.ok(
    readFileSync(new URL('../../lib/polyphase/kernel.wat', import.meta.url), 'utf8').includes('f32x4.mul'),
    'the kernel is SIMD',
  );
});

t.test(
  'filter shape follows speex quality levels: lengths, phases, cutoffs; every row sums to ≈ 1 (unity DC gain)',
  async (t) => {
    t.match(polyphaseShape(44100, 48000, 4), { taps: 64, phases: 160, step: 147, cutoff: 0.94, beta: 8 });
    t.match(polyphaseShape(8000, 48000, 4), { taps: 64, phases: 6, step: 1 });
    t.match(
      polyphaseShape(48000, 16000, 4),
      { taps: 192, phases: 1, step: 3 },
      'downsampling stretches the filter by the ratio',
    );
    t.match(polyphaseShape(48000, 44100, 4), { taps: 72, phases: 147, step: 160 }, 'rounded up to a multiple of 8');
    t.equal(polyphaseShape(48000, 16000, 4).cutoff, 0.921 / 3);
    for (const [q, bound] of [
      [0, 0.005],
      [4, 0.0001],
      [10, 0.000001],
    ] as const) {
      const f = designPolyphase(44100, 48000, q);
      t.equal(f.taps % 8, 0, `q${q}: taps a multiple of 8 (the kernel's unroll)`);
      let worst = 0;
      for (let p = 0; p < f.phases; p++) {
        let sum = 0;
        for (let j = 0; j < f.taps; j++) sum += f.table[p * f.taps + j]!;
        worst = Math.max(worst, Math.abs(sum - 1));
      }
      t.ok(worst < bound, `q${q}: every phase's DC gain is 1 ± ${worst.toExponential(1)} (< ${bound})`);
    }
  },
);

t.test('supports(): common ratios yes; tables over 256 KiB, equal rates and bad input no', async (t) => {
  for (const [i, o] of PAIRS) t.ok(PolyphaseResampler.supports(i, o, 4), `${i} → ${o}`);
  t.notOk(PolyphaseResampler.supports(44100, 47999, 4), '47999 phases: a 12 MB table');
  t.notOk(PolyphaseResampler.supports(48000, 48000, 4));
  t.notOk(PolyphaseResampler.supports(0, 48000, 4));
  t.notOk(PolyphaseResampler.supports(8000, 48000, 11));
  t.ok(
    polyphaseShape(11025, 48000, 10).taps * polyphaseShape(11025, 48000, 10).phases * 4 > MAX_TABLE_BYTES,
    'q10 at 11.025 kHz is too big',
  );
  t.notOk(PolyphaseResampler.supports(11025, 48000, 10));
  t.equal(resamplerEngine(44100, 48000), 'polyphase');
  t.equal(resamplerEngine(44100, 47999), 'speex');
  t.throws(() => new PolyphaseResampler(1, 44100, 47999, 4), { name: 'ConfigError', code: 'ERR_RESAMPLE_OPTIONS' });
  t.throws(() => new PolyphaseResampler(0, 44100, 48000, 4), ConfigError);
  t.throws(() => new PolyphaseResampler(1.5, 44100, 48000, 4), ConfigError);
});

t.test('createResampler falls back to speex for a ratio it cannot tabulate', async (t) => {
  await loadSpeex();
  const a = createResampler(1, 44100, 48000);
  const b = createResampler(1, 44100, 47999);
  t.type(a, PolyphaseResampler);
  t.type(b, SpeexResampler);
  b.skipZeros();
  const out = concatArrays([b.process(new Int16Array(4410).fill(1000)), b.flush()]);
  t.equal(out.length, Math.ceil((4410 * 47999) / 44100));
  a.destroy();
  b.destroy();
});

t.test('exact length ceil(input × ratio) and the same samples for any chunking', async (t) => {
  const rand = prng(11);
  for (const [i, o] of PAIRS) {
    for (const ch of [1, 2]) {
      const frames = 3000 + Math.floor(rand() * 3000);
      const x = Int16Array.from({ length: frames * ch }, () => Math.floor(rand() * 40000) - 20000);
      const a = runAll(new PolyphaseResampler(ch, i, o, 4), x, ch, [frames]);
      const b = runAll(new PolyphaseResampler(ch, i, o, 4), x, ch, [1, 37, 441, 0, 5, 1999]);
      t.equal(a.length / ch, Math.ceil((frames * o) / i), `${i} → ${o}, ${ch} ch, ${frames} frames`);
      t.equal(firstDiff(b, a), -1, `${i} → ${o}, ${ch} ch: chunking does not change a sample`);
    }
  }
});

t.test(
  'agrees with speex at the same quality to within 1 LSB (same filter, exact table instead of interpolated)',
  async (t) => {
    await loadSpeex();
    const rand = prng(5);
    for (const [i, o] of PAIRS) {
      const x = int16(idealSine(i, 997, i, 0.8));
      for (let k = 0; k < x.length; k++) x[k] = x[k]! + Math.floor(rand() * 200) - 100;
      const p = runAll(new PolyphaseResampler(1, i, o, 4), x, 1, [480]);
      const s = runAll(new SpeexResampler(1, i, o, 4), x, 1, [480]);
      t.equal(p.length, s.length, `${i} → ${o}: same length`);
      let worst = 0;
      for (let k = 0; k < p.length; k++) worst = Math.max(worst, Math.abs(p[k]! - s[k]!));
      t.ok(worst <= 1, `${i} → ${o}: largest difference ${worst} LSB`);
    }
  },
);

t.test('clean: SNR against the ideal sine, aligned with the input (skipZeros)', async (t) => {
  for (const [i, o] of [
    [44100, 48000],
    [8000, 48000],
    [22050, 48000],
    [48000, 44100],
  ] as const) {
    const hz = i === 8000 ? 997 : 3001;
    const out = runAll(new PolyphaseResampler(1, i, o, 4), int16(idealSine(i, hz, i, 0.9)), 1, [441]);
    const ideal = idealSine(o, hz, o, 0.9);
    const edge = o / 100;
    const snr = snrDb(out.subarray(edge, -edge), ideal.subarray(edge, -edge));
    t.ok(snr >= 88, `${i} → ${o}: SNR ${snr.toFixed(1)} dB against the ideal (no delay) ≥ 88 dB`);
  }
});

t.test('downsampling removes what the new rate cannot hold: 12 kHz at 48 → 16 kHz', async (t) => {
  const x = int16(idealSine(48000, 12000, 48000, 0.9));
  const out = runAll(new PolyphaseResampler(1, 48000, 16000, 4), x, 1, [480]);
  // 12 kHz folds to 4 kHz at 16 kHz
  const alias = toneLevelDb(out.subarray(160, -160), 16000, 4000);
  t.ok(alias < -85, `alias at 4 kHz: ${alias.toFixed(1)} dBFS`);
  const y = int16(idealSine(48000, 1000, 48000, 0.9));
  const kept = runAll(new PolyphaseResampler(1, 48000, 16000, 4), y, 1, [480]);
  t.ok(sineFitSnrDb(kept.subarray(160, -160), 16000, 1000) > 85, 'a 1 kHz tone passes clean');
});

t.test('full-scale input saturates to int16 instead of wrapping', async (t) => {
  for (const level of [32767, -32768]) {
    // silence, then a step to full scale: the filter's overshoot (Gibbs, ~9 %) passes full scale
    const step = Int16Array.from({ length: 4410 }, (_, k) => (k < 2000 ? 0 : level));
    const out = runAll(new PolyphaseResampler(1, 44100, 48000, 4), step, 1, [441]);
    const after = out.subarray(Math.ceil((2000 * 48000) / 44100));
    let clipped = 0;
    let wrapped = 0;
    for (const v of after) {
      if (v === level) clipped++;
      if (Math.sign(v) === -Math.sign(level) && Math.abs(v) > 1000) wrapped++;
    }
    t.ok(clipped > 0, `${level}: held at full scale, clipped to ${level} (${clipped} samples)`);
    t.equal(wrapped, 0, `${level}: no sample wraps to the other sign`);
  }
});

t.test(
  'mixing on the way in equals mixing first (2 → 1 by the SIMD loader, 3 → 1 and 1 → 2 by lib/mix.ts)',
  async (t) => {
    const rand = prng(3);
    const random = (n: number) => Int16Array.from({ length: n }, () => Math.floor(rand() * 65536) - 32768);
    const sizes = [1, 3, 441, 7, 2048, 1, 4999, 1500]; // odd frame counts: the loaders' scalar tails
    for (const [from, to] of [
      [2, 1],
      [3, 1],
      [1, 2],
    ] as const) {
      const input = random(from * 9001);
      input.set([-32768, -32768, 32767, 32767, -32768, 32767, 1, 2, -1, -2, 3, -3], 0);
      const fused = new PolyphaseResampler(to, 44100, 48000, 4);
      const sep = new PolyphaseResampler(to, 44100, 48000, 4);
      fused.skipZeros();
      sep.skipZeros();
      const a: Int16Array[] = [];
      const b: Int16Array[] = [];
      for (let at = 0, k = 0; at < 9001; k++) {
        const n = Math.min(sizes[k % sizes.length]!, 9001 - at);
        const chunk = input.subarray(from * at, from * (at + n));
        a.push(fused.process(chunk, from));
        b.push(sep.process(mixChannels(chunk, from, to)));
        at += n;
      }
      a.push(fused.flush());
      b.push(sep.flush());
      t.equal(firstDiff(concatArrays(a), concatArrays(b)), -1, `${from} → ${to} on the way in: sample-exact`);
      t.equal(concatArrays(a).length / to, Math.ceil((9001 * 48000) / 44100));
    }
    t.equal(new PolyphaseResampler(1, 44100, 48000, 4).inputLatency, 32, 'the lookahead is half the filter');
    t.equal(new PolyphaseResampler(1, 48000, 16000, 4).inputLatency, 96);
    const r = new PolyphaseResampler(2, 44100, 48000, 4);
    t.throws(() => r.process(new Int16Array(3), 2), { name: 'FrameFormatError', code: 'ERR_FRAME_FORMAT' });
    t.throws(() => r.process(new Int16Array(6), 3), { name: 'FrameFormatError', code: 'ERR_CHANNEL_MIX' });
  },
);

t.test('a first call far larger than the initial layout grows the memory and keeps the history', async (t) => {
  const x = int16(idealSine(44100, 997, 44100 * 12, 0.5));
  const r = new PolyphaseResampler(1, 44100, 48000, 4);
  const small = new PolyphaseResampler(1, 44100, 48000, 4);
  const a = runAll(r, x, 1, [100, 44100 * 8, 7]);
  const b = runAll(small, x, 1, [441]);
  t.equal(firstDiff(a, b), -1, 'growing mid-stream changes nothing');
  t.equal(a.length, 48000 * 12);
});

t.test('without skipZeros the output carries the filter delay (half the taps) in front', async (t) => {
  const r = new PolyphaseResampler(1, 8000, 48000, 4);
  const impulse = new Int16Array(200);
  impulse[0] = 10000;
  const out = concatArrays([r.process(impulse), r.flush()]);
  let peak = 0;
  for (let k = 1; k < out.length; k++) if (Math.abs(out[k]!) > Math.abs(out[peak]!)) peak = k;
  t.equal(peak, 32 * 6, 'the impulse comes out taps/2 input samples late (the lookahead skipZeros removes)');
});
