/**
 * A simulated Twilio caller for two-way measurements (bench) and tests: it streams µ-law at real time, 20 ms per
 * message, and plays what comes back the way Twilio does — a playout buffer drained in real time, marks echoed
 * once everything before them has played, `clear` dropping what is unplayed (and echoing the pending marks).
 *
 * Round trip: the caller sends short tone bursts into silence; each burst's onset in the audio that comes back,
 * at the time the caller would play it, minus the time it was sent, is one round-trip latency sample.
 *
 * Probe (`signal: 'sine'`): a continuous 400 Hz sine instead, and the audio that comes back is checked for glitches
 * the way bench/lib/probe.ts does (a pure sine obeys x[n] = 2cos(ω)·x[n−1] − x[n−2]; a gap, a cut or a click
 * breaks it; µ-law's quantisation stays far below the threshold).
 */
import { WebSocket } from 'ws';
import { int16ToMulaw, mulawToInt16 } from '../../lib/formats.js';

const SINE_AMP = 16000;
const SINE_W = (2 * Math.PI * 400) / 8000;

export const CALLER_SID = 'MZ000000000000000000000000000000ec';

export interface CallerOptions {
  url: string;
  /** Seconds of call. */
  seconds: number;
  /** A burst every this many ms (default 500). */
  burstEveryMs?: number;
  /** Extra JSON fields for the start's customParameters. */
  customParameters?: Record<string, string>;
  /** Default 8000 (|sample| at which a 20 ms message counts as sound). */
  threshold?: number;
  /** 'bursts' (default: round trips) or 'sine' (glitches). */
  signal?: 'bursts' | 'sine';
}

export interface CallerResult {
  /** Round trip per burst heard back, ms (sent → played at the caller). */
  roundTripMs: number[];
  /** When each round trip was measured, s from the start of the call. */
  roundTripAtS: number[];
  /** Probe: glitch events in the audio that came back (merged within 10 ms). */
  glitches: number;
  /** Sent → arrived at the caller (before its playout buffer), ms. */
  arrivalMs: number[];
  bursts: number;
  mediaReceived: number;
  clearsReceived: number;
  marksEchoed: number;
  /** Messages whose payload was not 160 bytes of µ-law. */
  badMessages: number;
  /** 20 ms slots where the caller's playout buffer was empty after audio had started (gaps heard). */
  underruns: number;
  /** The most audio the caller held unplayed, ms. */
  maxHeldMs: number;
  close: { code: number; reason: string };
}

/** One message's peak |sample|. */
function peak(samples: Int16Array): number {
  let p = 0;
  for (let i = 0; i < samples.length; i++) p = Math.max(p, Math.abs(samples[i]!));
  return p;
}

/** 20 ms of a 1 kHz tone at 8 kHz, amplitude 16000. */
function burst(): Int16Array {
  return Int16Array.from({ length: 160 }, (_, i) => Math.round(16000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
}

export async function twilioCall(opts: CallerOptions): Promise<CallerResult> {
  const every = opts.burstEveryMs ?? 500;
  const sine = opts.signal === 'sine';
  // the glitch check's state: the last two samples, samples since the last glitch, whether sound has started
  let x1 = 0;
  let x2 = 0;
  let sinceGlitch = Infinity;
  let skip = 2;
  let stopping = false;
  const glitchCheck = (pcm: Int16Array) => {
    const coef = 2 * Math.cos(SINE_W);
    for (const x of pcm) {
      const r = Math.abs(x - coef * x1 + x2);
      x2 = x1;
      x1 = x;
      if (skip > 0) {
        if (Math.abs(x) > SINE_AMP / 2) skip--; // wait for the sine to arrive
        continue;
      }
      sinceGlitch++;
      if (r > 0.1 * SINE_AMP) {
        if (sinceGlitch > 80) res.glitches++;
        sinceGlitch = 0;
      }
    }
  };
  const threshold = opts.threshold ?? 8000;
  const ws = new WebSocket(opts.url);
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const res: CallerResult = {
    roundTripMs: [],
    roundTripAtS: [],
    glitches: 0,
    arrivalMs: [],
    bursts: 0,
    mediaReceived: 0,
    clearsReceived: 0,
    marksEchoed: 0,
    badMessages: 0,
    underruns: 0,
    maxHeldMs: 0,
    close: { code: 0, reason: '' },
  };
  const sentBursts: number[] = [];
  // the caller's playout: queued 20 ms messages (peak, arrival) and marks placed between them
  type Item = { kind: 'audio'; loud: boolean; at: number } | { kind: 'mark'; name: string };
  const queue: Item[] = [];
  const head = (): Item | undefined => queue[0];
  let held = 0;
  let started = false;
  let wasLoud = false;
  let nextBurst = 0;
  const echoMark = (name: string) => {
    res.marksEchoed++;
    ws.send(JSON.stringify({ event: 'mark', streamSid: CALLER_SID, mark: { name } }));
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      res.badMessages++;
      return;
    }
    const msg = JSON.parse(data.toString()) as { event: string; media?: { payload: string }; mark?: { name: string } };
    const now = performance.now();
    if (msg.event === 'media') {
      const bytes = Buffer.from(msg.media!.payload, 'base64');
      if (bytes.length !== 160) res.badMessages++;
      res.mediaReceived++;
      const pcm = mulawToInt16(bytes);
      const loud = peak(pcm) >= threshold;
      if (sine && !stopping) glitchCheck(pcm);
      queue.push({ kind: 'audio', loud, at: now });
      held++;
      res.maxHeldMs = Math.max(res.maxHeldMs, held * 20);
    } else if (msg.event === 'mark') {
      if (held === 0) echoMark(msg.mark!.name);
      else queue.push({ kind: 'mark', name: msg.mark!.name });
    } else if (msg.event === 'clear') {
      res.clearsReceived++;
      for (const item of queue.splice(0)) if (item.kind === 'mark') echoMark(item.name);
      held = 0;
    }
  });

  const t0 = performance.now();
  const send = (o: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(o));
  send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  send({
    event: 'start',
    sequenceNumber: '1',
    streamSid: CALLER_SID,
    start: {
      streamSid: CALLER_SID,
      callSid: 'CA-caller',
      tracks: ['inbound'],
      customParameters: opts.customParameters ?? {},
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });
  const tone = int16ToMulaw(burst());
  const quiet = Buffer.alloc(160, 0xff);
  const sineAt = (i: number) =>
    int16ToMulaw(Int16Array.from({ length: 160 }, (_, k) => Math.round(SINE_AMP * Math.sin(SINE_W * (i * 160 + k)))));
  const total = Math.round((opts.seconds * 1000) / 20);
  for (let i = 0; i < total && ws.readyState === ws.OPEN; i++) {
    // wait for this slot on the real clock (drift-free: from t0)
    const due = t0 + i * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const now = performance.now();
    const isBurst = !sine && i * 20 >= nextBurst;
    if (isBurst) {
      nextBurst += every;
      sentBursts.push(now);
      res.bursts++;
    }
    const payload = Buffer.from(sine ? sineAt(i) : isBurst ? tone : quiet).toString('base64');
    send({
      event: 'media',
      sequenceNumber: String(i + 2),
      streamSid: CALLER_SID,
      media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload },
    });
    // the caller plays one message per 20 ms slot
    playSlot(now);
  }
  stopping = true; // the tail (the jitter buffer's fade at the end) is not a glitch
  send({ event: 'stop', sequenceNumber: String(total + 2), streamSid: CALLER_SID, stop: {} });
  // play out what is still held, then hang up
  for (let k = 0; k < 25 && queue.length > 0; k++) {
    await new Promise((r) => setTimeout(r, 20));
    playSlot(performance.now());
  }
  ws.close();
  res.close = await closed;
  return res;

  function playSlot(now: number): void {
    while (head()?.kind === 'mark') echoMark((queue.shift() as { name: string }).name);
    const item = queue.shift() as { loud: boolean; at: number } | undefined;
    if (!item) {
      if (started) res.underruns++;
      return;
    }
    held--;
    started = true;
    if (item.loud && !wasLoud) {
      // the onset of a burst: match it to the latest burst sent before it arrived
      const sent = [...sentBursts].reverse().find((s) => s <= item.at);
      if (sent !== undefined) {
        res.roundTripMs.push(now - sent);
        res.roundTripAtS.push((now - t0) / 1000);
        res.arrivalMs.push(item.at - sent);
      }
    }
    wasLoud = item.loud;
    while (head()?.kind === 'mark') echoMark((queue.shift() as { name: string }).name);
  }
}
