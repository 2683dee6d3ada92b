/**
 * The gateway in real time, on the loopback default (no LiveKit server): a Twilio-format client streams a 1 kHz
 * µ-law tone and a raw-PCM client a 700 Hz s16le 16 kHz tone, both paced at 20 ms per message for 2.5 s, while
 * other clients break the rules (and are refused) on the same server. What each connection published comes back
 * through rtc-node's loopback into DIR/<connection-id>.wav; its level, frequency and length are checked.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { dispose } from '@livekit/rtc-node';
import { createGateway } from '../../gateway/server.js';
import type { ConnectionRecord } from '../../gateway/connection.js';
import { int16ToMulaw } from '../../lib/formats.js';
import { levelDb, toneLevelDb } from '../helpers/signals.js';

const SECRET = 'realtime-secret';
const SECONDS = 2.5;
const MESSAGES = (SECONDS * 1000) / 20;

const dir = mkdtempSync(join(tmpdir(), 'gateway-rt-'));
const records: ConnectionRecord[] = [];
const gw = createGateway({ port: 0, host: '127.0.0.1', secret: SECRET, outDir: dir, log: (r) => records.push(r) });
t.teardown(async () => {
  await gw.close();
  await dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A sine of `amp` × full scale at `hz`, `n` samples from sample index `at` (phase-continuous across calls). */
function sine(rate: number, hz: number, amp: number, at: number, n: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * 32767 * Math.sin((2 * Math.PI * hz * (at + i)) / rate));
  return out;
}

/** Call `send(i)` for i = 0..count-1 every `periodMs` on absolute deadlines (no drift). */
async function paced(count: number, periodMs: number, send: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    send(i);
    const wait = t0 + (i + 1) * periodMs - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
}

async function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const status = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  });
  const port = status === 101 ? (ws as unknown as { _socket: net.Socket })._socket.localPort : undefined;
  return { ws, closed, status, remote: `127.0.0.1:${port}` };
}

async function recordOf(remote: string): Promise<ConnectionRecord> {
  for (;;) {
    const r = records.find((x) => x.remote === remote);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** The samples of a 16-bit mono WAV written by WavFileSink (data after the 44-byte header). */
function readWav(path: string): { rate: number; samples: Int16Array } {
  const buf = readFileSync(path);
  t.equal(buf.toString('latin1', 0, 4), 'RIFF');
  t.equal(buf.toString('latin1', 36, 40), 'data');
  const data = buf.subarray(44, 44 + buf.readUInt32LE(40));
  return {
    rate: buf.readUInt32LE(24),
    samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)),
  };
}

/** Frequency from the interpolated positive-going zero crossings of `x` (NaN with fewer than two). */
function frequency(x: Int16Array, rate: number): number {
  let first = NaN;
  let last = NaN;
  let crossings = 0;
  for (let i = 1; i < x.length; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if (a < 0 && b >= 0) {
      const at = i - 1 + -a / (b - a);
      if (crossings === 0) first = at;
      last = at;
      crossings++;
    }
  }
  return ((crossings - 1) * rate) / (last - first);
}

/** Checks the recording of one stream: level and frequency in 100 ms windows of its middle, length. */
function checkRecording(
  t: Test,
  rec: ConnectionRecord,
  hz: number,
  otherHz: number,
  expectedDb: number,
  trackRate: number,
) {
  const { rate, samples } = readWav(join(dir, `${rec.id}.wav`));
  t.equal(rate, trackRate, `published at ${trackRate} Hz`);
  const ms = (samples.length / rate) * 1000;
  // the recording holds the jitter buffer's prebuffer silence, the audio, and a few frames of the loopback tail
  t.ok(
    ms >= SECONDS * 1000 - 100 && ms <= SECONDS * 1000 + 600,
    `recorded ${ms.toFixed(0)} ms for ${SECONDS * 1000} ms sent`,
  );
  // the tone, in the middle (away from the fade-in and the end). The jitter buffer's varispeed may shift it by up
  // to its ±1 % correction while it trims the start-up depth, and its time-stretch cuts break phase coherence, so
  // the level is the RMS level (frequency-independent) per 100 ms window, not one long Goertzel.
  const mid = samples.subarray(Math.round(0.5 * rate), Math.round((SECONDS - 0.3) * rate));
  t.ok(toneLevelDb(mid, rate, otherHz) < -50, `no trace of the other stream at ${otherHz} Hz`);
  const win = rate / 10;
  const levels: number[] = [];
  const freqs: number[] = [];
  for (let at = 0; at + win <= mid.length; at += win) {
    levels.push(levelDb(mid.subarray(at, at + win)));
    freqs.push(frequency(mid.subarray(at, at + win), rate));
  }
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
  const f = median(freqs);
  t.ok(Math.abs(f - hz) <= 0.015 * hz, `median frequency ${f.toFixed(1)} Hz (${hz} sent)`);
  t.ok(
    Math.abs(median(levels) - expectedDb) < 0.5,
    `median level ${median(levels).toFixed(2)} dB (${expectedDb.toFixed(2)} sent)`,
  );
  // a concealment shows as a dip; a loaded machine may cause one or two
  const steady = levels.filter((l) => Math.abs(l - expectedDb) < 1).length;
  t.ok(steady >= 0.8 * levels.length, `${steady}/${levels.length} windows of 100 ms at the tone's level`);
  t.comment(
    `${rec.protocol}: jitter target ${rec.jitter?.targetDelayMs} ms, estimate ${rec.jitter?.jitterMs} ms, ` +
      `concealed ${rec.jitter?.concealedSamples}, removed ${rec.jitter?.samplesRemoved}, inserted ${rec.jitter?.samplesInserted}`,
  );
}

t.test('two realtime streams arrive intact while bad clients are refused', async (t) => {
  const addr = await gw.listen();
  const url = `ws://127.0.0.1:${addr.port}`;

  // A: Twilio Media Streams, secret in the start message's custom parameters (what Twilio can send)
  const a = await open(`${url}/twilio`);
  t.equal(a.status, 101);
  const sid = 'MZ0123456789abcdef0123456789abcdef';
  a.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  a.ws.send(
    JSON.stringify({
      event: 'start',
      sequenceNumber: '1',
      streamSid: sid,
      start: {
        streamSid: sid,
        callSid: 'CA1',
        tracks: ['inbound'],
        customParameters: { secret: SECRET },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    }),
  );
  const sendA = paced(MESSAGES, 20, (i) => {
    const payload = Buffer.from(int16ToMulaw(sine(8000, 1000, 0.5, i * 160, 160))).toString('base64');
    a.ws.send(
      JSON.stringify({
        event: 'media',
        sequenceNumber: String(i + 2),
        streamSid: sid,
        media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload },
      }),
    );
  });

  // B: raw PCM s16le 16 kHz, secret as a bearer token
  const b = await open(`${url}/pcm?rate=16000&channels=1&encoding=s16le`, { authorization: `Bearer ${SECRET}` });
  t.equal(b.status, 101);
  const sendB = paced(MESSAGES, 20, (i) => {
    const s = sine(16000, 700, 0.25, i * 320, 320);
    b.ws.send(Buffer.from(s.buffer));
  });

  // C: raw PCM at 22050 Hz, which has no whole 10 ms frame: its jitter buffer runs after the resampler
  const c = await open(`${url}/pcm?rate=22050&channels=1&encoding=s16le`, { authorization: `Bearer ${SECRET}` });
  t.equal(c.status, 101);
  const sendC = paced(MESSAGES, 20, (i) => {
    const s = sine(22050, 400, 0.25, i * 441, 441);
    c.ws.send(Buffer.from(s.buffer));
  });

  // meanwhile, clients that break the rules
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await open(`${url}/pcm?rate=16000`)).status, 401, 'no secret: refused at the upgrade');
  t.equal((await open(`${url}/pcm?rate=16000&secret=wrong-secret`)).status, 401, 'wrong secret');
  const bad: [string, (ws: WebSocket) => void, number][] = [
    ['malformed JSON', (ws) => ws.send('{"event": "media", '), 1007],
    ['binary on a Twilio stream', (ws) => ws.send(Buffer.alloc(160)), 1003],
    ['media before start', (ws) => ws.send(JSON.stringify({ event: 'media', media: { payload: 'AAAA' } })), 1008],
    ['over max-message-bytes', (ws) => ws.send('x'.repeat(70_000)), 1009],
  ];
  for (const [name, send, code] of bad) {
    const c = await open(`${url}/twilio`, { 'x-gateway-secret': SECRET });
    send(c.ws);
    t.equal((await c.closed).code, code, `${name} → ${code}`);
  }
  t.equal(gw.connections.size, 3, 'the three streams are still there');

  await Promise.all([sendA, sendB, sendC]);
  a.ws.send(JSON.stringify({ event: 'stop', sequenceNumber: String(MESSAGES + 2), streamSid: sid, stop: {} }));
  b.ws.close(1000, 'done');
  c.ws.close(1000, 'done');
  t.same(await a.closed, { code: 1000, reason: 'stream stopped' });

  const ra = await recordOf(a.remote);
  const rb = await recordOf(b.remote);
  const rc = await recordOf(c.remote);
  for (const [r, protocol] of [
    [ra, 'twilio'],
    [rb, 'pcm'],
    [rc, 'pcm'],
  ] as const) {
    t.equal(r.protocol, protocol);
    t.equal(r.error, null, `${protocol}: no error`);
    t.equal(r.audioMs, SECONDS * 1000, `${protocol}: all audio received`);
    // at 22050 Hz the jitter buffer takes the resampler's output, less its last few ms of lookahead until the end
    t.ok(
      Math.abs(r.frames - (SECONDS * 1000) / 10) <= 1,
      `${protocol}: ${r.frames} frames of 10 ms into the jitter buffer`,
    );
    const sink = r.sink as { msCaptured: number; underruns: number };
    t.ok(
      sink.msCaptured >= SECONDS * 1000 - 150 && sink.msCaptured <= SECONDS * 1000 + 400,
      `${protocol}: ${sink.msCaptured} ms published`,
    );
    t.ok(r.durationMs >= SECONDS * 1000, `${protocol}: connection lasted ${r.durationMs} ms`);
  }
  t.equal(ra.twilio?.media, MESSAGES);
  t.equal(ra.twilio?.missingChunks, 0);
  t.equal(rb.bytes, MESSAGES * 640);
  // published at the caller's rate (8 and 16 kHz), and at 48 kHz for 22050 Hz (no whole 10 ms frame)
  checkRecording(t, ra, 1000, 700, 20 * Math.log10(0.5), 8000);
  checkRecording(t, rb, 700, 1000, 20 * Math.log10(0.25), 16000);
  checkRecording(t, rc, 400, 1000, 20 * Math.log10(0.25), 48000);
  const cIn = rc.jitter?.samplesIn ?? 0;
  t.ok(Math.abs(cIn - SECONDS * 48000) <= 480, `22050 Hz: the jitter buffer ran at the track rate (${cIn} samples in)`);
  t.equal(ra.jitter?.samplesIn, SECONDS * 8000, 'Twilio: the jitter buffer ran at the caller rate, 8 kHz');
  t.equal(records.filter((r) => r.error !== null).length, bad.length, 'one error record per refused stream');
});
