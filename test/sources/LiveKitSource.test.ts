/**
 * LiveKitSource through the real native loopback (AudioSource → LocalAudioTrack → AudioStream, no server):
 * exact frames at the asked rate, sample-exact audio, a bounded buffer for a consumer that stops reading, a
 * destroy that releases the native stream, and typed errors for bad options.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioSource, LocalAudioTrack, dispose } from '@livekit/rtc-node';
import { AudioFrame } from '../../lib/frames.js';
import { ConfigError } from '../../lib/errors.js';
import { LiveKitSink } from '../../sinks/LiveKitSink.js';
import { DEFAULT_MAX_BUFFER_MS, LiveKitSource } from '../../sources/LiveKitSource.js';

t.teardown(async () => {
  await dispose();
});

/** A local track fed by a direct-mode sink, and `frames` 10 ms frames of a ramp written into it in real time. */
function loop(frames: number, rate = 48000) {
  const source = new AudioSource(rate, 1, 0);
  const track = LocalAudioTrack.createAudioTrack('source-test', source);
  const F = rate / 100;
  const ramp = (i: number) =>
    new AudioFrame(
      Int16Array.from({ length: F }, (_, j) => ((i * F + j) % 30000) + 1),
      rate,
      1,
      F,
    );
  const feed = () =>
    pipeline(Readable.from(Array.from({ length: frames }, (_, i) => ramp(i))), new LiveKitSink({ source }));
  return {
    source,
    track,
    feed,
    close: async () => {
      await track.close(false);
      await source.close();
    },
  };
}

t.test('exact frames at the asked rate, sample-exact at the track rate', async (t) => {
  const l = loop(50);
  const same = new LiveKitSource(l.track, { sampleRate: 48000, channels: 1, frameMs: 10 });
  const resampled = new LiveKitSource(l.track, { sampleRate: 16000, channels: 1, frameMs: 20 });
  const got48: AudioFrame[] = [];
  const got16: AudioFrame[] = [];
  same.on('data', (f: AudioFrame) => got48.push(f));
  resampled.on('data', (f: AudioFrame) => got16.push(f));
  await l.feed();
  await sleep(300);
  t.ok(got48.length >= 50, `${got48.length} frames at 48 kHz`);
  t.ok(
    got48.every((f) => f.samplesPerChannel === 480 && f.sampleRate === 48000 && f.channels === 1),
    'each exactly 10 ms',
  );
  t.ok(got16.length >= 24, `${got16.length} frames at 16 kHz`);
  t.ok(
    got16.every((f) => f.samplesPerChannel === 320 && f.sampleRate === 16000),
    'each exactly 20 ms, resampled natively',
  );
  const all = Int16Array.from(got48.flatMap((f) => Array.from(f.data)));
  const start = all.indexOf(1);
  t.ok(start >= 0, 'the ramp came back');
  const expected = Array.from({ length: 24000 }, (_, k) => (k % 30000) + 1);
  t.same(Array.from(all.subarray(start, start + 24000)), expected, '500 ms back sample for sample');
  t.equal(same.stats.droppedMs, 0, 'a consumer that keeps up loses nothing');
  t.equal(same.stats.framesOut, got48.length);
  same.destroy();
  resampled.destroy();
  await l.close();
});

t.test('a consumer that stops reading holds at most maxBufferMs; the oldest audio goes', async (t) => {
  const l = loop(150);
  const src = new LiveKitSource(l.track, { maxBufferMs: 100 });
  t.equal(src.readableHighWaterMark, 1);
  let maxHeld = 0;
  const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, src.bufferedMs)), 5);
  src.once('readable', () => undefined); // start flowing into the queue without consuming
  await l.feed(); // 1.5 s of audio while nobody reads
  await sleep(200);
  clearInterval(sampler);
  t.ok(maxHeld <= 100 + 10, `held at most ${maxHeld} ms (maxBufferMs 100 + one frame in Node's buffer)`);
  const s = src.stats;
  t.ok(s.droppedMs >= 1500 - 100 - 10 - 100, `the rest was dropped, oldest first: ${s.droppedMs} ms`);
  const held = s.framesIn - s.droppedFrames - s.framesOut;
  t.ok(held > 0 && held <= 10, `every frame is out, dropped, or among the ${held} held (≤ 100 ms)`);
  // what is left is the newest audio: the end of the ramp
  const left: AudioFrame[] = [];
  for (let f = src.read() as AudioFrame | null; f !== null; f = src.read() as AudioFrame | null) left.push(f);
  await sleep(20);
  for (let f = src.read() as AudioFrame | null; f !== null; f = src.read() as AudioFrame | null) left.push(f);
  const lastValue = left.at(-1)?.data.at(-1);
  t.equal(lastValue, ((150 * 480 - 1) % 30000) + 1, 'the newest sample is the last one written');
  src.destroy();
  await l.close();
});

t.test('destroy releases the native stream; nothing arrives after it', async (t) => {
  const l = loop(100);
  const src = new LiveKitSource(l.track);
  let after = 0;
  src.on('data', () => undefined);
  const feeding = l.feed();
  await sleep(300);
  src.destroy();
  await new Promise((r) => src.once('close', r));
  const seen = src.stats.framesIn;
  src.on('data', () => after++);
  await feeding;
  await sleep(100);
  t.equal(src.stats.framesIn, seen, 'no frame taken after destroy');
  t.equal(after, 0);
  t.equal(src.bufferedMs, 0);
  await l.close();
});

t.test('bad options and tracks are ConfigErrors, before anything native is made', async (t) => {
  t.equal(DEFAULT_MAX_BUFFER_MS, 200);
  const bad: [string, unknown][] = [
    ['no track', [undefined, {}]],
    ['a plain object', [{}, {}]],
  ];
  for (const [name, [track, opts]] of bad as [string, [unknown, unknown]][]) {
    t.throws(() => new LiveKitSource(track as never, opts as never), ConfigError, name);
  }
  const l = loop(1);
  for (const opts of [
    { sampleRate: 5 },
    { channels: 0 },
    { frameMs: 0 },
    { sampleRate: 44100, frameMs: 7 },
    { maxBufferMs: 5 },
    { maxBufferMs: Infinity },
    { highWaterMark: -1 },
  ]) {
    t.throws(() => new LiveKitSource(l.track, opts), { code: 'ERR_SOURCE_OPTIONS' }, JSON.stringify(opts));
  }
  await l.close();
});
