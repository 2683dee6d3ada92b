// @ts-check
/**
 * Recipe: your own processing stages, composed with stream-chain, inside a latency budget.
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node stream-chain
 *   node docs/recipes/stream-chain-budget.mjs
 *
 * stream-chain turns plain functions into stream stages — handy for gain, ducking, metering. But the streams
 * it creates use Node's default highWaterMark (16 objects each), so a few stages silently hold hundreds of
 * milliseconds of audio ahead of the sink: latency nobody declared. Wrap each function with
 * `asStream(fn, { highWaterMark: 1 })` instead (or give chain() explicit highWaterMarks) and measure.
 * This recipe runs the same two user stages both ways into the local loopback and checks the budget.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import chain from 'stream-chain';
import asStream from 'stream-chain/asStream.js';
import { dispose } from '@livekit/rtc-node';
import { rechunk, createLoopback, createFrame, silentFrame } from 'livekit-audio-pipeline';

const RATE = 48000;
// What may sit between the meter and the native queue, declared stage by stage (20 ms source frames):
// meter's output (1 frame) + gain's input and output (2) + rechunk (< 1 input frame + one 10 ms frame)
// + the sink (one 10 ms frame waiting, one in captureFrame) = 20 + 40 + 30 + 20 = 110 ms.
const BUDGET_MS = 110;

/** User stage 1: −6 dB gain. */
const gain = (frame) => {
  const out = new Int16Array(frame.data.length);
  for (let i = 0; i < out.length; i++) out[i] = frame.data[i] >> 1;
  return createFrame(out, frame.sampleRate, frame.channels);
};
/** User stage 2: count frames (a stand-in for a meter or a VAD). */
let metered = 0;
const meter = (frame) => {
  metered++;
  return frame;
};

/** 1 s of 20 ms frames, produced as fast as they are pulled. */
function source() {
  return Readable.from(
    (function* () {
      for (let i = 0; i < 50; i++) {
        const f = silentFrame(RATE, 1, 960);
        f.data.fill(1000 + i);
        yield f;
      }
    })(),
    { objectMode: true, highWaterMark: 1 },
  );
}

async function run(label, stages) {
  metered = 0;
  const loop = createLoopback({ sampleRate: RATE, channels: 1, queueSizeMs: 50 });
  const chunker = rechunk();
  let maxAheadMs = 0;
  const probe = setInterval(() => {
    const capturedMs = loop.sink.stats.msCaptured;
    const aheadMs = metered * 20 - capturedMs; // produced by the user stages, not yet in the native queue
    maxAheadMs = Math.max(maxAheadMs, aheadMs);
  }, 5);
  await pipeline(source(), ...stages, chunker, loop.sink);
  clearInterval(probe);
  await loop.close();
  console.log(`${label}: up to ${maxAheadMs.toFixed(0)} ms held ahead of the native queue`);
  return maxAheadMs;
}

// stream-chain's defaults: each internal stream buffers up to 16 frames
const loose = await run('chain([meter, gain]) with default highWaterMarks', [chain([meter, gain])]);
// the same functions, each an explicit one-frame stage
const tight = await run('asStream(fn, { highWaterMark: 1 }) per stage', [
  asStream(meter, { highWaterMark: 1, objectMode: true }),
  asStream(gain, { highWaterMark: 1, objectMode: true }),
]);
await dispose();

if (tight > BUDGET_MS) throw new Error(`explicit stages held ${tight} ms, over the ${BUDGET_MS} ms budget`);
if (loose <= tight) throw new Error('expected stream-chain defaults to hold more than explicit one-frame stages');
console.log(
  `ok: explicit stages stay within the ${BUDGET_MS} ms budget (defaults held ${(loose / tight).toFixed(1)}× more)`,
);
