import t from 'tap';
import tap from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame, frameMs, ownsBuffer } from '../../lib/frames.js';
import { Resample, resample } from '../../transforms/resample.js';
import { canMix, mixChannels } from '../../lib/mix.js';
import { createResampler } from '../../lib/resampler.js';
import { loadSpeex, SpeexResampler } from '../../lib/speex.js';
import {
  channel,
  concatFrames,
  idealSine,
  levelDb,
  noise,
  prng,
  sine,
  snrDb,
  splitFrame,
  toneLevelDb,
} from '../helpers/signals.js';

/** Run `frames` through `stage` to the end; the output frames. */
async function run(stage: Resample, frames: unknown[]): Promise<AudioFrame[]> {
  const out: AudioFrame[] = [];
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(f: AudioFrame, _e, cb) {
      out.push(f);
      cb();
    },
  });
  await pipeline(Readable.from(frames), stage, sink);
  return out;
}

/**
 * Write frames one at a time, waiting for each to be processed; after each, withheld = input ms fed − output
 * ms emitted. Returns the output and the worst withheld / bufferedMs seen.
 */
async function feedMeasured(stage: Resample, frames: AudioFrame[]) {
  const out: AudioFrame[] = [];
  let emittedMs = 0;
  stage.on('data', (f: AudioFrame) => {
    out.push(f);
    emittedMs += frameMs(f);
  });
  let fedMs = 0;
  let maxWithheld = 0;
  let maxMismatch = 0; // |bufferedMs − withheld|: the stage's own account must match what we observe
  for (const f of frames) {
    await new Promise<void>((resolve, reject) => stage.write(f, (err) => (err ? reject(err) : resolve())));
    fedMs += frameMs(f);
    const withheld = fedMs - emittedMs;
    maxWithheld = Math.max(maxWithheld, withheld);
    maxMismatch = Math.max(maxMismatch, Math.abs(stage.bufferedMs - withheld));
  }
  const ended = new Promise((resolve) => stage.on('end', resolve));
  stage.end();
  await ended;
  return { out, maxWithheld, maxMismatch, fedMs, emittedMs };
}

/** 10–20 ms chunks of random size. */
function chunks10to20(frame: AudioFrame, seed: number): AudioFrame[] {
  const rand = prng(seed);
  const r = frame.sampleRate;
  return splitFrame(frame, () => r / 100 + rand() * (r / 100));
}

/** The reference for averaging: the exact mean (÷2, ÷4 are exact in floating point) to nearest, ties to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const frac = x - f;
  if (frac !== 0.5) return frac < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function assertOwned(t: Pick<typeof tap, 'ok'>, frames: AudioFrame[]): void {
  t.ok(
    frames.every((f) => ownsBuffer(f.data) && f.data.length === f.samplesPerChannel * f.channels),
    'every output frame owns its buffer at offset 0',
  );
}

t.test('stage shape: hwm 1 both sides, options kept, factory returns the class', async (t) => {
  const r = resample({ sampleRate: 48000, channels: 1 });
  t.ok(r instanceof Resample);
  t.equal(r.readableHighWaterMark, 1);
  t.equal(r.writableHighWaterMark, 1);
  t.equal(r.sampleRate, 48000);
  t.equal(r.channels, 1);
  t.equal(r.quality, 4, 'default quality');
  t.equal(r.bufferedMs, 0);
  t.equal(resample({ sampleRate: 16000, channels: 2, quality: 7 }).quality, 7);
});

for (const rate of [8000, 16000, 22050, 24000, 44100]) {
  t.test(`${rate} Hz → 48 kHz: SNR ≥ 85 dB, ≤ 5 ms withheld, exact length`, async (t) => {
    const input = sine(rate, 1, 997, 1000, 0.9);
    const stage = resample({ sampleRate: 48000, channels: 1 });
    const { out, maxWithheld, maxMismatch } = await feedMeasured(stage, chunks10to20(input, rate));
    const y = concatFrames(out);
    t.equal(y.length, Math.ceil((input.samplesPerChannel * 48000) / rate), 'output length = ceil(input × ratio)');
    const ideal = idealSine(48000, 997, y.length, 0.9);
    // 10 ms trimmed at each end: the sine starts and stops abruptly there, which is not resampling noise.
    const snr = snrDb(y.subarray(480, -480), ideal.subarray(480, -480));
    t.ok(snr >= 85, `SNR ${snr.toFixed(1)} dB ≥ 85 (aligned with the input: no leading filter delay)`);
    t.ok(maxWithheld <= 5, `at most ${maxWithheld.toFixed(2)} ms withheld ≤ 5 ms`);
    t.ok(maxMismatch < 0.01, `bufferedMs matched the withheld audio within ${maxMismatch.toFixed(4)} ms`);
    t.equal(stage.bufferedMs, 0, 'nothing held after the end');
    assertOwned(t, out);
    t.ok(out.every((f) => f.sampleRate === 48000 && f.channels === 1));
  });
}

t.test('48 kHz → 16 kHz: a 12 kHz tone is removed (aliasing ≤ −85 dBc)', async (t) => {
  const inputLevel = 20 * Math.log10(0.9);
  const tone = sine(48000, 1, 12000, 1000, 0.9);
  const y = concatFrames(
    await run(
      resample({ sampleRate: 16000, channels: 1 }),
      splitFrame(tone, () => 480),
    ),
  );
  t.equal(y.length, 16000);
  const residual = levelDb(y.subarray(320, -320)) - inputLevel;
  t.ok(residual <= -85, `everything left of the 12 kHz tone: ${residual.toFixed(1)} dBc ≤ −85`);

  // With a quiet 997 Hz carrier the int16 output is not all zeros, so a residual alias would show at 4 kHz.
  const carrier = sine(48000, 1, 997, 1000, 0.05);
  const mixed = new AudioFrame(
    Int16Array.from(tone.data, (v, i) => v + carrier.data[i]!),
    48000,
    1,
    48000,
  );
  const z = concatFrames(
    await run(
      resample({ sampleRate: 16000, channels: 1 }),
      splitFrame(mixed, () => 480),
    ),
  );
  const mid = z.subarray(320, -320);
  const alias = toneLevelDb(mid, 16000, 4000) - inputLevel;
  t.ok(alias <= -85, `4 kHz alias ${alias.toFixed(1)} dBc ≤ −85`);
  const kept = toneLevelDb(mid, 16000, 997) - 20 * Math.log10(0.05);
  t.ok(Math.abs(kept) < 0.1, `the 997 Hz carrier passes at ${kept.toFixed(3)} dB`);

  // The measurement can fail: quality 1 lets the alias through.
  const low = concatFrames(
    await run(
      resample({ sampleRate: 16000, channels: 1, quality: 1 }),
      splitFrame(mixed, () => 480),
    ),
  );
  const lowAlias = toneLevelDb(low.subarray(320, -320), 16000, 4000) - inputLevel;
  t.ok(lowAlias > -85, `quality 1 aliases at ${lowAlias.toFixed(1)} dBc (so the quality option reaches the engine)`);
});

t.test('withheld audio stays ≤ 5 ms for 10–20 ms chunks, downsampling and stereo too', async (t) => {
  for (const [inRate, outRate, ch] of [
    [48000, 16000, 1],
    [44100, 16000, 2],
    [8000, 48000, 2],
  ] as const) {
    const stage = resample({ sampleRate: outRate, channels: ch });
    const input = sine(inRate, ch, 440, 500, 0.5);
    const { out, maxWithheld, fedMs, emittedMs } = await feedMeasured(stage, chunks10to20(input, inRate + ch));
    t.ok(maxWithheld <= 5, `${inRate}→${outRate} ${ch} ch: ${maxWithheld.toFixed(2)} ms withheld at most`);
    t.ok(Math.abs(emittedMs - fedMs) < 1000 / outRate + 1e-9, 'after the end, output duration = input duration');
    assertOwned(t, out);
  }
});

t.test('output length = input × ratio after flush, for random sizes and pairs', async (t) => {
  const rand = prng(3);
  for (const [inRate, outRate] of [
    [8000, 48000],
    [44100, 48000],
    [48000, 44100],
    [48000, 8000],
    [11025, 24000],
  ] as const) {
    const n = 1000 + Math.floor(rand() * 20000);
    const input = noise(inRate, 2, n, inRate);
    const out = await run(
      resample({ sampleRate: outRate, channels: 2 }),
      splitFrame(input, () => 1 + rand() * 3000),
    );
    const got = concatFrames(out).length / 2;
    t.equal(got, Math.ceil((n * outRate) / inRate), `${inRate}→${outRate}: ${n} → ${got}`);
  }
});

t.test('equal rates: no engine; mono→stereo duplicates, stereo→mono averages, sample-exact', async (t) => {
  const mono = noise(16000, 1, 1600, 11);
  mono.data[0] = -32768;
  mono.data[1] = 32767;
  const up = concatFrames(
    await run(
      resample({ sampleRate: 16000, channels: 2 }),
      splitFrame(mono, () => 160),
    ),
  );
  t.same(channel(up, 2, 0), mono.data, 'left = mono');
  t.same(channel(up, 2, 1), mono.data, 'right = mono');

  const stereo = noise(16000, 2, 1600, 12);
  stereo.data.set([-32768, -32768, 32767, 32767, -32768, 32767, 1, 2, -1, -2, 3, 4, -3, -4], 0);
  const down = concatFrames(
    await run(
      resample({ sampleRate: 16000, channels: 1 }),
      splitFrame(stereo, () => 160),
    ),
  );
  const expected = Int16Array.from({ length: 1600 }, (_, i) =>
    roundHalfEven((stereo.data[2 * i]! + stereo.data[2 * i + 1]!) / 2),
  );
  t.same(down, expected, 'mono = (L + R) / 2 rounded to nearest, ties to even');
  t.same(Array.from(down.subarray(0, 7)), [-32768, 32767, 0, 2, -2, 4, -4]);

  const four = noise(8000, 4, 800, 13);
  const one = concatFrames(await run(resample({ sampleRate: 8000, channels: 1 }), [four]));
  t.same(
    one,
    Int16Array.from({ length: 800 }, (_, i) =>
      roundHalfEven(four.data.subarray(4 * i, 4 * i + 4).reduce((a, b) => a + b, 0) / 4),
    ),
    '4 → 1 channels averages too',
  );

  const same = await run(resample({ sampleRate: 16000, channels: 1 }), [mono]);
  t.equal(same[0], mono, 'same rate and channels: the frame itself passes through');
});

t.test('mixChannels: identity for N → N, refuses N → M', async (t) => {
  const x = Int16Array.from([1, 2, 3, 4, 5, 6]);
  t.equal(mixChannels(x, 2, 2), x);
  t.same(mixChannels(x, 3, 1), Int16Array.from([2, 5]));
  t.equal(canMix(2, 3), false);
  t.throws(() => mixChannels(x, 2, 3), { name: 'FrameFormatError', code: 'ERR_CHANNEL_MIX' });
});

t.test('equal rates: a frame that is a view into a larger buffer comes out owned', async (t) => {
  const big = new Int16Array(2000).map((_, i) => i);
  const view = new AudioFrame(big.subarray(100, 580), 48000, 1, 480);
  const [out] = await run(resample({ sampleRate: 48000, channels: 1 }), [view]);
  t.ok(out && ownsBuffer(out.data));
  t.same(out!.data, big.subarray(100, 580));
});

t.test('mixing and resampling together: the engine runs on the smaller channel count', async (t) => {
  const stereo = sine(16000, 2, 997, 500, 0.9);
  const mono = concatFrames(
    await run(
      resample({ sampleRate: 48000, channels: 1 }),
      splitFrame(stereo, () => 160),
    ),
  );
  t.equal(mono.length, 24000);
  const ideal = idealSine(48000, 997, 24000, 0.9);
  const s1 = snrDb(mono.subarray(480, -480), ideal.subarray(480, -480));
  t.ok(s1 >= 85, `stereo 16k → mono 48k: SNR ${s1.toFixed(1)} dB`);

  const m = sine(8000, 1, 997, 500, 0.9);
  const st = concatFrames(
    await run(
      resample({ sampleRate: 48000, channels: 2 }),
      splitFrame(m, () => 80),
    ),
  );
  t.same(channel(st, 2, 0), channel(st, 2, 1), 'mono 8k → stereo 48k: identical channels');
  const s2 = snrDb(channel(st, 2, 0).subarray(480, -480), ideal.subarray(480, -480));
  t.ok(s2 >= 85, `mono 8k → stereo 48k: SNR ${s2.toFixed(1)} dB`);
});

t.test('a format change mid-stream flushes the old engine and starts a new one: output stays continuous', async (t) => {
  const a = sine(16000, 1, 997, 500, 0.9);
  const b = sine(8000, 2, 997, 500, 0.9);
  const c = sine(48000, 1, 997, 100, 0.9);
  const out = await run(resample({ sampleRate: 48000, channels: 1 }), [
    ...splitFrame(a, () => 160),
    ...splitFrame(b, () => 80),
    ...splitFrame(c, () => 480),
  ]);
  const y = concatFrames(out);
  t.equal(y.length, 24000 + 24000 + 4800, 'each segment contributes exactly its duration');
  const ideal = idealSine(48000, 997, 24000, 0.9);
  const sa = snrDb(y.subarray(480, 24000 - 480), ideal.subarray(480, -480));
  const sb = snrDb(y.subarray(24000 + 480, 48000 - 480), ideal.subarray(480, -480));
  t.ok(sa >= 85 && sb >= 85, `SNR ${sa.toFixed(1)} / ${sb.toFixed(1)} dB on each side of the change`);
  t.same(y.subarray(48000), c.data, 'a segment at the output rate passes through exactly');
  assertOwned(t, out);
});

t.test('slow consumer: the stage holds one frame each side, and bufferedMs counts all of it', async (t) => {
  const stage = resample({ sampleRate: 48000, channels: 1 });
  const frames = splitFrame(sine(16000, 1, 997, 30, 0.5), () => 160);
  const accepted = frames.map((f) => stage.write(f));
  t.same(accepted, [false, false, false], 'backpressure from the first write (hwm 1)');
  await new Promise((r) => setImmediate(r));
  t.equal(stage.readableLength, 1, 'one converted frame waits for the reader');
  t.equal(stage.writableLength, 3, 'the rest waits, unconverted, on the writable side');
  t.ok(
    Math.abs(stage.bufferedMs - 30) < 0.01,
    `bufferedMs ${stage.bufferedMs.toFixed(3)} = the 30 ms written, none read`,
  );
  stage.end();
  const out: AudioFrame[] = [];
  for await (const f of stage) out.push(f as AudioFrame);
  t.equal(concatFrames(out).length, 1440);
  t.equal(stage.bufferedMs, 0);
});

t.test('empty frames and empty streams produce nothing', async (t) => {
  t.same(await run(resample({ sampleRate: 48000, channels: 1 }), []), []);
  const empty = new AudioFrame(new Int16Array(0), 16000, 1, 0);
  t.same(await run(resample({ sampleRate: 48000, channels: 1 }), [empty]), []);
});

t.test('destroy frees the engine mid-stream', async (t) => {
  const stage = resample({ sampleRate: 48000, channels: 1 });
  stage.on('data', () => {});
  await new Promise<void>((r) => stage.write(sine(16000, 1, 997, 10, 0.5), () => r()));
  t.ok(stage.bufferedMs > 0, 'the engine holds its lookahead');
  const closed = new Promise((r) => stage.on('close', r));
  stage.destroy();
  await closed;
  t.equal(stage.bufferedMs, 0);
});

t.test('bad options are ConfigErrors thrown by the constructor', async (t) => {
  const bad: unknown[] = [
    undefined,
    {},
    { sampleRate: 0, channels: 1 },
    { sampleRate: 44100.5, channels: 1 },
    { sampleRate: '48000', channels: 1 },
    { sampleRate: 48000, channels: 0 },
    { sampleRate: 48000, channels: 1.5 },
    { sampleRate: 48000, channels: 1, quality: 11 },
    { sampleRate: 48000, channels: 1, quality: -1 },
    { sampleRate: 48000, channels: 1, quality: 2.5 },
  ];
  for (const o of bad) {
    t.throws(() => resample(o as never), { name: 'ConfigError', code: 'ERR_RESAMPLE_OPTIONS' }, JSON.stringify(o));
  }
});

t.test('bad input is a FrameFormatError on the stream', async (t) => {
  const cases: Array<[string, unknown[], number, string]> = [
    ['a Buffer', [Buffer.alloc(320)], 1, 'ERR_NOT_A_FRAME'],
    ['null-ish object', [{ sampleRate: 16000 }], 1, 'ERR_NOT_A_FRAME'],
    ['a frame whose data is short', [new AudioFrame(new Int16Array(10), 16000, 1, 20)], 1, 'ERR_FRAME_LENGTH'],
    ['a zero sample rate', [new AudioFrame(new Int16Array(10), 0, 1, 10)], 1, 'ERR_FRAME_FORMAT'],
    ['a fractional sample rate', [new AudioFrame(new Int16Array(10), 16000.5, 1, 10)], 1, 'ERR_FRAME_FORMAT'],
    ['2 → 3 channels', [sine(16000, 2, 440, 10)], 3, 'ERR_CHANNEL_MIX'],
    ['a non-frame after good frames', [sine(16000, 1, 440, 10), 'x'], 1, 'ERR_NOT_A_FRAME'],
    [
      'a change to an unmixable channel count',
      [sine(16000, 1, 440, 10), sine(16000, 2, 440, 10)],
      3,
      'ERR_CHANNEL_MIX',
    ],
  ];
  for (const [what, frames, channels, code] of cases) {
    await t.rejects(run(resample({ sampleRate: 48000, channels }), frames), { name: 'FrameFormatError', code }, what);
  }
});

t.test(
  'impossible rates are typed errors, never a WebAssembly RuntimeError (a 1 Hz WAV used to reach speex)',
  async (t) => {
    t.throws(() => resample({ sampleRate: 1, channels: 1 }), { name: 'ConfigError', code: 'ERR_RESAMPLE_OPTIONS' });
    t.throws(() => resample({ sampleRate: 768001, channels: 1 }), {
      name: 'ConfigError',
      code: 'ERR_RESAMPLE_OPTIONS',
    });
    await loadSpeex();
    t.throws(() => createResampler(1, 2, 48000), {
      name: 'ConfigError',
      code: 'ERR_RESAMPLE_OPTIONS',
      message: /inRate/,
    });
    t.throws(() => new SpeexResampler(65, 8000, 48000), {
      name: 'ConfigError',
      code: 'ERR_RESAMPLE_OPTIONS',
      message: /channels/,
    });
    for (const rate of [1, 2, 999]) {
      const r = resample({ sampleRate: 48000, channels: 1 });
      const err = await new Promise<Error & { code?: string }>((resolve) => {
        r.on('error', resolve);
        r.write(new AudioFrame(new Int16Array(1), rate, 1, 1));
      });
      t.match(err, { name: 'FrameFormatError', code: 'ERR_FRAME_FORMAT' }, `a ${rate} Hz frame`);
    }
  },
);
