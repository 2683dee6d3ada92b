// @ts-check
/**
 * Recipe: a Twilio Media Stream into LiveKit through the WebSocket gateway.
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node ws
 *   node docs/recipes/websocket-twilio.mjs
 *
 * Starts the gateway on 127.0.0.1 (a free port), then plays Twilio's part with a `ws` client: `connected`,
 * `start` (audio/x-mulaw, 8000 Hz, mono), 1.5 s of a 440 Hz tone as 20 ms `media` messages (160 µ-law bytes,
 * base64) paced in real time, a `mark`, and `stop`. It prints the connection's stats line and what arrived.
 *
 * With LIVEKIT_URL + LIVEKIT_API_KEY + LIVEKIT_API_SECRET set, the stream is published in room "recipes".
 * Otherwise the gateway uses its embedded default — the local loopback, no server — and records what came back
 * to <tmp>/<connection-id>.wav, which this recipe measures. It exits by itself (non-zero if nothing arrived).
 *
 * In production Twilio is the client: `<Connect><Stream url="wss://your-host/twilio">` with
 * `<Parameter name="secret" value="…"/>` when the gateway runs with a secret.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { dispose } from '@livekit/rtc-node';
import { createGateway, int16ToMulaw } from 'livekit-audio-pipeline';

const SECRET = 'recipe-secret-123';
const outDir = mkdtempSync(join(tmpdir(), 'websocket-twilio-'));
/** @type {import('livekit-audio-pipeline').ConnectionRecord[]} */
const records = [];

const room = process.env.LIVEKIT_URL
  ? {
      url: process.env.LIVEKIT_URL,
      apiKey: process.env.LIVEKIT_API_KEY ?? '',
      apiSecret: process.env.LIVEKIT_API_SECRET ?? '',
      roomName: 'recipes',
      identity: 'websocket-twilio',
    }
  : undefined;
const gateway = createGateway({
  port: 0,
  host: '127.0.0.1',
  secret: SECRET,
  room,
  outDir,
  log: (r) => records.push(r),
});
const { port } = await gateway.listen();
console.log(
  `gateway on ws://127.0.0.1:${port} — ${room ? 'publishing to room "recipes"' : `loopback, recording to ${outDir}`}`,
);

// ---- the Twilio side ----
const ws = new WebSocket(`ws://127.0.0.1:${port}/twilio`);
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve(`${code} ${reason}`)));
const streamSid = 'MZ' + '0'.repeat(32);
let seq = 0;
const send = (/** @type {object} */ msg) =>
  ws.send(JSON.stringify({ sequenceNumber: String(++seq), streamSid, ...msg }));

ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
send({
  event: 'start',
  start: {
    streamSid,
    accountSid: 'AC' + '0'.repeat(32),
    callSid: 'CA' + '0'.repeat(32),
    tracks: ['inbound'],
    customParameters: { secret: SECRET },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
});
const MESSAGES = 75; // 1.5 s
const t0 = performance.now();
for (let chunk = 1; chunk <= MESSAGES; chunk++) {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++)
    pcm[i] = Math.round(16384 * Math.sin((2 * Math.PI * 440 * ((chunk - 1) * 160 + i)) / 8000));
  const payload = Buffer.from(int16ToMulaw(pcm)).toString('base64'); // G.711, as Twilio encodes;
  send({
    event: 'media',
    media: { track: 'inbound', chunk: String(chunk), timestamp: String((chunk - 1) * 20), payload },
  });
  // pace on absolute deadlines, as a real call arrives
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + chunk * 20 - performance.now())));
}
send({ event: 'mark', mark: { name: 'greeting-done' } });
send({ event: 'stop', stop: { accountSid: 'AC' + '0'.repeat(32), callSid: 'CA' + '0'.repeat(32) } });
console.log('gateway closed the stream:', await closed);

// ---- what arrived ----
while (records.length === 0) await new Promise((r) => setTimeout(r, 20));
const record = records[0];
console.log('stats line:', JSON.stringify(record));
let ok = record.error === null && record.audioMs === MESSAGES * 20;
if (!room) {
  const wav = readFileSync(join(outDir, `${record.id}.wav`));
  const samples = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
  const seconds = samples.length / wav.readUInt32LE(24);
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const peakDb = 20 * Math.log10(peak / 32767);
  console.log(
    `recorded ${seconds.toFixed(2)} s at ${wav.readUInt32LE(24)} Hz, peak ${peakDb.toFixed(1)} dBFS (sent −6.0)`,
  );
  ok &&= seconds > 1.4 && Math.abs(peakDb + 6) < 1;
}
await gateway.close();
await dispose();
rmSync(outDir, { recursive: true, force: true });
console.log(ok ? 'OK' : 'FAILED');
process.exitCode = ok ? 0 : 1;
