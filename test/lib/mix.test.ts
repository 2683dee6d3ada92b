import t from 'tap';
import { canMix, mixChannels, mixInto } from '../../lib/mix.js';
import { prng } from '../helpers/signals.js';

/** The contract, computed the slow and obvious way: the exact mean, to nearest, ties to even. */
function meanHalfEven(values: number[]): number {
  const x = values.reduce((a, b) => a + b, 0) / values.length; // exact: |sum| < 2^53, ÷ 2 and ÷ 4 exact
  const f = Math.floor(x);
  const frac = x - f;
  if (Math.abs(frac - 0.5) > 1e-12) return frac < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function reference(data: Int16Array, from: number, to: number): Int16Array {
  const frames = data.length / from;
  const out = new Int16Array(frames * to);
  for (let i = 0; i < frames; i++) {
    const v = meanHalfEven(Array.from(data.subarray(i * from, (i + 1) * from)));
    for (let c = 0; c < to; c++) out[i * to + c] = v;
  }
  return out;
}

function randomSamples(n: number, seed: number): Int16Array {
  const rand = prng(seed);
  return Int16Array.from({ length: n }, () => Math.floor(rand() * 65536) - 32768);
}

t.test('stereo → mono: every possible sum L + R, -65536 … 65534, matches the contract', async (t) => {
  const pairs = new Int16Array(2 * 131071);
  for (let s = -65536, i = 0; s <= 65534; s++, i += 2) {
    const l = Math.max(-32768, s - 32767);
    pairs[i] = l;
    pairs[i + 1] = s - l;
  }
  const got = mixChannels(pairs, 2, 1);
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++) {
    if (got[i] !== meanHalfEven([pairs[2 * i]!, pairs[2 * i + 1]!])) bad = i;
  }
  t.equal(bad, -1, bad < 0 ? 'all 131071 sums' : `sum ${pairs[2 * bad]! + pairs[2 * bad + 1]!} gives ${got[bad]}`);
  t.same(
    Array.from(
      mixChannels(
        Int16Array.from([-32768, -32768, 32767, 32767, -32768, 32767, 1, 2, -1, -2, 3, 4, -3, -4, 1, 0, -1, 0]),
        2,
        1,
      ),
    ),
    [-32768, 32767, 0, 2, -2, 4, -4, 0, 0],
    'extremes and ties: 1.5 → 2, -1.5 → -2, 3.5 → 4, -3.5 → -4, 0.5 → 0, -0.5 → 0',
  );
});

t.test('stereo → mono on odd lengths and random data equals the reference', async (t) => {
  for (const frames of [0, 1, 3, 7, 441, 4097]) {
    const x = randomSamples(2 * frames, frames + 1);
    t.same(mixChannels(x, 2, 1), reference(x, 2, 1), `${frames} frames`);
  }
});

t.test('mono → stereo duplicates; 1 → 3 and 3 → 1, 4 → 1 (the generic loops) keep their contract', async (t) => {
  const m = randomSamples(101, 5);
  m[0] = -32768;
  m[1] = 32767;
  t.same(mixChannels(m, 1, 2), reference(m, 1, 2), '1 → 2');
  t.same(mixChannels(m, 1, 3), reference(m, 1, 3), '1 → 3');
  const three = randomSamples(3 * 77, 6);
  three.set([-32768, -32768, -32768, 32767, 32767, 32767, 1, 0, 0, 2, 0, 0], 0);
  t.same(mixChannels(three, 3, 1), reference(three, 3, 1), '3 → 1');
  const four = randomSamples(4 * 77, 7);
  four.set([1, 0, 0, 1, 3, 0, 0, 3, -1, 0, 0, -1], 0); // means 0.5, 1.5, -0.5: ties to even
  t.same(mixChannels(four, 4, 1), reference(four, 4, 1), '4 → 1');
  t.same(Array.from(mixChannels(four, 4, 1).subarray(0, 3)), [0, 2, 0]);
});

t.test('mixInto writes at the offset and nowhere else; N → N copies', async (t) => {
  const x = randomSamples(2 * 33, 9);
  const out = new Int16Array(40).fill(7);
  mixInto(x, 2, 1, out, 5);
  t.same(out.subarray(5, 38), mixChannels(x, 2, 1));
  t.ok(out.subarray(0, 5).every((v) => v === 7) && out.subarray(38).every((v) => v === 7), 'untouched around');

  const up = new Int16Array(70).fill(7);
  mixInto(x.subarray(0, 33), 1, 2, up, 2);
  t.same(up.subarray(2, 68), mixChannels(x.subarray(0, 33), 1, 2));
  t.same([up[0], up[1], up[68], up[69]], [7, 7, 7, 7]);

  const same = new Int16Array(70);
  mixInto(x, 2, 2, same, 1);
  t.same(same.subarray(1, 67), x);
  t.equal(mixChannels(x, 2, 2), x, 'mixChannels N → N is the array itself');
});

t.test('N → M other than 1 → N, N → 1 is refused', async (t) => {
  t.equal(canMix(2, 3), false);
  t.equal(canMix(1, 6), true);
  t.equal(canMix(6, 1), true);
  t.throws(() => mixChannels(new Int16Array(6), 2, 3), { name: 'FrameFormatError', code: 'ERR_CHANNEL_MIX' });
  t.throws(() => mixInto(new Int16Array(6), 3, 2, new Int16Array(4), 0), {
    name: 'FrameFormatError',
    code: 'ERR_CHANNEL_MIX',
  });
});
