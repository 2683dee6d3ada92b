// @ts-check
/**
 * Recipe: publish a WAV file into a LiveKit room — file → decodeWav → resample → rechunk → LiveKitSink.
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node
 *   node docs/recipes/file-to-room.mjs [file.wav]
 *
 * With LIVEKIT_URL + LIVEKIT_API_KEY + LIVEKIT_API_SECRET set it joins room "recipes" and publishes there;
 * otherwise it plays into the embedded default, the local loopback (no server), and checks what came back.
 * The file is read as fast as the disk allows; the sink's backpressure (captureFrame) paces everything.
 */
import { createReadStream, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { decodeWav, resample, rechunk, createLoopback, connect, publish } from 'livekit-audio-pipeline';

const file = process.argv[2] ?? makeSampleWav();
const target = { sampleRate: 48000, channels: 1 };

let sink, loopback, room;
if (process.env.LIVEKIT_URL) {
  room = await connect({
    url: process.env.LIVEKIT_URL,
    apiKey: process.env.LIVEKIT_API_KEY ?? '',
    apiSecret: process.env.LIVEKIT_API_SECRET ?? '',
    roomName: 'recipes',
    identity: 'file-to-room',
  });
  sink = await publish(room, { ...target, queueSizeMs: 100, name: 'file' });
} else {
  loopback = createLoopback({ ...target, queueSizeMs: 100 });
  sink = loopback.sink;
}

const t0 = performance.now();
await pipeline(createReadStream(file), decodeWav(), resample(target), rechunk(), sink);
const wallMs = performance.now() - t0;
const { msCaptured, underruns } = sink.stats;
console.log(
  `played ${msCaptured} ms of audio in ${wallMs.toFixed(0)} ms of wall time (ratio ${(wallMs / msCaptured).toFixed(3)}), underruns ${underruns}`,
);

if (loopback) {
  const received = loopback.recorder;
  await received.waitFor((r) => (r.samplesReceived * 1000) / target.sampleRate >= msCaptured, 2000).catch(() => {});
  const heard = (received.samplesReceived * 1000) / target.sampleRate;
  await loopback.close();
  if (heard < msCaptured) throw new Error(`received only ${heard} ms of ${msCaptured} ms`);
  if (wallMs < msCaptured * 0.9) throw new Error('the file was not paced to real time');
  console.log(`ok: loopback received ${heard} ms`);
} else {
  await room?.disconnect();
  console.log('ok: published');
}
await dispose(); // rtc-node keeps the process alive until disposed

/** 1.5 s of a 440 Hz tone, 44.1 kHz stereo, so the recipe runs with no arguments. */
function makeSampleWav() {
  const rate = 44100,
    ch = 2,
    n = Math.round(rate * 1.5);
  const b = Buffer.alloc(44 + n * ch * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * ch * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(ch, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * ch * 2, 28);
  b.writeUInt16LE(ch * 2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * ch * 2, 40);
  for (let i = 0; i < n; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    for (let c = 0; c < ch; c++) b.writeInt16LE(v, 44 + (i * ch + c) * 2);
  }
  const path = join(mkdtempSync(join(tmpdir(), 'recipe-')), 'tone.wav');
  writeFileSync(path, b);
  return path;
}
