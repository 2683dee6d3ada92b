// @ts-check
/**
 * Recipe: a TTS service streams MP3 over HTTP → decodeStream → resample → rechunk → LiveKitSink.
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node mpg123-decoder
 *   node docs/recipes/tts-http-stream.mjs [speech.mp3]
 *
 * A stand-in TTS server on 127.0.0.1 sends an MP3 in 20 ms pieces at real time, as streaming TTS APIs do. The
 * client decodes while the response is still arriving, so the first audio reaches the room ~100 ms after the
 * first byte instead of after the whole file. Plays into the local loopback (no server) and prints the
 * measured first-audio delay; exits non-zero if it is over 400 ms or audio is missing.
 */
import { createServer, get } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { decodeStream, resample, rechunk, createLoopback } from 'livekit-audio-pipeline';

const file = process.argv[2] ?? fileURLToPath(new URL('../../test/fixtures/compressed/stream.mp3', import.meta.url));
const mp3 = readFileSync(file);
const KBPS = Number(process.env.KBPS ?? 64); // the bitrate the server paces at (the default file is 64 kbit/s)

// --- the stand-in TTS server: 20 ms of audio every 20 ms
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'audio/mpeg' });
  const step = Math.round((KBPS * 1000) / 8 / 50);
  let at = 0;
  const timer = setInterval(() => {
    res.write(mp3.subarray(at, (at += step)));
    if (at >= mp3.length) {
      clearInterval(timer);
      res.end();
    }
  }, 20);
  res.on('close', () => clearInterval(timer));
});
await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;

// --- the client: the response body is a Readable of MP3 bytes
const target = { sampleRate: 48000, channels: 1 };
const loopback = createLoopback({ ...target, queueSizeMs: 100 });
const { sink, recorder } = loopback;
const t0 = performance.now();
/** @type {import('node:http').IncomingMessage} */
const response = await new Promise((resolve, reject) =>
  get(`http://127.0.0.1:${port}/tts`, resolve).on('error', reject),
);
let firstByteAt = 0;
response.once('data', () => (firstByteAt = performance.now()));
const decoder = decodeStream({ format: 'mp3' });
let firstFrameAt = 0;
decoder.once('data', () => (firstFrameAt = performance.now()));

await pipeline(response, decoder, resample(target), rechunk(), sink);
const wallMs = performance.now() - t0;
await recorder
  .waitFor((r) => r.samplesReceived >= (sink.stats.msCaptured * target.sampleRate) / 1000, 2000)
  .catch(() => {});
const heardMs = (recorder.samplesReceived * 1000) / target.sampleRate;
const firstSoundAt = recorder.firstSoundAt ?? NaN;
await loopback.close();
server.close();
await dispose();

const { firstFrameAfterBytes } = decoder.stats;
console.log(
  `first byte → first decoded frame ${(firstFrameAt - firstByteAt).toFixed(0)} ms (after ${firstFrameAfterBytes} bytes); ` +
    `first byte → first sound in the room ${(firstSoundAt - firstByteAt).toFixed(0)} ms; ` +
    `played ${sink.stats.msCaptured} ms, heard ${heardMs} ms, in ${wallMs.toFixed(0)} ms of wall time`,
);
if (!(firstSoundAt - firstByteAt <= 400)) throw new Error('first audio took more than 400 ms after the first byte');
if (heardMs < decoder.stats.msOut * 0.95) throw new Error(`heard only ${heardMs} of ${decoder.stats.msOut} ms`);
console.log('ok: streamed');
