// @ts-check
/**
 * Recipe: TTS chunks → room, with interruption (barge-in).
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node
 *   node docs/recipes/tts-interrupt.mjs
 *
 * A TTS engine hands out raw 24 kHz s16le PCM in chunks of any size, much faster than real time. The pipeline
 * decodes, resamples to 48 kHz and rechunks into 10 ms frames; the LiveKitSink paces playback. When the user
 * starts talking, one `abort()` stops everything: the sink clears the native queue at once, so the agent
 * goes quiet within a frame instead of finishing the queued sentence.
 * Plays into the local loopback (no server) and checks how quickly the audio stopped.
 */
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { decodePcm, resample, rechunk, createLoopback } from 'livekit-audio-pipeline';

const TTS_RATE = 24000;

/** A stand-in TTS: 5 s of a gliding tone as s16le bytes, in ragged chunks (odd sizes included), all at once. */
async function* fakeTts() {
  const total = TTS_RATE * 5;
  let phase = 0;
  for (let i = 0; i < total;) {
    const n = Math.min(total - i, 100 + Math.floor(Math.random() * 2000));
    const buf = Buffer.alloc(n * 2);
    for (let k = 0; k < n; k++, i++) {
      phase += (2 * Math.PI * (300 + (200 * i) / total)) / TTS_RATE;
      buf.writeInt16LE(Math.round(9000 * Math.sin(phase)), k * 2);
    }
    // split one sample across two chunks now and then, as network and TTS APIs do
    const cut = n % 2 ? 2 * n - 1 : 2 * n;
    yield buf.subarray(0, cut);
    if (cut < buf.length) yield buf.subarray(cut);
  }
}

const loopback = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: 100 });
const { sink, recorder, source } = loopback;
const barge = new AbortController();

// the "user starts talking" 800 ms after the agent's voice is first heard
recorder.waitFor((r) => r.firstSoundAt !== null, 5000).then(() => setTimeout(() => barge.abort(), 800));

let abortedAt = 0;
barge.signal.addEventListener('abort', () => (abortedAt = performance.now()));
const playing = pipeline(
  fakeTts(),
  decodePcm({ sampleRate: TTS_RATE, channels: 1, encoding: 's16le' }),
  resample({ sampleRate: 48000, channels: 1 }),
  rechunk(),
  sink,
  { signal: barge.signal },
);
const outcome = await playing.then(
  () => 'finished',
  (err) => err.name,
);

await new Promise((r) => setTimeout(r, 150)); // let anything still in flight arrive
const stats = sink.stats;
const lastCaptureAfterAbort = (stats.lastCaptureAt ?? 0) - abortedAt;
const soundAfterAbort = (recorder.lastSoundAt ?? 0) - abortedAt;
console.log(
  `pipeline: ${outcome}; captured ${stats.msCaptured} ms before the barge-in; discarded ${stats.discardedMs.toFixed(0)} ms; ` +
    `last capture ${lastCaptureAfterAbort.toFixed(1)} ms after abort; sound heard until ${soundAfterAbort.toFixed(1)} ms after abort; ` +
    `native queue now ${source.queuedDuration} ms`,
);
await loopback.close();
await dispose();

if (outcome !== 'AbortError') throw new Error(`expected the pipeline to be aborted, got ${outcome}`);
if (lastCaptureAfterAbort > 20) throw new Error('a frame was captured more than 20 ms after the abort');
// what was already inside the native pipeline (one or two 10 ms frames) may still be heard, not the queue
if (soundAfterAbort > 40) throw new Error(`audio kept playing ${soundAfterAbort.toFixed(0)} ms after the abort`);
console.log('ok: interrupted');
