/**
 * Two-way calls in real time through the loopback echo (no LiveKit server): caller → jitter buffer → LiveKitSink →
 * local track → LiveKitSource → encoder → caller. A simulated Twilio caller (bench/lib/twilioCaller.ts) measures the
 * round trip from tone bursts and plays the way back as Twilio does (marks echoed once played); a raw-PCM caller
 * checks that what comes back is its own audio; barge-in through connection.clear(); one-way without echo; the CLI.
 */
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { dispose } from '@livekit/rtc-node';
import { createGateway } from '../../gateway/server.js';
import type { ConnectionRecord } from '../../gateway/connection.js';
import { runGateway } from '../../bin/commands/gateway.js';
import { twilioCall } from '../../bench/lib/twilioCaller.js';
import { quantile } from '../../lib/stats.js';
import { quietLogger } from '../helpers/gatewayClient.js';

t.teardown(() => dispose());

async function echoGateway(t: Test, echo = true) {
  const records: ConnectionRecord[] = [];
  const gw = createGateway({ port: 0, echo, logger: quietLogger, log: (r) => records.push(r) });
  const { port } = await gw.listen();
  t.teardown(() => gw.close());
  /** The first call's record (logged once its audio has drained, shortly after the caller hangs up). */
  const record = async () => {
    for (let i = 0; i < 100 && records.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    return records[0]!;
  };
  return { gw, record, url: `ws://127.0.0.1:${port}` };
}

/**
 * Where 100 ms of `sent` from `at` best matches `received` and how well: the normalized correlation (1 = the same
 * waveform). The jitter buffer may stretch time by a few samples, so each segment is aligned on its own.
 */
function bestMatch(sent: Int16Array, at: number, received: Int16Array): number {
  const seg = sent.subarray(at, at + 1600);
  let best = 0;
  let segEnergy = 0;
  for (const v of seg) segEnergy += v * v;
  for (let o = 0; o + seg.length <= received.length; o++) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < seg.length; i++) {
      dot += seg[i]! * received[o + i]!;
      energy += received[o + i]! * received[o + i]!;
    }
    if (energy > 0) best = Math.max(best, dot / Math.sqrt(segEnergy * energy));
  }
  return best;
}

/** A 16 kHz s16le sweep (300 → 3000 Hz), `n` samples: never periodic, so it aligns at one offset only. */
function sweep(n: number): Int16Array {
  const out = new Int16Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (300 + (2700 * i) / n)) / 16000;
    out[i] = Math.round(12000 * Math.sin(phase));
  }
  return out;
}

/** A raw-PCM 16 kHz caller: streams `audio` at real time (20 ms messages), collects what comes back. */
async function pcmCaller(url: string, audio: Int16Array, onSent?: (i: number, ws: WebSocket) => void) {
  const ws = new WebSocket(`${url}/pcm?rate=16000&encoding=s16le`);
  const binary: Buffer[] = [];
  const text: string[] = [];
  ws.on('message', (data, isBinary) => (isBinary ? binary.push(data as Buffer) : text.push(data.toString())));
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise((r) => ws.once('close', r));
  const t0 = performance.now();
  const per = 320;
  for (let i = 0; i * per < audio.length; i++) {
    const wait = t0 + i * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const chunk = audio.subarray(i * per, (i + 1) * per);
    ws.send(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    onSent?.(i, ws);
  }
  // 300 ms more of listening for the tail, then hang up
  await new Promise((r) => setTimeout(r, 300));
  ws.close();
  await closed;
  return { binary, text };
}

t.test('Twilio echo call: µ-law 20 ms messages back, round trip p50 ≤ 200 ms, marks measure the playout', async (t) => {
  const { url, record } = await echoGateway(t);
  const r = await twilioCall({ url: `${url}/twilio`, seconds: 4 });
  t.equal(r.badMessages, 0, 'every message back is 160 bytes of base64 µ-law in JSON text');
  t.ok(r.mediaReceived >= 180, `${r.mediaReceived} media messages back for 200 sent`);
  t.ok(r.roundTripMs.length >= r.bursts - 1, `${r.roundTripMs.length} of ${r.bursts} bursts heard back`);
  const p50 = quantile(r.roundTripMs, 0.5);
  t.ok(p50 <= 200, `round trip p50 ${p50.toFixed(0)} ms (caller sends → caller plays)`);
  t.ok(r.maxHeldMs <= 60, `the caller never held more than ${r.maxHeldMs} ms unplayed (≤ 2 messages + 1)`);
  t.ok(r.marksEchoed >= 2, `${r.marksEchoed} marks echoed`);
  const rec = await record();
  t.equal(rec.protocol, 'twilio');
  t.ok(rec.playback, 'the record has the way-back stats');
  t.ok(rec.playback!.marksPlayed >= 2, `${rec.playback!.marksPlayed} marks played`);
  t.ok(
    rec.playback!.playoutDelayMs !== null && rec.playback!.playoutDelayMs.max <= 80,
    `caller-side playout delay ${JSON.stringify(rec.playback!.playoutDelayMs)} ms`,
  );
});

t.test('raw PCM echo: binary 20 ms messages in the caller format carry its own audio back', async (t) => {
  const { url, record } = await echoGateway(t);
  const sent = sweep(16000 * 2);
  const { binary } = await pcmCaller(url, sent);
  t.ok(binary.length >= 90, `${binary.length} binary messages back`);
  t.ok(
    binary.every((b) => b.length === 640),
    'each 20 ms of 16 kHz s16le (640 bytes)',
  );
  const joined = Buffer.concat(binary);
  const received = new Int16Array(joined.buffer, joined.byteOffset, joined.length / 2);
  for (const at of [4000, 12000, 20000]) {
    const c = bestMatch(sent, at, received);
    t.ok(c >= 0.95, `the sweep from ${at / 16} ms comes back (normalized correlation ${c.toFixed(3)})`);
  }
  const rec = await record();
  t.equal(rec.protocol, 'pcm');
  t.ok(rec.playback!.messages >= 90);
});

t.test('barge-in: connection.clear() sends the protocol clear and drops what was queued', async (t) => {
  const { url, gw, record } = await echoGateway(t);
  const { text } = await pcmCaller(url, sweep(16000), (i) => {
    if (i === 25) for (const c of gw.connections.values()) c.clear();
  });
  t.same(
    text.map((m) => JSON.parse(m) as unknown).filter((m) => (m as { event: string }).event === 'clear'),
    [{ event: 'clear' }],
    'one {"event":"clear"} text message',
  );
  t.equal((await record()).playback!.clears, 1);
});

t.test('without echo the call is one-way: nothing comes back', async (t) => {
  const { url, record } = await echoGateway(t, false);
  const { binary, text } = await pcmCaller(url, sweep(8000));
  t.equal(binary.length + text.length, 0);
  t.equal((await record()).playback, null);
});

t.test('livekit-audio gateway --echo carries a Twilio call both ways', async (t) => {
  const ac = new AbortController();
  const lines: string[] = [];
  let port = 0;
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const run = runGateway(['--port', '0', '--echo'], {
    signal: ac.signal,
    out: (l) => lines.push(l),
    err: () => undefined,
    onListening: (a) => {
      port = a.port;
      listening();
    },
  });
  await ready;
  const r = await twilioCall({ url: `ws://127.0.0.1:${port}/twilio`, seconds: 2 });
  t.ok(r.mediaReceived >= 80, `${r.mediaReceived} media messages back`);
  t.ok(r.roundTripMs.length >= 3, `${r.roundTripMs.length} bursts heard back`);
  const closedLine = () => lines.find((l) => l.includes('"gateway.connection"'));
  for (let i = 0; i < 100 && !closedLine(); i++) await new Promise((r) => setTimeout(r, 20));
  const rec = JSON.parse(closedLine()!) as ConnectionRecord & { msg: string; level: number };
  t.equal(rec.msg, 'call closed', 'a pino line on stdout');
  t.ok(
    lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'call opened'),
    'and one when it opened',
  );
  t.ok(rec.playback!.messages >= 80, 'the JSON line has the way-back stats');
  ac.abort();
  t.equal(await run, 0, 'exit 0 on the signal');
});
