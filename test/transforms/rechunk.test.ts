import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame, frameMs, ownsBuffer } from '../../lib/frames.js';
import { Rechunk, rechunk, type RechunkTail } from '../../transforms/rechunk.js';
import { concatFrames, noise, prng, sine, splitFrame } from '../helpers/signals.js';

async function run(stage: Rechunk, frames: unknown[]): Promise<AudioFrame[]> {
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

/** Random input frames over `whole`: sizes from 1 sample to 3.5 output frames, half of them views. */
function randomFrames(whole: AudioFrame, frame: number, seed: number): AudioFrame[] {
  const rand = prng(seed);
  return splitFrame(whole, () => 1 + rand() * 3.5 * frame).map((f, i) => {
    if (i % 2) return f;
    // A view at an odd offset into a larger buffer, as sockets hand out.
    const big = new Int16Array(f.data.length + 3);
    big.set(f.data, 3);
    return new AudioFrame(big.subarray(3), f.sampleRate, f.channels, f.samplesPerChannel);
  });
}

t.test('stage shape: hwm 1 both sides, defaults', async (t) => {
  const r = rechunk();
  t.ok(r instanceof Rechunk);
  t.equal(r.readableHighWaterMark, 1);
  t.equal(r.writableHighWaterMark, 1);
  t.equal(r.frameMs, 10);
  t.equal(r.tail, 'pad');
  t.equal(r.bufferedMs, 0);
  t.same(r.stats, { framesIn: 0, framesOut: 0, paddedSamples: 0, droppedSamples: 0 });
});

for (const rate of [48000, 44100, 16000, 8000]) {
  for (const ch of [1, 2]) {
    for (const tail of ['pad', 'short', 'drop'] as RechunkTail[]) {
      t.test(`${rate} Hz ${ch} ch, tail '${tail}': sample-exact for random input sizes`, async (t) => {
        const size = rate / 100;
        const n = 37 * size + 1 + Math.floor(prng(rate + ch)() * (size - 2)); // never a whole number of frames
        const input = noise(rate, ch, n, rate * ch);
        const stage = rechunk({ tail });
        const out = await run(stage, randomFrames(input, size, rate + ch));
        const full = Math.floor(n / size);
        const left = n - full * size;
        const body = out.slice(0, full);
        t.ok(
          body.every((f) => f.samplesPerChannel === size && f.sampleRate === rate && f.channels === ch),
          `${full} frames of exactly ${size}`,
        );
        t.ok(
          out.every((f) => ownsBuffer(f.data)),
          'every output frame owns its buffer',
        );
        const y = concatFrames(out);
        t.same(
          y.subarray(0, n * ch),
          input.data.subarray(0, tail === 'drop' ? full * size * ch : n * ch),
          'concatenated output = input',
        );
        if (tail === 'pad') {
          t.equal(out.length, full + 1);
          t.equal(out.at(-1)!.samplesPerChannel, size, 'the last frame is padded to a full frame');
          t.ok(
            y.subarray(n * ch).every((v) => v === 0),
            'with silence',
          );
          t.equal(stage.stats.paddedSamples, size - left);
        } else if (tail === 'short') {
          t.equal(out.length, full + 1);
          t.equal(out.at(-1)!.samplesPerChannel, left, 'the last frame is short');
          t.equal(y.length, n * ch);
        } else {
          t.equal(out.length, full);
          t.equal(y.length, full * size * ch);
          t.equal(stage.stats.droppedSamples, left, 'the dropped tail is counted');
        }
        t.equal(stage.stats.framesOut, out.length);
        t.equal(stage.bufferedMs, 0);
      });
    }
  }
}

t.test('a whole number of frames leaves no tail, whatever the policy', async (t) => {
  for (const tail of ['pad', 'short', 'drop'] as RechunkTail[]) {
    const stage = rechunk({ tail });
    const out = await run(
      stage,
      splitFrame(noise(16000, 1, 1600, 5), () => 123),
    );
    t.equal(out.length, 10, tail);
    t.same(stage.stats, { framesIn: 14, framesOut: 10, paddedSamples: 0, droppedSamples: 0 });
  }
});

t.test(
  'other frame durations: 20 ms at 22.05 kHz is 441 samples, 2.5 ms at 48 kHz is 120, 0.3 ms at 10 kHz is 3',
  async (t) => {
    const a = await run(
      rechunk({ frameMs: 20 }),
      splitFrame(noise(22050, 1, 4410, 1), () => 1000),
    );
    t.same(
      a.map((f) => f.samplesPerChannel),
      Array(10).fill(441),
    );
    const b = await run(rechunk({ frameMs: 2.5, tail: 'drop' }), [noise(48000, 2, 1000, 2)]);
    t.same(
      b.map((f) => f.samplesPerChannel),
      Array(8).fill(120),
    );
    const c = await run(rechunk({ frameMs: 0.3 }), [noise(10000, 1, 9, 3)]);
    t.same(
      c.map((f) => f.samplesPerChannel),
      [3, 3, 3],
      '10 kHz × 0.3 ms is 3 samples, despite floating point',
    );
  },
);

t.test('owned frames that are exactly one output frame pass through without a copy', async (t) => {
  const frames = splitFrame(sine(48000, 1, 440, 50), () => 480);
  const out = await run(rechunk(), frames);
  t.equal(out.length, 5);
  t.ok(
    out.every((f, i) => f === frames[i]),
    'the same objects',
  );
  const view = new AudioFrame(new Int16Array(960).subarray(480), 48000, 1, 480);
  const [copied] = await run(rechunk(), [view]);
  t.not(copied, view, 'a view is copied');
  t.ok(ownsBuffer(copied!.data));
});

t.test('backpressure: a 10 s frame is cut as the reader pulls, and bufferedMs says where it is', async (t) => {
  const stage = rechunk();
  const big = noise(48000, 1, 480000, 9);
  let written = false;
  stage.write(big, () => (written = true));
  await new Promise((r) => setImmediate(r));
  t.equal(stage.readableLength, 1, 'only one frame cut ahead of the reader');
  t.equal(stage.bufferedMs, 10000, 'the whole 10 s is held (remainder + one readable frame)');
  t.equal(written, false, 'the writer waits');
  const seen: number[] = [];
  const sizes = new Set<number>();
  for (let i = 0; i < 999; i++) {
    sizes.add((stage.read() as AudioFrame).samplesPerChannel);
    seen.push(stage.bufferedMs);
  }
  t.same([...sizes], [480]);
  t.ok(
    seen.every((ms, i) => Math.abs(ms - (10000 - 10 * (i + 1))) < 1e-9),
    'each read takes 10 ms off bufferedMs',
  );
  await new Promise((r) => setImmediate(r));
  t.equal(written, true, 'the writer resumes once less than a frame is left');
  stage.end();
  const rest: AudioFrame[] = [];
  for await (const f of stage) rest.push(f as AudioFrame);
  t.equal(rest.length, 1);
  t.equal(stage.stats.framesOut, 1000);
  t.equal(stage.bufferedMs, 0);
});

t.test('backpressure at the end: a big last frame is still cut only as the reader pulls', async (t) => {
  const stage = rechunk({ tail: 'short' });
  stage.end(noise(16000, 1, 16005, 4)); // 100 frames and 5 samples, then end
  await new Promise((r) => setImmediate(r));
  t.equal(stage.readableLength, 1);
  t.ok(Math.abs(stage.bufferedMs - 1000.3125) < 1e-9, `bufferedMs ${stage.bufferedMs}`);
  const out: AudioFrame[] = [];
  for await (const f of stage) out.push(f as AudioFrame);
  t.same(
    out.map((f) => f.samplesPerChannel),
    [...Array(100).fill(160), 5],
  );
});

t.test('slow consumer in a pipeline: bufferedMs stays within the stage budget, and the end arrives', async (t) => {
  // Input sizes below, at and above one output frame; the consumer is slower than the producer.
  for (const [spc, tail] of [
    [336, 'pad'],
    [480, 'short'],
    [1201, 'drop'],
  ] as const) {
    const stage = rechunk({ tail });
    const input = splitFrame(noise(48000, 2, 48000, spc), () => spc);
    let maxBuffered = 0;
    const out: AudioFrame[] = [];
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(f: AudioFrame, _e, cb) {
        maxBuffered = Math.max(maxBuffered, stage.bufferedMs);
        out.push(f);
        setTimeout(cb, 1);
      },
    });
    await pipeline(Readable.from(input, { highWaterMark: 1 }), stage, sink);
    // At most: a remainder under one output frame plus one input frame (the writer is held while the
    // readable side is full), one frame readable, one input frame queued on the writable side.
    const budget = 10 + 2 * frameMs(input[0]!) + 10;
    t.ok(maxBuffered <= budget, `${spc}-sample input: max bufferedMs ${maxBuffered.toFixed(1)} ≤ ${budget.toFixed(1)}`);
    t.equal(out.length, 100, 'all frames arrive');
    t.equal(concatFrames(out).length, 96000);
  }
});

t.test('empty frames are accepted and produce nothing; no input, no output', async (t) => {
  t.same(await run(rechunk(), []), []);
  const stage = rechunk();
  t.same(await run(stage, [new AudioFrame(new Int16Array(0), 48000, 1, 0)]), []);
  t.equal(stage.stats.framesIn, 1);
});

t.test('destroy drops the remainder', async (t) => {
  const stage = rechunk();
  stage.write(noise(48000, 1, 300, 1));
  await new Promise((r) => setImmediate(r));
  t.equal(stage.bufferedMs, 6.25);
  const closed = new Promise((r) => stage.on('close', r));
  stage.destroy();
  await closed;
  t.equal(stage.bufferedMs, 0);
});

t.test('bad options are ConfigErrors thrown by the constructor', async (t) => {
  for (const o of [
    { frameMs: 0 },
    { frameMs: -10 },
    { frameMs: NaN },
    { frameMs: Infinity },
    { frameMs: '10' },
    { tail: 'pad it' },
  ]) {
    t.throws(() => rechunk(o as never), { name: 'ConfigError', code: 'ERR_RECHUNK_OPTIONS' }, JSON.stringify(o));
  }
});

t.test('bad input is a FrameFormatError on the stream', async (t) => {
  const cases: Array<[string, unknown[], string]> = [
    ['a Buffer', [Buffer.alloc(960)], 'ERR_NOT_A_FRAME'],
    ['a number', [42], 'ERR_NOT_A_FRAME'],
    ['a frame whose data is short', [new AudioFrame(new Int16Array(100), 48000, 1, 480)], 'ERR_FRAME_LENGTH'],
    ['22.05 kHz at 10 ms (220.5 samples)', [noise(22050, 1, 441)], 'ERR_RECHUNK_SIZE'],
    ['a rate change', [noise(48000, 1, 480), noise(16000, 1, 160)], 'ERR_FRAME_MISMATCH'],
    ['a channel change', [noise(48000, 1, 100), noise(48000, 2, 100)], 'ERR_FRAME_MISMATCH'],
    ['a non-frame later', [noise(48000, 1, 100), 'x'], 'ERR_NOT_A_FRAME'],
    ['zero channels', [new AudioFrame(new Int16Array(0), 48000, 0, 0)], 'ERR_FRAME_FORMAT'],
    ['a zero rate', [new AudioFrame(new Int16Array(10), 0, 1, 10)], 'ERR_RECHUNK_SIZE'],
  ];
  for (const [what, frames, code] of cases) {
    await t.rejects(run(rechunk(), frames), { name: 'FrameFormatError', code }, what);
  }
  await t.rejects(run(rechunk(), [noise(22050, 1, 441)]), /22050 Hz audio into 10 ms frames: that is 220.5 samples/);
});
