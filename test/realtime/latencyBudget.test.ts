/**
 * "Latency is declared, not discovered": with a source much faster than realtime (a file), every stage is
 * full all the time, so what the pipeline holds ahead of the native queue is the sum of what each stage is
 * allowed to hold. Sample that sum during the run and hold it to a declared budget.
 */
import t, { type Test } from 'tap';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { createLoopback } from '../../room/loopback.js';
import { totalBufferedMs, type HoldsAudio } from '../../lib/stats.js';
import { decodeWav } from '../../transforms/decodeWav.js';
import { rechunk } from '../../transforms/rechunk.js';
import { resample } from '../../transforms/resample.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import { noise } from '../helpers/signals.js';

t.teardown(async () => {
  await dispose();
});

const dir = t.testdir({});

async function wav(rate: number, seconds: number): Promise<string> {
  const path = join(dir, `in-${rate}.wav`);
  const frames = Array.from({ length: seconds * 10 }, (_, i) => noise(rate, 1, rate / 10, i + 1));
  await pipeline(Readable.from(frames), new WavFileSink(path));
  return path;
}

type Stage = (Duplex | Writable) & HoldsAudio;

/** Every stage declares its buffers: object-mode sides hold 1–2 frames, never Node's default of 16. */
function checkDeclared(t: Test, stages: Record<string, Stage>): void {
  for (const [name, s] of Object.entries(stages)) {
    const r = (s as Duplex).readableHighWaterMark;
    if (r !== undefined) t.ok(r <= 2, `${name}: readableHighWaterMark ${r}`);
    t.ok(s.writableHighWaterMark <= 2, `${name}: writableHighWaterMark ${s.writableHighWaterMark}`);
  }
}

/** File reads of 960 bytes: 10 ms of 48 kHz mono (10.9 ms at 44.1 kHz), so decoded frames are ~10 ms. */
const READ_BYTES = 960;

/**
 * The declared budgets, from the declared highWaterMarks (10 ms frames): decodeWav 1 frame out; rechunk 1 in,
 * 1 out and < 10 ms being cut; LiveKitSink 1 in flight (+ 1 buffered at most) — 50 ms. Resampling adds one
 * frame each side plus the filter's lookahead (≈ 1 ms) — 75 ms.
 */
const cases = [
  { name: '48 kHz: decodeWav → rechunk → LiveKitSink', rate: 48000, resampled: false, budgetMs: 50 },
  { name: '44.1 kHz: decodeWav → resample → rechunk → LiveKitSink', rate: 44100, resampled: true, budgetMs: 75 },
];

for (const c of cases) {
  t.test(`${c.name}: buffered audio ahead of the native queue stays within ${c.budgetMs} ms`, async (t) => {
    const path = await wav(c.rate, 2);
    const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: 50 });
    t.teardown(() => lb.close());
    const stages: Record<string, Stage> = { decodeWav: decodeWav() };
    if (c.resampled) stages.resample = resample({ sampleRate: 48000, channels: 1 });
    stages.rechunk = rechunk();
    stages.sink = lb.sink;
    checkDeclared(t, stages);

    const samples: number[] = [];
    const perStageMax: Record<string, number> = {};
    const sampler = setInterval(() => {
      samples.push(totalBufferedMs(Object.values(stages)));
      for (const [name, s] of Object.entries(stages))
        perStageMax[name] = Math.max(perStageMax[name] ?? 0, s.bufferedMs);
    }, 5);
    const [first, ...rest] = Object.values(stages) as unknown as [Duplex, ...Duplex[]];
    await pipeline(createReadStream(path, { highWaterMark: READ_BYTES }), first, ...rest);
    clearInterval(sampler);

    const max = Math.max(...samples);
    t.ok(samples.length > 200, `${samples.length} samples over the run`);
    t.ok(max <= c.budgetMs, `held at most ${max.toFixed(1)} ms (budget ${c.budgetMs} ms)`);
    t.ok(max > 0, 'the stages did hold audio (the measure is live)');
    t.comment(
      `max per stage: ${JSON.stringify(Object.fromEntries(Object.entries(perStageMax).map(([k, v]) => [k, +v.toFixed(1)])))}`,
    );
    t.comment(`ahead of the listener in all: ≤ ${(max + lb.sink.queueSizeMs).toFixed(1)} ms (stages + native queue)`);
  });
}
