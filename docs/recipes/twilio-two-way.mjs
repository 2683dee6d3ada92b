// @ts-check
/**
 * Recipe: a two-way Twilio call — the caller's audio into LiveKit, the room's audio back to the caller.
 *
 *   npm install livekit-audio-pipeline @livekit/rtc-node ws
 *   node docs/recipes/twilio-two-way.mjs
 *
 * Without a server it runs the gateway's echo test (`echo: true`, the same as `livekit-audio gateway --echo`): each
 * call hears its own audio back through the whole path — jitter buffer → LiveKitSink → local track → LiveKitSource
 * → µ-law encoder → Twilio `media` messages. With LIVEKIT_URL + LIVEKIT_API_KEY + LIVEKIT_API_SECRET set, the call
 * joins a room of its own (`roomPerCall`) and hears every other participant there (an agent dispatched to it).
 *
 * This program plays Twilio's part: it streams 3 s of µ-law (a 20 ms tone burst every half second, silence
 * between), plays what comes back as Twilio does (in real time; `mark`s echoed once played; `clear` drops what is
 * unplayed), and measures the round trip of each burst. Halfway through, the server side interrupts the call
 * (`connection.clear()`: barge-in) and the caller receives Twilio's `clear`. It exits by itself, non-zero if the
 * audio did not come back.
 *
 * In production Twilio is the caller: `<Connect><Stream url="wss://your-host/twilio"/></Connect>` (a bidirectional
 * stream), and `livekit-audio gateway --room-per-call` with your LiveKit credentials.
 */
import { WebSocket } from 'ws';
import { dispose } from '@livekit/rtc-node';
import { createGateway, int16ToMulaw, mulawToInt16 } from 'livekit-audio-pipeline';

const room = process.env.LIVEKIT_URL
  ? {
      url: process.env.LIVEKIT_URL,
      apiKey: process.env.LIVEKIT_API_KEY ?? '',
      apiSecret: process.env.LIVEKIT_API_SECRET ?? '',
      roomName: 'recipes',
      identity: 'twilio-two-way',
    }
  : undefined;
/** @type {import('livekit-audio-pipeline').ConnectionRecord[]} */
const records = [];
const gateway = createGateway({
  port: 0,
  ...(room ? { room, roomPerCall: true } : { echo: true }),
  log: (r) => records.push(r),
});
const { port } = await gateway.listen();
console.log(`gateway on ws://127.0.0.1:${port} — ${room ? 'a room per call' : 'loopback echo'}`);

// ---- the Twilio side ----
const streamSid = 'MZ' + '0'.repeat(32);
const ws = new WebSocket(`ws://127.0.0.1:${port}/twilio`);
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
const closed = new Promise((resolve) => ws.once('close', resolve));

/** What the caller has received and not yet played: 20 ms messages (loud or not) and marks between them. */
/** @type {({ loud: boolean, at: number } | { mark: string })[]} */
const playout = [];
let clears = 0;
let mediaBack = 0;
const echoMark = (/** @type {string} */ name) => ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name } }));
ws.on('message', (data) => {
  const msg = JSON.parse(data.toString());
  if (msg.event === 'media') {
    mediaBack++;
    const pcm = mulawToInt16(Buffer.from(msg.media.payload, 'base64'));
    playout.push({ loud: pcm.some((v) => Math.abs(v) > 8000), at: performance.now() });
  } else if (msg.event === 'mark') playout.push({ mark: msg.mark.name });
  else if (msg.event === 'clear') {
    clears++;
    for (const item of playout.splice(0)) if ('mark' in item) echoMark(item.mark); // as Twilio does
  }
});

let seq = 0;
const send = (/** @type {object} */ msg) =>
  ws.send(JSON.stringify({ sequenceNumber: String(++seq), streamSid, ...msg }));
ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
send({
  event: 'start',
  start: {
    streamSid,
    callSid: 'CA' + '0'.repeat(32),
    tracks: ['inbound'],
    customParameters: {},
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
});

const tone = int16ToMulaw(Int16Array.from({ length: 160 }, (_, i) => 16000 * Math.sin((2 * Math.PI * i) / 8)));
const quiet = Buffer.alloc(160, 0xff);
/** @type {number[]} */
const sentAt = [];
/** @type {number[]} */
const roundTrips = [];
let wasLoud = false;
const t0 = performance.now();
for (let i = 0; i < 150; i++) {
  const wait = t0 + i * 20 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const burst = i % 25 === 0;
  if (burst) sentAt.push(performance.now());
  const payload = Buffer.from(burst ? tone : quiet).toString('base64');
  send({ event: 'media', media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload } });
  if (i === 75) for (const call of gateway.connections.values()) call.clear(); // barge-in from the server side
  // the caller plays one 20 ms message per slot; a burst's onset is one round trip
  while (playout[0] && 'mark' in playout[0]) echoMark(/** @type {{ mark: string }} */ (playout.shift()).mark);
  const played = /** @type {{ loud: boolean, at: number } | undefined} */ (playout.shift());
  if (played?.loud && !wasLoud) {
    const sent = sentAt.findLast((s) => s <= played.at);
    if (sent !== undefined) roundTrips.push(performance.now() - sent);
  }
  wasLoud = played?.loud ?? false;
}
send({ event: 'stop', stop: {} });
await closed;
await gateway.close();
await dispose();

const record = records[0];
const sorted = [...roundTrips].sort((a, b) => a - b);
const p50 = sorted[Math.floor(sorted.length / 2)] ?? NaN;
console.log(`media messages back: ${mediaBack}, clear received: ${clears}`);
console.log(`round trip (sent → played at the caller), p50: ${p50.toFixed(0)} ms over ${roundTrips.length} bursts`);
console.log('the way back, from the call record:', JSON.stringify(record?.playback));
if (!room && (mediaBack < 100 || roundTrips.length < 3 || clears !== 1)) {
  console.error('the audio did not come back as expected');
  process.exit(1);
}
console.log('ok: the call went both ways');
