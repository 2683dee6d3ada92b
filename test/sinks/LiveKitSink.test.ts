import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioSource, dispose } from '@livekit/rtc-node';
import { VirtualClock } from '../../lib/clock.js';
import { AudioPipelineError, ConfigError, FrameFormatError } from '../../lib/errors.js';
import { AudioFrame } from '../../lib/frames.js';
import { Pacer } from '../../lib/pacer.js';
import { DEFAULT_QUEUE_SIZE_MS, LiveKitSink } from '../../sinks/LiveKitSink.js';

t.teardown(async () => {
  await dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `spc` samples per channel of the constant `v` (so frames can be told apart). */
function frame(v: number, spc = 480, rate = 48000, ch = 1): AudioFrame {
  return new AudioFrame(new Int16Array(spc * ch).fill(v), rate, ch, spc);
}

/**
 * Record how often and how concurrently `source.captureFrame` is called, without changing what it does. The
 * sinks it watches capture through rtc-node's method (`fastCapture: false`): these tests are about when the
 * sink captures, which is the same for both methods; the FFI path has its own tests (ffiCapture.test.ts) and
 * goes through the loopback (realtime/loopback.test.ts).
 */
function watchCaptures(source: AudioSource) {
  const w = { calls: [] as number[], inFlight: 0, maxInFlight: 0 };
  const original = source.captureFrame.bind(source);
  source.captureFrame = async (f: AudioFrame) => {
    w.calls.push(performance.now());
    w.inFlight++;
    w.maxInFlight = Math.max(w.maxInFlight, w.inFlight);
    try {
      await original(f);
    } finally {
      w.inFlight--;
    }
  };
  return w;
}

function streamError(sink: Writable): Promise<Error> {
  return new Promise((resolve) => sink.once('error', resolve));
}

function closed(sink: Writable): Promise<void> {
  return new Promise((resolve) => (sink.closed ? resolve() : sink.once('close', () => resolve())));
}

t.test('defaults: direct mode, 48 kHz mono, no native queue, highWaterMark 1, owns its source', async (t) => {
  const sink = new LiveKitSink();
  t.equal(DEFAULT_QUEUE_SIZE_MS, 0);
  t.equal(sink.mode, 'direct');
  t.equal(sink.sampleRate, 48000);
  t.equal(sink.channels, 1);
  t.equal(sink.queueSizeMs, DEFAULT_QUEUE_SIZE_MS);
  t.equal(sink.source.queueSize, DEFAULT_QUEUE_SIZE_MS);
  t.equal(sink.writableHighWaterMark, 1);
  t.equal(sink.writableObjectMode, true);
  t.equal(sink.ownsSource, true);
  t.equal(sink.bufferedMs, 0);
  t.equal(sink.stats.captureMethod, 'ffi', 'captures through lib/ffiCapture.ts on this rtc-node');
  sink.destroy();
  await closed(sink);
  t.equal(sink.source.closed, true, 'destroy closes a source the sink made');
});

t.test('bad options are ConfigErrors, thrown before any native object is made', async (t) => {
  const bad: [string, unknown][] = [
    ['sampleRate 0', { sampleRate: 0 }],
    ['sampleRate 44100.5', { sampleRate: 44100.5 }],
    ['sampleRate 22050 (no whole 10 ms frame)', { sampleRate: 22050 }],
    ['channels 0', { channels: 0 }],
    ['channels 1.5', { channels: 1.5 }],
    ['queueSizeMs 5 (rtc-node would panic)', { queueSizeMs: 5 }],
    ['queueSizeMs 15', { queueSizeMs: 15 }],
    ['queueSizeMs -10', { queueSizeMs: -10 }],
    ['queueSizeMs NaN', { queueSizeMs: NaN }],
    ['highWaterMark -1', { highWaterMark: -1 }],
    ['highWaterMark 1.5', { highWaterMark: 1.5 }],
    ['direct mode at 22050 Hz (no whole 10 ms frame)', { sampleRate: 22050, queueSizeMs: 0 }],
    ['pacer in buffered mode', { queueSizeMs: 50, pacer: new Pacer() }],
    ['source not an AudioSource', { source: { sampleRate: 48000, numChannels: 1, queueSize: 50 } }],
    ['signal not an AbortSignal', { signal: {} }],
    ['prebufferMs -1', { prebufferMs: -1 }],
    ['prebufferMs NaN', { prebufferMs: NaN }],
    ['prebufferMs in direct mode', { queueSizeMs: 0, prebufferMs: 20 }],
    ['fastCapture not a boolean', { fastCapture: 'yes' }],
  ];
  for (const [name, opts] of bad) {
    t.throws(() => new LiveKitSink(opts as never), ConfigError, name);
  }
  const source = new AudioSource(48000, 2, 100);
  t.throws(() => new LiveKitSink({ source, sampleRate: 16000 }), { code: 'ERR_SINK_OPTIONS' }, 'rate contradicts');
  t.throws(() => new LiveKitSink({ source, channels: 1 }), ConfigError, 'channels contradict');
  t.throws(() => new LiveKitSink({ source, queueSizeMs: 50 }), ConfigError, 'queue contradicts');
  const ok = new LiveKitSink({ source, sampleRate: 48000, channels: 2, queueSizeMs: 100 });
  t.equal(ok.channels, 2);
  t.equal(ok.ownsSource, false);
  ok.destroy();
  await closed(ok);
  t.equal(source.closed, false, 'a given source is left open');
  await source.close();
});

t.test('frames of the wrong rate, channel count or shape, and non-frames, are FrameFormatErrors', async (t) => {
  const cases: [string, unknown, string][] = [
    ['wrong rate', frame(1, 160, 16000), 'ERR_FRAME_MISMATCH'],
    ['wrong channels', frame(1, 480, 48000, 2), 'ERR_FRAME_MISMATCH'],
    ['a Buffer', Buffer.alloc(960), 'ERR_NOT_A_FRAME'],
    ['a string', 'hello', 'ERR_NOT_A_FRAME'],
    ['a plain object', { data: new Int16Array(480), sampleRate: 48000, channels: 1 }, 'ERR_NOT_A_FRAME'],
    ['data shorter than declared', new AudioFrame(new Int16Array(100), 48000, 1, 480), 'ERR_FRAME_LENGTH'],
  ];
  for (const [name, bad, code] of cases) {
    const sink = new LiveKitSink({ queueSizeMs: 50 });
    const err = streamError(sink);
    sink.write(frame(1));
    sink.write(bad);
    const e = await err;
    t.type(e, FrameFormatError, name);
    t.equal((e as FrameFormatError).code, code, name);
    t.match(e.message, 'LiveKitSink', `${name}: the message names the stage`);
    await closed(sink);
    t.equal(sink.source.closed, true, `${name}: the owned source is closed`);
  }
});

t.test('an error also rejects pipeline()', async (t) => {
  const sink = new LiveKitSink({ queueSizeMs: 100 });
  await t.rejects(pipeline(Readable.from([frame(1), frame(2, 480, 44100)]), sink), FrameFormatError);
});

t.test('stats add up; one capture in flight; empty frames are skipped', async (t) => {
  const clock = { now: () => performance.now(), setTimeout, clearTimeout } as never;
  const sink = new LiveKitSink({ queueSizeMs: 30, clock, fastCapture: false });
  const w = watchCaptures(sink.source);
  const frames = [frame(1), frame(2, 960), frame(3, 0), frame(4, 441), frame(5, 1440), frame(6)];
  let maxBuffered = 0;
  const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, sink.bufferedMs)), 1);
  await pipeline(Readable.from(frames), sink);
  clearInterval(sampler);
  const s = sink.stats;
  t.equal(s.mode, 'buffered');
  // 3801 samples: end() completes the last 10 ms with 39 samples of silence so that it plays
  t.equal(s.paddedSamples, 39);
  t.equal(s.framesCaptured, 6, 'the empty frame is not captured; the padding is');
  t.equal(s.samplesCaptured, 480 + 960 + 441 + 1440 + 480 + 39);
  t.equal(s.msCaptured, 80);
  t.equal(w.calls.length, 6);
  t.equal(w.maxInFlight, 1, 'never two captures at once');
  t.equal(s.unalignedFrames, 1, 'the 441-sample frame is not a whole 10 ms');
  t.ok(s.captureWaitMs.mean <= s.captureWaitMs.max && s.captureWaitMs.max >= s.captureWaitMs.last);
  t.ok(s.firstCaptureAt !== null && s.lastCaptureAt !== null && s.firstCaptureAt <= s.lastCaptureAt);
  t.equal(s.bufferedMs, 0);
  t.equal(s.queuedMs, 0, 'after finish the source is closed and nothing is queued');
  t.equal(s.discardedMs, 0);
  t.ok(maxBuffered <= 30 + 1e-9, `held at most the frame in flight + one buffered: ${maxBuffered} ms`);
  t.equal(sink.source.closed, true, 'end closes the owned source after playout');
});

t.test('end() finishes only after the queued audio has played out', async (t) => {
  const sink = new LiveKitSink({ queueSizeMs: 100 });
  const start = performance.now();
  for (let i = 0; i < 10; i++) sink.write(frame(i + 1)); // 100 ms: fits in the native queue at once
  let writesDone = 0;
  sink.write(frame(99), () => (writesDone = performance.now() - start));
  await new Promise((r) => sink.end(r));
  const finished = performance.now() - start;
  t.ok(writesDone < 60, `the writes were accepted quickly (${writesDone.toFixed(1)} ms)`);
  t.ok(finished >= 100, `finish waited for playout: ${finished.toFixed(1)} ms for 110 ms of audio`);
  t.ok(finished < 400, 'and not much longer');
});

t.test('buffered mode paces: captures wait for room once the native queue is full', async (t) => {
  const sink = new LiveKitSink({ queueSizeMs: 50 });
  const frames = Array.from({ length: 40 }, (_, i) => frame(i + 1));
  const start = performance.now();
  await pipeline(Readable.from(frames), sink);
  const elapsed = performance.now() - start;
  t.ok(elapsed >= 380 && elapsed < 700, `400 ms of audio took ${elapsed.toFixed(0)} ms`);
  t.ok(sink.stats.captureWaitMs.max >= 5, 'some captures waited for the ticker');
  t.equal(sink.stats.underruns, 0, 'a fast source never lets the queue run dry');
});

t.test('buffered underruns are estimated from capture timing', async (t) => {
  const sink = new LiveKitSink({ queueSizeMs: 50 });
  for (let i = 0; i < 10; i++) sink.write(frame(i + 1));
  await new Promise((r) => sink.write(frame(11), r));
  await sleep(300); // the queue (≈ 60 ms left) runs dry for ≈ 240 ms
  await new Promise((r) => sink.write(frame(12), r));
  const s = sink.stats;
  t.equal(s.underruns, 1);
  t.ok(s.underrunMs > 150 && s.underrunMs < 400, `estimated silence ${s.underrunMs.toFixed(0)} ms`);
  sink.destroy();
  await closed(sink);
});

t.test('destroy() clears the native queue at once (barge-in) and reports what it cut', async (t) => {
  const source = new AudioSource(48000, 1, 200);
  const sink = new LiveKitSink({ source });
  for (let i = 0; i < 15; i++) await new Promise((r) => sink.write(frame(i + 1), r));
  const queued = source.queuedDuration; // 150 ms written at once, less what has played meanwhile
  t.ok(queued >= 50, `queued before: ${queued} ms`);
  sink.destroy();
  t.equal(source.queuedDuration, 0, 'cleared synchronously');
  await closed(sink);
  // rtc-node computes the queue from the clock: read again a moment later it is a little shorter (up to a few ms
  // on a loaded machine)
  t.ok(
    sink.stats.discardedMs >= queued - 10 && sink.stats.discardedMs <= queued + 1,
    `discarded ${sink.stats.discardedMs} ms of ${queued}`,
  );
  t.equal(source.closed, false, 'a shared source stays open for the next sink');
  // the next utterance on the same source
  const next = new LiveKitSink({ source });
  await pipeline(Readable.from([frame(1), frame(2)]), next);
  t.equal(next.stats.framesCaptured, 2);
  t.equal(source.closed, false);
  await source.close();
});

t.test('the signal option aborts the sink: AbortError, queue cleared, owned source closed', async (t) => {
  const ac = new AbortController();
  const sink = new LiveKitSink({ queueSizeMs: 100, signal: ac.signal });
  const err = streamError(sink);
  for (let i = 0; i < 8; i++) sink.write(frame(i + 1));
  await sleep(20);
  ac.abort();
  t.equal((await err).name, 'AbortError');
  t.equal(sink.source.queuedDuration, 0);
  await closed(sink);
  t.equal(sink.source.closed, true);

  const already = new LiveKitSink({ signal: AbortSignal.abort() });
  t.equal(already.destroyed, true, 'an already-aborted signal destroys at once');
  t.equal((await streamError(already)).name, 'AbortError');
  await closed(already);
});

t.test('a capture that fails natively is an ERR_CAPTURE_FAILED stream error', async (t) => {
  const source = new AudioSource(48000, 1, 50);
  const sink = new LiveKitSink({ source });
  await source.close(); // someone else closed it
  const err = streamError(sink);
  sink.write(frame(1));
  const e = await err;
  t.type(e, AudioPipelineError);
  t.equal((e as AudioPipelineError).code, 'ERR_CAPTURE_FAILED');
  t.match(e.message, 'closed');
});

t.test("frames that are views are copied before they reach rtc-node's captureFrame", async (t) => {
  const sink = new LiveKitSink({ fastCapture: false });
  const seen: AudioFrame[] = [];
  const original = sink.source.captureFrame.bind(sink.source);
  sink.source.captureFrame = (f: AudioFrame) => {
    seen.push(f);
    return original(f);
  };
  const big = new Int16Array(4800).map((_, i) => i);
  const view = new AudioFrame(big.subarray(480, 960), 48000, 1, 480);
  const owned = frame(7);
  await pipeline(Readable.from([view, owned]), sink);
  t.not(seen[0], view, 'the view was replaced');
  t.equal(seen[0]!.data.byteOffset, 0);
  t.equal(seen[0]!.data.buffer.byteLength, 960);
  t.same(Array.from(seen[0]!.data.subarray(0, 3)), [480, 481, 482]);
  t.equal(seen[1], owned, 'a frame that owns its buffer is passed as is');
});

t.test('direct mode: one frame per pacer tick, exact 10 ms frames only', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock });
  const sink = new LiveKitSink({ queueSizeMs: 0, pacer, clock, fastCapture: false });
  t.equal(sink.mode, 'direct');
  t.equal(pacer.subscribers, 1);
  const w = watchCaptures(sink.source);
  // let real time pass so native capture callbacks arrive between virtual ticks
  const tick = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      await clock.advanceAsync(10);
      await sleep(3);
    }
  };
  const done = pipeline(
    Readable.from(
      Array.from({ length: 10 }, (_, i) => frame(i + 1)),
      { highWaterMark: 1 },
    ),
    sink,
  );
  await sleep(5);
  t.equal(w.calls.length, 0, 'nothing is pushed before the first tick');
  t.equal(sink.bufferedMs, 10, 'the frame waits for its tick');
  await tick(3);
  t.equal(w.calls.length, 3, 'one frame per tick');
  await tick(7);
  await done;
  t.equal(w.calls.length, 10);
  t.equal(w.maxInFlight, 1);
  t.equal(sink.stats.framesCaptured, 10);
  t.equal(sink.stats.underruns, 0);
  t.equal(pacer.subscribers, 0, 'the finished sink left the pacer');
  t.equal(clock.pending, 0);
});

t.test(
  'direct mode: a stall is caught up from the pacer slots; starving beyond the bound is an underrun',
  async (t) => {
    const clock = new VirtualClock(0);
    // the event loop "blocks": the timer due at 20 fires at 40, the one due at 110 at 160
    const late: Record<number, number> = { 20: 20, 110: 50 };
    const stalling = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms + (late[clock.now() + ms] ?? 0)),
      clearTimeout: (h: ReturnType<VirtualClock['setTimeout']>) => clock.clearTimeout(h),
    };
    const pacer = new Pacer({ clock: stalling, maxCatchUpTicks: 2 });
    const sink = new LiveKitSink({ queueSizeMs: 0, pacer, clock, fastCapture: false });
    const w = watchCaptures(sink.source);
    const src = new Readable({ objectMode: true, highWaterMark: 1, read() {} });
    const done = pipeline(src, sink);
    const tick = async () => {
      await clock.advanceAsync(10);
      await sleep(5);
    };
    for (let i = 0; i < 4; i++) src.push(frame(i + 1));
    await tick();
    t.equal(w.calls.length, 1);
    // one fire at 40 with 3 ticks (20, 30, 40): the frames that are ready go out at once
    await clock.advanceAsync(30);
    await sleep(20);
    t.equal(w.calls.length, 4, 'caught up: 3 frames in one burst');
    t.equal(pacer.stats.catchUpTicks, 2);
    // no frames for 4 ticks: 3 slots (1 + maxCatchUpTicks) are kept, the 4th expires
    for (let i = 0; i < 4; i++) await tick();
    t.equal(sink.stats.underruns, 1, 'one run of expired slots');
    t.equal(sink.stats.underrunMs, 10);
    await tick();
    t.equal(sink.stats.underruns, 1, 'the same run goes on');
    t.equal(sink.stats.underrunMs, 20);
    // after an underrun the timeline restarts: the first late frame goes out at once, the rest one per tick
    for (let i = 0; i < 4; i++) src.push(frame(10 + i));
    await sleep(20);
    t.equal(w.calls.length, 5, 'one frame at once, no burst of stale slots');
    await tick();
    t.equal(w.calls.length, 6, 'then one per tick');
    // 110…160 fall due at 160: 3 delivered (used by the two waiting frames), 3 dropped by the pacer: 30 ms late
    const before = sink.stats.underrunMs;
    await clock.advanceAsync(60);
    await sleep(10);
    t.equal(pacer.stats.skippedTicks, 3);
    t.equal(sink.stats.underrunMs - before, 30, 'ticks the pacer dropped are time without audio');
    t.equal(sink.stats.underruns, 2);
    t.equal(w.calls.length, 8, 'the waiting frames caught up on the delivered ticks');
    // a frame short of 10 ms waits for more; at the end it goes out on a tick of its own, completed with silence
    src.push(frame(20, 441));
    await tick();
    t.equal(w.calls.length, 8, 'a partial 10 ms waits');
    src.push(null);
    await tick();
    await done;
    t.equal(w.calls.length, 9, 'end() sends it');
    t.equal(sink.stats.paddedSamples, 39);
    t.equal(pacer.subscribers, 0, 'the finished sink leaves the pacer');
  },
);

t.test('direct mode cuts any frame size into exact 10 ms captures, sample for sample', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock, maxCatchUpTicks: 100 });
  const sink = new LiveKitSink({ pacer, clock, fastCapture: false });
  t.equal(sink.mode, 'direct', 'the default mode');
  const seen: Int16Array[] = [];
  const capture = sink.source.captureFrame.bind(sink.source);
  sink.source.captureFrame = (f: AudioFrame) => {
    if (f.samplesPerChannel !== 480) t.fail(`a capture of ${f.samplesPerChannel} samples`);
    seen.push(f.data.slice(0, f.samplesPerChannel));
    return capture(f);
  };
  // a ramp cut into odd sizes: 7 ms, 25 ms, 1 sample, 0, 31 ms, 2.5 ms (each a view at an offset in a larger buffer)
  const sizes = [336, 1200, 1, 0, 1488, 120];
  const total = sizes.reduce((a, b) => a + b, 0);
  const ramp = Int16Array.from({ length: total }, (_, i) => (i % 30000) + 1);
  const frames: AudioFrame[] = [];
  let at = 0;
  for (const n of sizes) {
    const backing = new Int16Array(n + 16);
    backing.set(ramp.subarray(at, at + n), 8);
    frames.push(new AudioFrame(backing.subarray(8, 8 + n), 48000, 1, n));
    at += n;
  }
  const done = pipeline(Readable.from(frames, { highWaterMark: 1 }), sink);
  for (let i = 0; i < 12; i++) {
    await clock.advanceAsync(10);
    await sleep(3);
  }
  await done;
  const out = new Int16Array(seen.length * 480);
  seen.forEach((d, i) => out.set(d, i * 480));
  t.equal(seen.length, Math.ceil(total / 480), `${total} samples → ${seen.length} captures`);
  t.same(Array.from(out.subarray(0, total)), Array.from(ramp), 'every sample, in order');
  t.ok(
    out.subarray(total).every((v) => v === 0),
    'the last capture is completed with silence',
  );
  t.equal(sink.stats.paddedSamples, seen.length * 480 - total);
  t.equal(sink.stats.samplesCaptured, seen.length * 480);
  t.equal(sink.stats.unalignedFrames, 5, 'frames that were not whole 10 ms are counted');
});

t.test('direct mode without a pacer uses the shared pacer (or a private one on a given clock)', async (t) => {
  const a = new LiveKitSink({ queueSizeMs: 0 });
  const b = new LiveKitSink({ queueSizeMs: 0 });
  const { sharedPacer } = await import('../../lib/pacer.js');
  t.equal(sharedPacer().subscribers, 2);
  const start = performance.now();
  await pipeline(Readable.from(Array.from({ length: 30 }, (_, i) => frame(i + 1))), a);
  const elapsed = performance.now() - start;
  t.ok(elapsed >= 270 && elapsed < 600, `300 ms of audio took ${elapsed.toFixed(0)} ms on the shared pacer`);
  b.destroy();
  await closed(b);
  t.equal(sharedPacer().subscribers, 0);

  const clock = new VirtualClock(0);
  const c = new LiveKitSink({ queueSizeMs: 0, clock });
  t.equal(clock.pending, 1, 'a private pacer on the given clock');
  c.destroy();
  await closed(c);
  t.equal(clock.pending, 0);
});

t.test('direct mode destroy drops the frame waiting for its tick', async (t) => {
  const clock = new VirtualClock(0);
  const sink = new LiveKitSink({ queueSizeMs: 0, clock });
  let called = false;
  sink.write(frame(1), () => (called = true));
  await sleep(1);
  t.equal(sink.bufferedMs, 10);
  sink.destroy();
  await closed(sink);
  t.equal(sink.bufferedMs, 0);
  t.equal(sink.stats.framesCaptured, 0);
  t.equal(sink.stats.discardedMs, 10);
  t.ok(called || sink.destroyed, 'the write callback does not dangle');
});

t.test(
  'prebufferMs: the first frames are held until that much audio is in hand, then go out back to back',
  async (t) => {
    const sink = new LiveKitSink({ queueSizeMs: 100, prebufferMs: 50, fastCapture: false });
    const w = watchCaptures(sink.source);
    for (let i = 0; i < 4; i++) await new Promise((r) => sink.write(frame(i + 1), r));
    t.equal(w.calls.length, 0, '40 ms: still held (and the writes were accepted)');
    t.equal(sink.bufferedMs, 40);
    await new Promise((r) => sink.write(frame(5), r));
    t.equal(w.calls.length, 5, '50 ms: all handed over');
    t.ok(w.calls[4]! - w.calls[0]! < 30, 'back to back');
    await new Promise((r) => sink.write(frame(6), r));
    t.equal(w.calls.length, 6, 'then straight through');
    t.equal(sink.bufferedMs, 0);
    sink.destroy();
    await closed(sink);

    const short = new LiveKitSink({ queueSizeMs: 100, prebufferMs: 200, fastCapture: false });
    const ws = watchCaptures(short.source);
    await pipeline(Readable.from([frame(1), frame(2)]), short);
    t.equal(ws.calls.length, 2, 'a stream shorter than the prebuffer plays at end()');

    const cut = new LiveKitSink({ queueSizeMs: 100, prebufferMs: 100, fastCapture: false });
    const wc = watchCaptures(cut.source);
    for (let i = 0; i < 3; i++) await new Promise((r) => cut.write(frame(i + 1), r));
    cut.destroy();
    await closed(cut);
    t.equal(wc.calls.length, 0, 'destroyed while holding: nothing played');
    t.equal(cut.stats.discardedMs, 30, 'the held audio is counted as discarded');
    t.equal(cut.bufferedMs, 0);
  },
);

t.test('direct mode: destroyed while end() waits to send the last partial 10 ms: closes, no late error', async (t) => {
  const clock = new VirtualClock(0);
  const sink = new LiveKitSink({ clock, fastCapture: false });
  const errors: unknown[] = [];
  sink.on('error', (e) => errors.push(e));
  sink.write(frame(3, 441));
  sink.end();
  await sleep(5);
  t.equal(sink.bufferedMs > 9, true, 'the padded last 10 ms waits for a tick');
  sink.destroy();
  await closed(sink);
  await sleep(20);
  t.same(errors, [], 'no error after the destroy');
  t.equal(sink.stats.framesCaptured, 0);
  t.equal(clock.pending, 0, 'the pacer subscription is gone');
});
