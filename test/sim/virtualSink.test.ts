/**
 * VirtualSink and its NativeQueueModel mimic rtc-node's buffered AudioSource (the native InternalSource):
 * a capture completes at once while the queue holds ≤ queueSizeMs, else on the tick that drains it back;
 * the 10 ms ticker plays only whole 10 ms and counts underruns.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VirtualClock } from '../../lib/clock.js';
import { AudioFrame } from '../../lib/frames.js';
import { NativeQueueModel, VirtualSink, virtualSink } from './VirtualSink.js';

const ms10 = (v: number, n = 480) => new Int16Array(n).fill(v);

t.test('the model: burst until full, then one capture per tick', async (t) => {
  const q = new NativeQueueModel<number>(48000, 1, 50);
  t.equal(q.frameSize, 480);
  for (let i = 0; i < 5; i++) t.equal(q.offer(ms10(i), i), 'done', `capture ${i} completes at once`);
  t.equal(q.offer(ms10(5), 5), 'pending', 'the sixth waits: 60 ms > 50');
  t.ok(q.pending);
  t.equal(q.offer(ms10(6), 6), 'refused', 'a second capture while one is pending fails, as natively');
  t.equal(q.queuedMs, 60);
  const r = q.tick();
  t.equal(r.data![0], 0, 'plays the oldest 10 ms');
  t.equal(r.meta, 0);
  t.equal(r.completed, true, 'and the pending capture completes');
  t.equal(q.queuedMs, 50);
  t.equal(q.offer(new Int16Array(480 * 5), 9), 'pending', '100 ms: the most the native buffer takes');
  t.equal(q.tick().completed, false, '100 → 90 ms: still above 50');
  for (let i = 0; i < 4; i++) q.tick();
  t.equal(q.queuedMs, 50);
  t.notOk(q.pending);
  t.equal(
    new NativeQueueModel<number>(48000, 1, 50).offer(new Int16Array(480 * 11), 0),
    'refused',
    'over 2 × queueSizeMs',
  );
  t.throws(() => new NativeQueueModel(48000, 1, 0), { name: 'ConfigError', code: 'ERR_SINK_OPTIONS' });
  t.throws(() => new NativeQueueModel(48000, 1, 15), { code: 'ERR_SINK_OPTIONS' });
});

t.test('the model: frames that are not 10 ms, and sub-10 ms remainders', async (t) => {
  const q = new NativeQueueModel<string>(16000, 2, 30);
  q.offer(new Int16Array(240 * 2).fill(1), 'a'); // 15 ms
  q.offer(new Int16Array(40 * 2).fill(2), 'b'); // 2.5 ms
  let r = q.tick();
  t.equal(r.meta, 'a');
  t.equal(r.offset, 0);
  t.equal(r.data!.length, 320);
  r = q.tick();
  t.equal(r.data, null, '7.5 ms left: the tick is an underrun and the remainder stays');
  t.equal(q.queuedSamples, 120);
  q.offer(new Int16Array(160 * 2).fill(3), 'c');
  r = q.tick();
  t.equal(r.meta, 'a', 'the next tick starts inside frame a');
  t.equal(r.offset, 160);
  t.same([r.data![0], r.data![2 * 80], r.data![2 * 120]], [1, 2, 3], 'and spans a, b and c');
});

t.test('the stream: paces writes like captureFrame, plays on the clock, finishes after playout', async (t) => {
  const clock = new VirtualClock();
  const playedAt: number[] = [];
  const sink = virtualSink({ clock, sampleRate: 48000, queueSizeMs: 50, onPlay: (d, at) => d && playedAt.push(at) });
  const writtenAt: number[] = [];
  const frames = Array.from({ length: 20 }, (_, i) => new AudioFrame(ms10(i + 1), 48000, 1, 480));
  const src = Readable.from(
    (async function* () {
      for (const f of frames) {
        writtenAt.push(clock.now());
        yield f;
      }
    })(),
    { objectMode: true, highWaterMark: 1 },
  );
  let finished = false;
  const done = pipeline(src, sink).then(() => (finished = true));
  await clock.advanceAsync(0);
  t.ok(sink.bufferedMs >= 50 && sink.bufferedMs <= 70, `a burst fills the queue at once (${sink.bufferedMs} ms)`);
  await clock.advanceAsync(100);
  t.equal(playedAt.length, 10, 'one frame per 10 ms tick');
  t.same(playedAt.slice(0, 3), [10, 20, 30]);
  await clock.advanceAsync(150);
  t.ok(finished, 'finishes once everything has played');
  await done;
  t.equal(playedAt.length, 20);
  t.ok(writtenAt[12]! >= 60, `after the burst, writes are paced by the ticks (13th at ${writtenAt[12]} ms)`);
  t.equal(sink.stats.framesPlayed, 20);
  t.equal(sink.stats.underrunTicks, 0);
  t.equal(clock.pending, 0, 'the ticker stopped');
});

t.test('the stream: underruns are counted, bad frames are errors, destroy stops the ticker', async (t) => {
  const clock = new VirtualClock();
  const sink = new VirtualSink({ clock, sampleRate: 16000, channels: 1, queueSizeMs: 20 });
  sink.write(new AudioFrame(new Int16Array(160), 16000, 1, 160));
  await clock.advanceAsync(100);
  t.equal(sink.stats.framesPlayed, 1);
  t.equal(sink.stats.underrunTicks, 9, 'nine silent ticks after the audio');
  t.equal(sink.stats.underrunEvents, 1);
  sink.write(new AudioFrame(new Int16Array(160), 16000, 1, 160));
  await clock.advanceAsync(30);
  t.equal(sink.stats.underrunEvents, 2, 'a second run of silence');
  const err = new Promise<Error>((resolve) => sink.once('error', resolve));
  sink.write(new AudioFrame(new Int16Array(480), 48000, 1, 480));
  t.match(await err, { code: 'ERR_FRAME_MISMATCH' });
  await clock.advanceAsync(0);
  t.equal(clock.pending, 0, 'destroyed: no more ticks');

  const full = new VirtualSink({ clock, sampleRate: 16000, queueSizeMs: 10 });
  const refused = new Promise<Error>((resolve) => full.once('error', resolve));
  full.write(new AudioFrame(new Int16Array(160 * 3), 16000, 1, 480));
  t.match(await refused, { code: 'ERR_CAPTURE_FAILED' });
  const real = new VirtualSink();
  t.equal(real.bufferedMs, 0, 'defaults: realClock, 48 kHz mono');
  real.destroy();
});
