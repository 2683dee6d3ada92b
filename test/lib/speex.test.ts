import t from 'tap';
import { AudioPipelineError, ConfigError } from '../../lib/errors.js';
import { loadSpeex, speexLoaded, SpeexResampler, SPEEX_DEFAULT_QUALITY } from '../../lib/speex.js';
import { concatArrays, idealSine, prng, sineFitSnrDb, snrDb } from '../helpers/signals.js';

const int16 = (x: Float64Array) => Int16Array.from(x, Math.round);

t.test('refuses to construct before the engine is loaded, then loads once', async (t) => {
  t.equal(speexLoaded(), false);
  t.throws(() => new SpeexResampler(1, 16000, 48000), { name: 'ConfigError', code: 'ERR_ENGINE_NOT_LOADED' });
  const a = loadSpeex();
  const b = loadSpeex();
  await Promise.all([a, b]);
  t.equal(speexLoaded(), true);
  const r = new SpeexResampler(1, 16000, 48000);
  t.equal(r.inRate, 16000);
  t.equal(r.outRate, 48000);
  t.equal(r.channels, 1);
  r.destroy();
  r.destroy(); // idempotent
});

t.test('bad parameters are ConfigErrors', async (t) => {
  await loadSpeex();
  const bad: Array<[number, number, number, number]> = [
    [0, 16000, 48000, 4],
    [1.5, 16000, 48000, 4],
    [1, 0, 48000, 4],
    [1, 16000, -48000, 4],
    [1, 16000, 48000.5, 4],
    [1, 16000, 48000, 11],
    [1, 16000, 48000, -1],
    [1, 16000, 48000, 2.5],
  ];
  for (const [ch, i, o, q] of bad) {
    t.throws(() => new SpeexResampler(ch, i, o, q), ConfigError, `${ch} ch ${i}→${o} q${q}`);
  }
});

t.test('lookahead is quality-dependent: the default (q4) holds 32 input samples, 4 ms at 8 kHz', async (t) => {
  await loadSpeex();
  t.equal(SPEEX_DEFAULT_QUALITY, 4);
  const latency = (q: number, i: number, o: number) => {
    const r = new SpeexResampler(1, i, o, q);
    const l = r.inputLatency;
    r.destroy();
    return l;
  };
  t.equal(latency(4, 8000, 48000), 32);
  t.equal(latency(3, 8000, 48000), 24);
  t.equal(latency(5, 8000, 48000), 40);
  t.equal(latency(4, 48000, 16000), 96, 'downsampling stretches the filter by the ratio');
});

t.test('after skipZeros and flush, output is exactly ceil(input × ratio), for any chunking', async (t) => {
  await loadSpeex();
  const rand = prng(7);
  const pairs = [
    [8000, 48000],
    [16000, 48000],
    [22050, 48000],
    [44100, 48000],
    [48000, 16000],
    [48000, 44100],
    [11025, 16000],
  ];
  for (const [i, o] of pairs) {
    for (const ch of [1, 2]) {
      const r = new SpeexResampler(ch, i!, o!);
      r.skipZeros();
      let n = 0;
      let out = 0;
      for (let k = 0; k < 6; k++) {
        const len = Math.floor(rand() * 2000);
        n += len;
        out += r.process(new Int16Array(len * ch).fill(1000)).length / ch;
      }
      out += r.flush().length / ch;
      r.destroy();
      t.equal(out, Math.ceil((n * o!) / i!), `${i}→${o} ${ch} ch, ${n} samples`);
    }
  }
});

t.test('output is aligned with input (skipZeros) and clean: SNR against the ideal sine', async (t) => {
  await loadSpeex();
  const r = new SpeexResampler(2, 16000, 48000);
  r.skipZeros();
  const mono = int16(idealSine(16000, 997, 16000, 0.9));
  const stereo = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i++) stereo[2 * i] = stereo[2 * i + 1] = mono[i]!;
  const out = concatArrays([r.process(stereo.subarray(0, 7000)), r.process(stereo.subarray(7000)), r.flush()]);
  r.destroy();
  t.equal(out.length, 2 * 48000);
  const ideal = idealSine(48000, 997, 48000, 0.9);
  for (const c of [0, 1]) {
    const x = Float64Array.from({ length: 48000 }, (_, i) => out[2 * i + c]!);
    const snr = snrDb(x.subarray(480, -480), ideal.subarray(480, -480));
    t.ok(snr >= 90, `channel ${c}: SNR ${snr.toFixed(1)} dB ≥ 90 dB`);
  }
});

t.test('one call can take a long input (the loop handles any size)', async (t) => {
  await loadSpeex();
  const r = new SpeexResampler(1, 44100, 48000);
  r.skipZeros();
  const out = concatArrays([r.process(int16(idealSine(44100, 997, 441000, 0.5))), r.flush()]);
  r.destroy();
  t.equal(out.length, 480000);
  const snr = sineFitSnrDb(out.subarray(4800, -4800), 48000, 997);
  t.ok(snr > 85, `SNR ${snr.toFixed(1)} dB`);
});

t.test('setRatio changes the ratio mid-stream without resetting the filter (drift correction)', async (t) => {
  await loadSpeex();
  const r = new SpeexResampler(1, 16000, 48000);
  r.skipZeros();
  const x = int16(idealSine(16000, 997, 32000, 0.9));
  const before = r.process(x.subarray(0, 16000));
  const held = r.inputLatency;
  t.equal(before.length, (16000 - held) * 3, 'nominal 1:3 until the change, lookahead held back');
  // The producer runs 1000 ppm fast: consume 1.001 input samples per nominal one. in/out = num/den.
  r.setRatio(16016, 48000);
  const after = concatArrays([r.process(x.subarray(16000)), r.flush()]);
  r.destroy();
  const expected = ((16000 + held) * 48000) / 16016;
  t.ok(Math.abs(after.length - expected) < 4, `${after.length} samples after the change, ≈ ${expected.toFixed(1)}`);
  // The tone comes out 0.1 % higher, still clean: no reset, no click.
  const tail = after.subarray(960, after.length - 960);
  const snr = sineFitSnrDb(tail, 48000, 997 * 1.001);
  t.ok(snr > 85, `after the change: SNR ${snr.toFixed(1)} dB`);
  const across = concatArrays([before.subarray(before.length - 480), after.subarray(0, 480)]);
  let maxStep = 0;
  for (let i = 1; i < across.length; i++) maxStep = Math.max(maxStep, Math.abs(across[i]! - across[i - 1]!));
  const slope = 0.9 * 32767 * ((2 * Math.PI * 997) / 48000);
  t.ok(maxStep <= slope * 1.01, `largest step across the change ${maxStep} ≤ the sine's own slope ${slope.toFixed(0)}`);
});

t.test('an invalid ratio is rejected with a typed error', async (t) => {
  await loadSpeex();
  const r = new SpeexResampler(1, 16000, 48000);
  t.throws(() => r.setRatio(0, 48000), AudioPipelineError);
  t.throws(() => r.setRatio(0, 48000), { code: 'ERR_RESAMPLE_RATIO' });
  r.destroy();
});

t.test('process(input, inputChannels) mixes on the way in: the same output as mixing first', async (t) => {
  await loadSpeex();
  const rand = prng(21);
  const random = (n: number) => Int16Array.from({ length: n }, () => Math.floor(rand() * 65536) - 32768);
  const { mixChannels } = await import('../../lib/mix.js');
  const stereo = random(2 * 9001);
  stereo.set([-32768, -32768, 32767, 32767, -32768, 32767, 1, 2, -1, -2], 0);
  const sizes = [1, 3, 441, 7, 2048, 1, 4999, 1500]; // odd frame counts, then the rest
  const fused = new SpeexResampler(1, 44100, 48000);
  const separate = new SpeexResampler(1, 44100, 48000);
  fused.skipZeros();
  separate.skipZeros();
  const a: Int16Array[] = [];
  const b: Int16Array[] = [];
  for (let at = 0, k = 0; at < 9001; k++) {
    const n = Math.min(sizes[k % sizes.length]!, 9001 - at);
    const chunk = stereo.subarray(2 * at, 2 * (at + n));
    a.push(fused.process(chunk, 2));
    b.push(separate.process(mixChannels(chunk, 2, 1)));
    at += n;
  }
  a.push(fused.flush());
  b.push(separate.flush());
  t.same(concatArrays(a), concatArrays(b), '2 → 1 into the engine: sample-exact');
  t.equal(concatArrays(a).length, Math.ceil((9001 * 48000) / 44100));

  const mono = random(3001);
  const up = new SpeexResampler(2, 16000, 48000);
  const upRef = new SpeexResampler(2, 16000, 48000);
  const x = concatArrays([up.process(mono.subarray(0, 1001), 1), up.process(mono.subarray(1001), 1), up.flush()]);
  const y = concatArrays([
    upRef.process(mixChannels(mono.subarray(0, 1001), 1, 2)),
    upRef.process(mixChannels(mono.subarray(1001), 1, 2)),
    upRef.flush(),
  ]);
  t.same(x, y, '1 → 2 into a stereo engine: sample-exact');
  t.throws(() => up.process(new Int16Array(6), 3), { name: 'FrameFormatError', code: 'ERR_CHANNEL_MIX' });
  for (const r of [fused, separate, up, upRef]) r.destroy();
});

t.test('a first call much larger than the last grows the WASM heap: mixing still lands in the live heap', async (t) => {
  await loadSpeex();
  const { mixChannels } = await import('../../lib/mix.js');
  // 60 s of stereo: 5.8 MB of engine input plus 5.3 MB of output, past the 16 MB the module starts with
  const big = new Int16Array(2 * 48000 * 60);
  for (let i = 0; i < big.length; i++) big[i] = Math.round(20000 * Math.sin(i / 7));
  const r1 = new SpeexResampler(1, 48000, 44100);
  const r2 = new SpeexResampler(1, 48000, 44100);
  const small = big.subarray(0, 2 * 480);
  t.same(r1.process(small, 2), r2.process(mixChannels(small, 2, 1)));
  const a = r1.process(big, 2);
  const b = r2.process(mixChannels(big, 2, 1));
  t.equal(a.length, b.length);
  t.equal(
    a.findIndex((v, i) => v !== b[i]),
    -1,
    '60 s of stereo in one call: sample-exact',
  );
  r1.destroy();
  r2.destroy();
});
