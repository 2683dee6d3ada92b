/**
 * Barge-in: an aborted pipeline (or destroy()) stops the audio now — no capture after the abort, the native
 * queue cleared — while end() lets everything play out first.
 */
import t from 'tap';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dispose, type AudioFrame, type AudioSource } from '@livekit/rtc-node';
import { createLoopback, type LoopbackRecorder } from '../../room/loopback.js';
import { decodeWav } from '../../transforms/decodeWav.js';
import { rechunk } from '../../transforms/rechunk.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import { noise } from '../helpers/signals.js';

t.teardown(async () => {
  await dispose();
});

const dir = t.testdir({});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Audio that is never exactly zero, so received sound can be told from the ticker's silence. */
function loud(n: number, seed: number): AudioFrame {
  const f = noise(48000, 1, n, seed);
  for (let k = 0; k < f.data.length; k++) if (f.data[k] === 0) f.data[k] = 1;
  return f;
}

async function wav(seconds: number): Promise<string> {
  const path = join(dir, `loud-${seconds}.wav`);
  await pipeline(
    Readable.from(Array.from({ length: seconds * 10 }, (_, i) => loud(4800, i + 1))),
    new WavFileSink(path),
  );
  return path;
}

/** When captureFrame was called (the real call, wrapped for timing only). */
function captureTimes(source: AudioSource): number[] {
  const times: number[] = [];
  const original = source.captureFrame.bind(source);
  source.captureFrame = (f: AudioFrame) => {
    times.push(performance.now());
    return original(f);
  };
  return times;
}

/** ms of non-silent audio received. */
function soundMs(r: LoopbackRecorder): number {
  let n = 0;
  for (const c of r.chunks) if (c.frame.data.some((v) => v !== 0)) n += c.frame.samplesPerChannel;
  return n / 48;
}

for (const queueSizeMs of [100, 0]) {
  t.test(
    `pipeline(..., { signal }) aborted mid-file stops the audio at once (queueSizeMs ${queueSizeMs})`,
    async (t) => {
      const path = await wav(3);
      const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs });
      t.teardown(() => lb.close());
      const calls = captureTimes(lb.source);
      const ac = new AbortController();
      const run = pipeline(createReadStream(path, { highWaterMark: 4096 }), decodeWav(), rechunk(), lb.sink, {
        signal: ac.signal,
      });
      await lb.recorder.waitFor((r) => r.firstSoundAt !== null, 2000);
      await sleep(500);
      const queuedBefore = lb.source.queuedDuration;
      const heldBefore = lb.sink.bufferedMs;
      const abortAt = performance.now();
      ac.abort();
      t.equal(lb.source.queuedDuration, 0, `the native queue is cleared synchronously (held ${queuedBefore} ms)`);
      await t.rejects(run, { name: 'AbortError' }, 'the pipeline rejects with AbortError');
      await sleep(200);

      const late = calls.filter((c) => c > abortAt + 20);
      t.same(late, [], 'no captureFrame later than 20 ms after the abort');
      const played = soundMs(lb.recorder);
      const elapsed = abortAt - lb.sink.stats.firstCaptureAt!;
      t.ok(
        played <= elapsed + 30,
        `audio stopped with the abort: ${played.toFixed(0)} ms played, ${elapsed.toFixed(0)} ms between first capture and abort`,
      );
      // (a loaded machine can make the audio run late, never early)
      t.ok(played >= elapsed - 150 - queueSizeMs, 'and it did play until then');
      // arrival in JavaScript can lag on a busy event loop; the count of samples above is the exact measure
      t.ok(
        lb.recorder.lastSoundAt! <= abortAt + queueSizeMs + 50,
        `last sound reached the recorder ${(lb.recorder.lastSoundAt! - abortAt).toFixed(1)} ms after the abort`,
      );
      t.ok(
        // the queue keeps playing between the two readings: a few ms less may be left to cut
        lb.sink.stats.discardedMs >= queuedBefore - 10,
        `cut ${lb.sink.stats.discardedMs.toFixed(0)} ms (${queuedBefore} queued, ${heldBefore} held)`,
      );
      t.equal(lb.sink.destroyed, true);
      t.equal(lb.source.closed, true, 'the sink closed the source it made');
    },
  );
}

t.test('end() plays everything out before finish; destroy() cuts at once', async (t) => {
  const frames = Array.from({ length: 50 }, (_, i) => loud(480, 1000 + i)); // 500 ms
  {
    const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: 200 });
    t.teardown(() => lb.close());
    let finished = 0;
    lb.sink.on('finish', () => (finished = performance.now()));
    for (const f of frames) lb.sink.write(f);
    await new Promise((r) => lb.sink.end(r));
    await sleep(50); // the last frames' way from the native queue to the recorder
    t.ok(finished > 0);
    t.equal(soundMs(lb.recorder), 500, 'all 500 ms played');
    const playedTo = lb.recorder.lastSoundAt!;
    t.ok(
      finished >= playedTo - 30,
      `finish came after playout (${(finished - playedTo).toFixed(1)} ms after the last sound)`,
    );
    t.ok(finished - lb.sink.stats.firstCaptureAt! >= 480, 'finish waited for real-time playout');
  }
  {
    const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: 200 });
    t.teardown(() => lb.close());
    let finished = false;
    lb.sink.on('finish', () => (finished = true));
    for (const f of frames.slice(0, 20)) lb.sink.write(f); // 200 ms: all of it fits in the native queue
    await lb.recorder.waitFor((r) => r.firstSoundAt !== null, 2000);
    await sleep(50);
    const queued = lb.source.queuedDuration;
    const cutAt = performance.now();
    lb.sink.destroy();
    await new Promise((r) => lb.sink.once('close', r));
    await sleep(250);
    const played = soundMs(lb.recorder);
    const elapsed = cutAt - lb.sink.stats.firstCaptureAt!;
    t.ok(
      played < 200 && played <= elapsed + 30,
      `destroy cut the queued audio: ${played} ms of 200 played, ${elapsed.toFixed(0)} ms after the first capture`,
    );
    t.ok(lb.recorder.lastSoundAt! <= cutAt + 200 + 50, 'the last sound came before the queue would have played out');
    t.equal(finished, false, "no 'finish' after destroy");
    t.ok(
      lb.sink.stats.discardedMs >= queued - 2,
      `discarded ${lb.sink.stats.discardedMs.toFixed(0)} ms (${queued} queued)`,
    );
  }
});
