/**
 * The jitter buffer in real time, through the native loopback (no server), two ways:
 *
 *   tuned:    producer (48 kHz frames, 20 ms packets, +2000 ppm, jitter, a 200 ms stall at 12 s)
 *               → jitterBuffer({ rate, channels }) → LiveKitSink (30 ms native queue) → … → receiver
 *   defaults: producer (16 kHz s16le Buffers, 20 ms, +3000 ppm, jitter, a 200 ms stall at 2.5 s — inside the
 *               fast start) → decodePcm → resample(48 kHz) → rechunk() → jitterBuffer() → new LiveKitSink({
 *               sampleRate, channels }) — every option at its default, as the README composes it
 *
 *   … → AudioSource → LocalAudioTrack → AudioStream → receiver
 *
 * Stereo: channel 0 carries a 1 kHz tone for the glitch detector, channel 1 a short marker burst every 500 ms
 * of producer media. The receiver times each marker by its sample index in the received stream (the sink's
 * clock) and compares it with the instant the producer emitted it: end-to-end latency.
 */
import t from 'tap';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dispose } from '@livekit/rtc-node';
import type { Duplex } from 'node:stream';
import { AudioFrame } from '../../lib/frames.js';
import { loadSpeex } from '../../lib/speex.js';
import { quantile } from '../../lib/stats.js';
import { createLoopback } from '../../room/loopback.js';
import { decodePcm } from '../../transforms/decodePcm.js';
import { jitterBuffer } from '../../transforms/jitterBuffer.js';
import { rechunk } from '../../transforms/rechunk.js';
import { resample } from '../../transforms/resample.js';
import { GlitchDetector } from '../sim/glitchDetector.js';
import { rng } from '../sim/producer.js';

t.teardown(async () => {
  await dispose();
});

const RATE = 48000;
const SECONDS = 20;
const STALL_MS = 200;
const TONE = 8000;

interface Case {
  name: string;
  ppm: number;
  stallAt: number; // ms after start
  /** the producer's rate: 48 kHz frames straight into the jitter buffer, or 16 kHz bytes through the decoder */
  inputRate: 48000 | 16000;
  /** the native queue; undefined: LiveKitSink's default */
  queueSizeMs?: number;
  /** p50 end to end, ms */
  p50Max: number;
}

const CASES: Case[] = [
  // The jitter buffer does the buffering, so the native queue only has to ride out event-loop hiccups: 30 ms.
  // (Measured here: the loopback alone takes ≈ queueSizeMs + 20 ms from hand-off to the receiver.)
  {
    name: 'tuned: 48 kHz frames → jitterBuffer({ format }) → sink with a 30 ms queue',
    ppm: 2000,
    stallAt: 12_000,
    inputRate: 48000,
    queueSizeMs: 30,
    p50Max: 100,
  },
  {
    name: 'defaults: 16 kHz bytes → decodePcm → resample → rechunk → jitterBuffer() → new LiveKitSink({ rate, channels })',
    ppm: 3000,
    stallAt: 2500,
    inputRate: 16000,
    p50Max: 100,
  },
];

/** Sample `m` (at `rate`) of the producer's stereo signal: [tone, marker channel] — a 2 ms 4 kHz burst every 500 ms. */
function sample(m: number, rate: number): [number, number] {
  const tone = Math.round(TONE * Math.sin((2 * Math.PI * 1000 * m) / rate));
  const len = rate / 500;
  const k = m % (rate / 2);
  const marker =
    k < len ? Math.round(16000 * Math.sin((Math.PI * k) / len) ** 2 * Math.sin((2 * Math.PI * 4000 * k) / rate)) : 0;
  return [tone, marker];
}

/** Packet i (20 ms) of the producer: an AudioFrame at 48 kHz, or s16le bytes at 16 kHz. */
function packet(i: number, rate: number): AudioFrame | Buffer {
  const n = rate / 50;
  const data = new Int16Array(n * 2);
  for (let j = 0; j < n; j++) {
    const [a, b] = sample(i * n + j, rate);
    data[2 * j] = a;
    data[2 * j + 1] = b;
  }
  return rate === RATE ? new AudioFrame(data, rate, 2, n) : Buffer.from(data.buffer);
}

for (const c of CASES)
  t.test(
    `${c.name}: ${SECONDS} s at +${c.ppm} ppm with jitter and a ${STALL_MS} ms stall at ${c.stallAt / 1000} s`,
    async (t) => {
      const PPM = c.ppm;
      const STALL_AT = c.stallAt;
      await loadSpeex();
      const detector = new GlitchDetector({ sampleRate: RATE, frequency: 1000, amplitude: TONE });
      let received = 0;
      // per received frame: its stream position and arrival time − position (the stream clock's origin as seen
      // by that frame). The lower envelope over a couple of seconds is free of delivery jitter, and follows the
      // stream when the native side skips ticks (it sends nothing for short underruns).
      const seen: { idx: number; origin: number }[] = [];
      const markers: number[] = []; // receiver sample index of each marker onset
      let quietSince = 0;
      const lb = createLoopback({
        sampleRate: RATE,
        channels: 2,
        queueSizeMs: c.queueSizeMs,
        record: false,
        onFrame: (frame, at) => {
          seen.push({ idx: received, origin: at - (received * 1000) / RATE });
          const d = frame.data;
          for (let j = 0; j < frame.samplesPerChannel; j++) {
            const idx = received + j;
            if (Math.abs(d[2 * j + 1]!) > 4000) {
              if (idx - quietSince > RATE / 10) markers.push(idx);
              quietSince = idx;
            }
          }
          detector.feed(d, 2, 0);
          received += frame.samplesPerChannel;
        },
      });
      t.teardown(() => lb.close());
      const jb = c.inputRate === RATE ? jitterBuffer({ sampleRate: RATE, channels: 2 }) : jitterBuffer();
      const head: Duplex =
        c.inputRate === RATE ? jb : decodePcm({ encoding: 's16le', sampleRate: c.inputRate, channels: 2 });
      const done =
        c.inputRate === RATE
          ? pipeline(jb, lb.sink)
          : pipeline(head, resample({ sampleRate: RATE, channels: 2 }), rechunk(), jb, lb.sink);
      if (c.queueSizeMs === undefined) t.equal(lb.sink.mode, 'direct', 'the default sink is direct mode');
      // let the native side and the event loop settle before the producer starts (startup blocks the loop)
      await new Promise((resolve) => setTimeout(resolve, 1000));

      // the producer: packet i is due at i·20 ms of its own clock (2000 ppm fast), delayed by exponential jitter
      // (mean 4 ms, at most 25), delivered in order, and held back during the stall
      const rand = rng(7);
      const start = performance.now() + 50;
      const packets = Math.floor((SECONDS * 1000 * (1 + PPM * 1e-6)) / 20);
      let prev = 0;
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      for (let i = 0; i < packets; i++) {
        const due = (i * 20) / (1 + PPM * 1e-6);
        let at = due + Math.min(25, -4 * Math.log(1 - rand()));
        if (at >= STALL_AT && at < STALL_AT + STALL_MS) at = STALL_AT + STALL_MS;
        at = Math.max(at, prev);
        prev = at;
        setTimeout(
          () => {
            head.write(packet(i, c.inputRate));
            if (i === packets - 1) head.end();
          },
          start + at - performance.now(),
        );
      }
      await done;
      lag.disable();
      const lagP99 = lag.percentile(99) / 1e6;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the last frames on their way back

      // marker k was emitted by the producer at start + k·500 ms of its clock
      const lat: { at: number; ms: number }[] = [];
      let guess = 100; // latency changes slowly: it tells which marker this is
      for (const idx of markers) {
        let origin = Infinity;
        for (const f of seen) if (Math.abs(f.idx - idx) <= 2 * RATE) origin = Math.min(origin, f.origin);
        const recvAt = origin + (idx * 1000) / RATE;
        const k = Math.round((recvAt - start - guess) / (500 / (1 + PPM * 1e-6)));
        const emitted = start + (k * 500) / (1 + PPM * 1e-6);
        guess = recvAt - emitted;
        lat.push({ at: emitted - start, ms: guess });
      }
      // steady state: after convergence (6 s), away from the stall, and before the last second (the producer's end and
      // the drain are a transient like the start: a marker in the final packets was once seen 20 ms late). The stall
      // stays in the jitter estimate's window for a few seconds; when it leaves, the target drops and the buffer
      // sheds the excess (a 15 ms step was seen 4 s after it), so "after the stall" starts 5 s on, as for the creep
      // check below.
      const lastAt = SECONDS * 1000 - 1000;
      // the start-up convergence (the target settling from its initial value) was seen to run until 6 s
      const CONVERGED_AT = 6000;
      const steady = lat.filter(
        (l) => l.at >= CONVERGED_AT && l.at < lastAt && !(l.at >= STALL_AT - 500 && l.at < STALL_AT + 5000),
      );
      const ms = steady.map((l) => l.ms);
      const p50 = quantile(ms, 0.5);
      // flat = each steady stretch within the bar; the level after the stall against the level before is the creep
      // check's job (the buffer may settle a few ms higher or lower after it, within that check's bound)
      const range = (x: number[]) => (x.length === 0 ? 0 : Math.max(...x) - Math.min(...x));
      const spreadBefore = range(steady.filter((l) => l.at < STALL_AT).map((l) => l.ms));
      const spreadAfter = range(steady.filter((l) => l.at >= STALL_AT).map((l) => l.ms));
      const spread = Math.max(spreadBefore, spreadAfter);
      const s = jb.stats;
      t.comment(`latency: ${lat.map((l) => `${(l.at / 1000).toFixed(1)}s:${l.ms.toFixed(0)}`).join(' ')}`);
      t.comment(
        `p50 ${p50.toFixed(1)} ms, spread ${spreadBefore.toFixed(1)} ms before the stall and ${spreadAfter.toFixed(1)} after it (all steady markers: ${range(ms).toFixed(1)}); drift ${s.driftPpm.toFixed(0)} ppm; ` +
          `${s.concealmentEvents} concealments, ${detector.count} glitches; target ${s.targetDelayMs} ms, jitter ${s.jitterMs} ms`,
      );
      t.ok(markers.length >= SECONDS * 2 - 4, `markers came back (${markers.length})`);
      t.ok(steady.length >= 15, `${steady.length} markers after convergence, away from the stall`);
      const end = received - RATE / 2; // the tone stopping at the end (then trailing silence) is not a glitch
      const glitches = detector.events.filter((e) => e.at < end);
      t.comment(
        `glitches at ${glitches.map((e) => (e.at / RATE).toFixed(2) + 's').join(' ') || '—'}; ` +
          `sink underruns ${lb.sink.stats.underruns}; event-loop delay p99 ${lagP99.toFixed(1)} ms`,
      );

      // what holds however busy the machine is: a sane drift estimate, the stall concealed once, counters add up
      t.ok(s.driftPpm > 0 && s.driftPpm < 10_000, `drift estimated at ${s.driftPpm.toFixed(0)} ppm (+${PPM})`);
      t.ok(s.concealmentEvents <= 3, `the jitter buffer concealed ${s.concealmentEvents} time(s)`);
      const balance =
        s.samplesIn + s.samplesInserted - s.samplesRemoved + s.concealedSamples + s.idleSamples - s.droppedSamples;
      t.equal(balance, s.samplesOut + s.heldSamples, 'counters add up');

      // the issue's bars need a machine that runs realtime audio: an event loop that answers within 20 ms and
      // timers that fire about on time — the jitter measured must be mostly the producer's (≤ 25 ms), not the
      // machine's (a busy machine fires the producer's timers up to 100 ms late, and the buffer rightly grows)
      const realtime = lagP99 <= 20 && s.jitterMs <= 50;
      // no creep: after the stall, latency returns to where it was (on a busy machine the target rises with the
      // machine's own jitter, so the comparison means something only when the machine keeps time; the virtual-time
      // tests check creep exactly)
      // the level: before the stall, or — for a stall inside the first seconds — where the call settles afterwards
      const early = STALL_AT < CONVERGED_AT;
      const tail = lat
        .filter((l) => l.at >= STALL_AT + 5000 && l.at < (early ? STALL_AT + 7000 : lastAt))
        .map((l) => l.ms);
      const before = lat
        .filter((l) => (early ? l.at >= STALL_AT + 10_000 && l.at < lastAt : l.at >= 5000 && l.at < STALL_AT - 500))
        .map((l) => l.ms);
      const creep = quantile(tail, 0.5) - quantile(before, 0.5);
      t.ok(Math.abs(creep) <= 25, `latency is back after the stall: no creep (${creep.toFixed(1)} ms)`, {
        skip: !realtime && 'machine too busy for realtime',
      });
      t.ok(spread <= 15, `latency flat within 15 ms before and after the stall (spread ${spread.toFixed(1)} ms)`, {
        skip: !realtime && 'machine too busy for realtime',
      });
      t.ok(p50 <= c.p50Max, `p50 end to end ${p50.toFixed(1)} ms (≤ ${c.p50Max})`, {
        skip: !realtime && 'machine too busy for realtime',
      });
      t.ok(glitches.length <= 2, `the ${STALL_MS} ms stall is at most two glitch events (${glitches.length})`, {
        skip: !realtime && 'machine too busy for realtime',
      });
    },
  );
