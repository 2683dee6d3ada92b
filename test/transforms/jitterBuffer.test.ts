/**
 * The jitter buffer: the synchronous core (lib/jitter/core.ts) driven tick by tick, then the Duplex around it
 * on a VirtualClock with the VirtualSink. Long runs (an hour, skewed clocks, harsh traces, baselines) are in
 * test/sim/.
 */
import t, { type Test } from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame } from '../../lib/frames.js';
import { VirtualClock } from '../../lib/clock.js';
import { ConfigError, FrameFormatError, AudioPipelineError } from '../../lib/errors.js';
import { loadSpeex } from '../../lib/speex.js';
import { JitterCore, type JitterInput, type JitterOptions, type JitterStats } from '../../lib/jitter/core.js';
import { jitterBuffer, JitterBuffer } from '../../transforms/jitterBuffer.js';
import { VirtualSink } from '../sim/VirtualSink.js';
import { GlitchDetector } from '../sim/glitchDetector.js';
import { channel, concatArrays } from '../helpers/signals.js';

const A = 10000;

await loadSpeex();

/** Sample-exact tone source: frames cut from one endless sine, so any discontinuity is the buffer's doing. */
class Tone {
  pos = 0;
  constructor(
    readonly rate: number,
    readonly hz: number,
    readonly ch = 1,
    readonly amp = A,
  ) {}
  frame(ms: number): AudioFrame {
    const n = Math.round((this.rate * ms) / 1000);
    const data = new Int16Array(n * this.ch);
    const w = (2 * Math.PI * this.hz) / this.rate;
    for (let i = 0; i < n; i++) {
      const v = Math.round(this.amp * Math.sin(w * (this.pos + i)));
      for (let c = 0; c < this.ch; c++) data[i * this.ch + c] = v;
    }
    this.pos += n;
    return new AudioFrame(data, this.rate, this.ch, n);
  }
}

/** The invariant every run must satisfy, exactly. */
function balanced(t: Test, s: JitterStats, what = 'counters add up'): void {
  const lhs =
    s.samplesIn + s.samplesInserted - s.samplesRemoved + s.concealedSamples + s.idleSamples - s.droppedSamples;
  t.equal(
    lhs,
    s.samplesOut + s.heldSamples,
    `${what}: in + inserted − removed + concealed + idle − dropped = out + held`,
  );
  t.equal(s.droppedSamples, s.dropped.late + s.dropped.duplicate + s.dropped.overflow + s.dropped.stale);
}

interface Drive {
  out: Int16Array[];
  detector: GlitchDetector;
}

/**
 * Pull one 10 ms frame per tick for `ms`, starting at `from`; before each pull, push what `feed(t)` returns.
 * The output goes to a glitch detector.
 */
function drive(
  core: JitterCore,
  from: number,
  ms: number,
  feed: (t: number) => JitterInput[],
  d?: Drive,
  hz = 1000,
): Drive {
  const rate = core.options.sampleRate;
  const res = d ?? { out: [], detector: new GlitchDetector({ sampleRate: rate, frequency: hz, amplitude: A }) };
  for (let t = from; t < from + ms; t += 10) {
    for (const x of feed(t)) core.push(x, t);
    const f = core.pull(t);
    if (f === null) break;
    res.out.push(f.data);
    res.detector.feed(f.data, f.channels);
  }
  return res;
}

/** Largest sample-to-sample step: a click shows up as a step far above the tone's own slope. */
function maxStep(x: Int16Array): number {
  let m = 0;
  for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - x[i - 1]!));
  return m;
}

t.test('options are checked up front', async (t) => {
  const bad: [JitterOptions, RegExp][] = [
    [{ sampleRate: 0 }, /sampleRate/],
    [{ sampleRate: 22.5 }, /sampleRate/],
    [{ channels: 0 }, /channels/],
    [{ channels: 9 }, /channels/],
    [{ minDelayMs: 5 }, /minDelayMs/],
    [{ targetDelayMs: 10, minDelayMs: 20 }, /minDelayMs ≤ targetDelayMs/],
    [{ maxDelayMs: 50, targetDelayMs: 60 }, /targetDelayMs ≤ maxDelayMs/],
    [{ maxBufferMs: 200, maxDelayMs: 400 }, /maxBufferMs/],
    [{ maxCorrection: 0 }, /maxCorrection/],
    [{ maxCorrection: 0.1 }, /maxCorrection/],
    [{ quality: 11 }, /quality/],
    [{ adaptive: 'yes' as unknown as boolean }, /adaptive/],
    [{ targetDelayMs: Number.NaN }, /targetDelayMs/],
  ];
  for (const [o, re] of bad) {
    t.throws(
      () => new JitterCore(o),
      { name: 'ConfigError', code: 'ERR_JITTER_OPTIONS', message: re },
      JSON.stringify(o),
    );
    t.throws(() => jitterBuffer(o), ConfigError, 'the stream factory too');
  }
  t.throws(() => new JitterCore({ sampleRate: 44150 }), { code: 'ERR_FRAME_DURATION' }, '10 ms must be whole samples');
  t.throws(() => new JitterCore(null as unknown as JitterOptions), { code: 'ERR_JITTER_OPTIONS' });
  t.throws(() => jitterBuffer({ clock: {} as never }), { code: 'ERR_JITTER_OPTIONS', message: /clock/ });
  t.throws(() => jitterBuffer({ maxAheadMs: 5 }), { code: 'ERR_JITTER_OPTIONS', message: /maxAheadMs/ });
  const c = new JitterCore({ sampleRate: 44100, channels: 2 });
  t.same(c.options, {
    sampleRate: 44100,
    channels: 2,
    targetDelayMs: 60,
    minDelayMs: 20,
    maxDelayMs: 400,
    adaptive: true,
    maxBufferMs: 1000,
    maxCorrection: 0.01,
    quality: 3,
  });
  t.equal(c.frameSize, 441);
  c.destroy();
});

t.test('bad input is a typed error', async (t) => {
  const c = new JitterCore({ sampleRate: 16000 });
  t.throws(() => c.push(Buffer.alloc(320) as never, 0), { name: 'FrameFormatError', code: 'ERR_NOT_A_FRAME' });
  t.throws(() => c.push(null as never, 0), { code: 'ERR_NOT_A_FRAME', message: /null/ });
  t.throws(() => c.push(new Tone(48000, 1000).frame(10), 0), { code: 'ERR_FRAME_MISMATCH' });
  t.throws(() => c.push({ frame: 'x' } as never, 0), FrameFormatError);
  const tone = new Tone(16000, 500);
  c.push(tone.frame(20), 0);
  t.throws(() => c.push({ frame: tone.frame(20), seq: 1 }, 0), {
    code: 'ERR_PACKET_METADATA',
    message: /plain frames/,
  });
  c.push(new AudioFrame(new Int16Array(0), 16000, 1, 0), 0);
  t.equal(c.stats.samplesIn, 320, 'an empty frame is ignored');

  const p = new JitterCore({ sampleRate: 16000 });
  t.throws(() => p.push({ frame: tone.frame(20), seq: -1 }, 0), { code: 'ERR_PACKET_METADATA', message: /seq/ });
  t.throws(() => p.push({ frame: tone.frame(20), seq: 1.5 }, 0), { code: 'ERR_PACKET_METADATA' });
  p.push({ frame: tone.frame(20), seq: 1 }, 0);
  t.throws(() => p.push({ frame: tone.frame(20), timestamp: 5 }, 0), {
    code: 'ERR_PACKET_METADATA',
    message: /timestamp only/,
  });
  p.end();
  t.throws(() => p.push(tone.frame(20), 0), { code: 'ERR_JITTER_ENDED' });
  c.destroy();
  p.destroy();
});

t.test('prebuffers silently, starts at the target with a fade-in, then plays the tone clean', async (t) => {
  const core = new JitterCore({ sampleRate: 48000 });
  const tone = new Tone(48000, 1000);
  const silent = core.pull(0)!;
  t.equal(silent.samplesPerChannel, 480);
  t.ok(
    silent.data.every((v) => v === 0),
    'silence before any input',
  );
  t.equal(core.stats.state, 'idle');
  // a steady 20 ms producer, no jitter, for 10 s
  const d = drive(core, 10, 10_000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []));
  const s = core.stats;
  t.equal(s.state, 'playing');
  t.equal(s.concealmentEvents, 0, 'no underrun');
  t.equal(d.detector.count, 0, 'no glitch');
  const out = concatArrays(d.out);
  const first = out.findIndex((v) => v !== 0);
  t.ok(
    first >= 0 && first <= 80 * 48,
    `silence until the start level (60 ms + half a packet) is reached (audio from sample ${first})`,
  );
  t.ok(Math.abs(out[first]!) < 50, 'the first sample is faded in');
  t.ok(
    d.detector.maxCleanResidual < 0.1,
    `the varispeed path is clean (residual ${(d.detector.maxCleanResidual * 3).toFixed(3)} % of the tone)`,
  );
  t.ok(Math.abs(s.currentDelayMs - s.targetDelayMs) <= 20, `held ${s.currentDelayMs} ms, target ${s.targetDelayMs} ms`);
  t.equal(s.targetDelayMs, 20, 'with no jitter the target settles at its minimum');
  t.ok(s.idleSamples >= 480, 'prebuffer silence is counted as idle, not concealment');
  t.equal(s.concealedSamples, 0);
  t.ok(Math.abs(s.driftPpm) < 150, `no drift measured (${s.driftPpm.toFixed(1)} ppm, 10 s after a start)`);
  t.ok(Number.isFinite(s.jitterMs) && s.jitterMs < 5, `no jitter measured (${s.jitterMs} ms)`);
  t.equal(s.packetMs, 20);
  balanced(t, s);
  core.destroy();
});

t.test('an underrun is concealed with fades, counted, and leaves no extra latency', async (t) => {
  const core = new JitterCore({ sampleRate: 48000, adaptive: false });
  const tone = new Tone(48000, 1000);
  let d = drive(core, 0, 5000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []));
  const before = core.stats.currentDelayMs;
  // a 300 ms stall: nothing arrives, then the backlog comes all at once (TCP)
  d = drive(core, 5000, 300, () => [], d);
  t.equal(core.stats.state, 'concealing');
  d = drive(
    core,
    5300,
    5000,
    (ms) => (ms === 5300 ? Array.from({ length: 16 }, () => tone.frame(20)) : ms % 20 === 0 ? [tone.frame(20)] : []),
    d,
  );
  const s = core.stats;
  t.equal(s.concealmentEvents, 1, 'one concealment event');
  t.equal(d.detector.count, 1, 'heard as one glitch');
  t.ok(s.concealedSamples >= 240 * 48 && s.concealedSamples <= 300 * 48, `${s.concealedSamples / 48} ms concealed`);
  t.ok(s.dropped.stale >= 200 * 48, `the stale backlog was dropped (${s.dropped.stale / 48} ms)`);
  t.ok(Math.abs(s.currentDelayMs - before) <= 20, `latency is back: ${s.currentDelayMs} ms held, ${before} before`);
  const tonePeakStep = A * ((2 * Math.PI * 1000) / 48000);
  const step = maxStep(concatArrays(d.out));
  t.ok(
    step <= tonePeakStep * 1.05,
    `no click: no step steeper than the tone itself (${step} vs ${tonePeakStep.toFixed(0)})`,
  );
  balanced(t, s);
  core.destroy();
});

t.test('an outage with nothing to catch up rebuilds the target before playing on', async (t) => {
  const core = new JitterCore({ sampleRate: 16000, adaptive: false, targetDelayMs: 50 });
  const tone = new Tone(16000, 500);
  let d = drive(core, 0, 3000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []), undefined, 500);
  // 200 ms of audio lost outright (a UDP outage, plain frames): the producer's clock moves on
  d = drive(
    core,
    3000,
    200,
    () => {
      tone.frame(20);
      return [];
    },
    d,
    500,
  );
  d = drive(core, 3200, 2000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []), d, 500);
  const s = core.stats;
  t.equal(s.concealmentEvents, 1);
  t.equal(d.detector.count, 1);
  t.ok(s.dropped.stale <= 20 * 16, `at most the last packet's overshoot is dropped (${s.dropped.stale / 16} ms)`);
  t.ok(Math.abs(s.currentDelayMs - 50) <= 20, `back at the target (${s.currentDelayMs} ms)`);
  balanced(t, s);
  core.destroy();
});

t.test('the hard cap drops the oldest audio, counted, and never blocks', async (t) => {
  const core = new JitterCore({ sampleRate: 16000, maxBufferMs: 1000 });
  const tone = new Tone(16000, 500);
  for (let i = 0; i < 150; i++) core.push(tone.frame(20), 0);
  let s = core.stats;
  t.equal(s.currentDelayMs, 1000, 'held at the cap');
  t.equal(s.dropped.overflow, 2000 * 16, '2 s dropped');
  balanced(t, s);
  // while playing, the cut is a crossfade
  const d = drive(
    core,
    0,
    2000,
    (ms) => (ms === 100 ? Array.from({ length: 60 }, () => tone.frame(20)) : []),
    undefined,
    500,
  );
  s = core.stats;
  t.ok(s.dropped.overflow > 2000 * 16, 'more dropped while playing');
  t.ok(maxStep(concatArrays(d.out)) <= A * ((2 * Math.PI * 500) / 16000) * 2, 'the cut has no click');
  balanced(t, s);
  core.destroy();
});

for (const [rate, hz] of [
  [48000, 1000],
  [8000, 440],
] as const) {
  t.test(
    `excess depth without an underrun is shed by time-stretch, glitch-free (${hz} Hz at ${rate} Hz)`,
    async (t) => {
      const core = new JitterCore({ sampleRate: rate, adaptive: false });
      const tone = new Tone(rate, hz);
      let d = drive(core, 0, 5000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []), undefined, hz);
      // the producer jumps 200 ms ahead (a burst of extra audio, faster than real time)
      d = drive(core, 5000, 10, () => Array.from({ length: 10 }, () => tone.frame(20)), d, hz);
      t.ok(core.stats.currentDelayMs > 200, `excess: ${core.stats.currentDelayMs} ms held`);
      let back = NaN;
      for (let ms = 5010; ms < 12000 && Number.isNaN(back); ms += 100) {
        d = drive(core, ms, 100, (x) => (x % 20 === 0 ? [tone.frame(20)] : []), d, hz);
        if (Math.abs(core.stats.currentDelayMs - 60) <= 20) back = ms + 100 - 5000;
      }
      const s = core.stats;
      t.ok(back <= 5000, `within 20 ms of the target after ${back} ms`);
      t.ok(
        s.timeStretchSamples >= (100 * rate) / 1000,
        `${(s.timeStretchSamples * 1000) / rate} ms cut by time-stretch`,
      );
      t.equal(s.droppedSamples, 0, 'nothing dropped');
      t.equal(d.detector.count, 0, 'no glitch: whole periods were cut');
      balanced(t, s);
      core.destroy();
    },
  );
}

t.test('a quiet stretch is cut fastest', async (t) => {
  const core = new JitterCore({ sampleRate: 16000, adaptive: false, targetDelayMs: 40, minDelayMs: 20 });
  const quiet = () => new AudioFrame(new Int16Array(320), 16000, 1, 320);
  drive(core, 0, 1000, (ms) => (ms % 20 === 0 ? [quiet()] : []));
  for (let i = 0; i < 25; i++) core.push(quiet(), 1000);
  t.ok(core.stats.currentDelayMs >= 500);
  drive(core, 1000, 400, (ms) => (ms % 20 === 0 ? [quiet()] : []));
  const s = core.stats;
  t.ok(s.timeStretchSamples >= 15 * 16 * 30, `15 ms per pull while quiet (${s.timeStretchSamples / 16} ms)`);
  t.ok(s.currentDelayMs < 100);
  balanced(t, s);
  core.destroy();
});

t.test('RTP-like packets: reordering, loss, late and duplicate packets, wrap-around', async (t) => {
  const rate = 16000;
  const mk = () => new JitterCore({ sampleRate: rate, adaptive: false, targetDelayMs: 60 });
  const tone = new Tone(rate, 500);
  const pk = Array.from({ length: 600 }, (_, i) => ({
    frame: tone.frame(20),
    seq: (65500 + i) & 0xffff,
    timestamp: (4294967000 + i * 320) % 4294967296,
  }));

  // in order, across the 16-bit seq and 32-bit timestamp wrap: clean
  let core = mk();
  let d = drive(core, 0, 6000, (ms) => (ms % 20 === 0 && ms / 20 < 300 ? [pk[ms / 20]!] : []), undefined, 500);
  t.equal(core.stats.lostPackets, 0, 'wrap-around is not a loss');
  t.equal(d.detector.count, 0);
  core.destroy();

  // 7 and 8 swapped, 20 lost, 30 late (after its slot), 40 twice
  core = mk();
  const order = (i: number): (typeof pk)[number][] => {
    if (i === 7) return [pk[8]!];
    if (i === 8) return [pk[7]!];
    if (i === 20) return [];
    if (i === 30) return [];
    if (i === 36) return [pk[36]!, pk[30]!];
    if (i === 40) return [pk[40]!, pk[40]!];
    return [pk[i]!];
  };
  d = drive(core, 0, 2800, (ms) => (ms % 20 === 0 && ms / 20 < 140 ? order(ms / 20) : []), undefined, 500);
  const s = core.stats;
  t.equal(s.reordered, 1, 'one packet reordered in time');
  t.equal(s.lostPackets, 2, 'two lost (20, and 30 which came too late)');
  t.equal(s.late, 1);
  t.equal(s.dropped.late, 320);
  t.equal(s.duplicates, 1);
  t.equal(s.dropped.duplicate, 320);
  t.equal(s.concealmentEvents, 2);
  t.equal(s.concealedSamples, 640, 'exactly the two missing packets were concealed');
  t.equal(d.detector.count, 2, 'heard as two glitches');
  balanced(t, s);
  core.destroy();
});

t.test('the second packet overtakes the first at the very start: both play, in order, no loss', async (t) => {
  const rate = 16000;
  for (const meta of [(i: number) => ({ seq: 9 + i }), (i: number) => ({ timestamp: 1000 + i * 320 })]) {
    const core = new JitterCore({ sampleRate: rate, adaptive: false, targetDelayMs: 60 });
    const tone = new Tone(rate, 500);
    const pk = Array.from({ length: 100 }, (_, i) => ({ frame: tone.frame(20), ...meta(i) }));
    // packet 1 arrives before packet 0, in the same 20 ms
    const order = (i: number) => (i === 0 ? [pk[1]!, pk[0]!] : i === 1 ? [] : [pk[i]!]);
    const d = drive(core, 0, 2000, (ms) => (ms % 20 === 0 && ms / 20 < 100 ? order(ms / 20) : []), undefined, 500);
    const s = core.stats;
    t.same([s.lostPackets, s.late, s.duplicates, s.concealedSamples], [0, 0, 0, 0], 'nothing lost or concealed');
    t.equal(s.reordered, 1);
    t.equal(d.detector.count, 0, 'no glitch heard: packet 0 played first');
    balanced(t, s);
    core.destroy();
  }
});

t.test('packets held behind a gap count toward the cap: past it, the gap is given up', async (t) => {
  const core = new JitterCore({ sampleRate: 16000, maxDelayMs: 100, targetDelayMs: 60, maxBufferMs: 150 });
  const tone = new Tone(16000, 500);
  core.push({ frame: tone.frame(20), seq: 0 }, 0);
  tone.frame(20); // seq 1 never comes
  for (let seq = 2; seq < 20; seq++) core.push({ frame: tone.frame(20), seq }, 0);
  const s = core.stats;
  t.equal(s.lostPackets, 1, 'the missing packet was declared lost to make room');
  t.ok(s.currentDelayMs <= 150, `held ${s.currentDelayMs} ms`);
  t.ok(s.dropped.overflow > 0);
  balanced(t, s);
  core.destroy();
});

t.test('timestamp-only packets, gaps sized by timestamps, and resync on a jump', async (t) => {
  const rate = 16000;
  const core = new JitterCore({ sampleRate: rate, adaptive: false, maxDelayMs: 200, targetDelayMs: 60 });
  const tone = new Tone(rate, 500);
  let ts = 1000;
  const d = drive(
    core,
    0,
    4000,
    (ms) => {
      if (ms % 20 !== 0) return [];
      const frame = tone.frame(20);
      const p = { frame, timestamp: ts };
      ts += 320;
      if (ms === 1000) return []; // lost
      if (ms === 2000) ts += 16000; // a 1 s jump: not a gap to conceal
      return [p];
    },
    undefined,
    500,
  );
  const s = core.stats;
  t.equal(s.lostPackets, 1);
  t.equal(s.resyncs, 1, 'the jump resynchronizes');
  t.equal(s.concealedSamples, 320, 'only the lost packet is concealed');
  t.ok(d.detector.count >= 1);
  balanced(t, s);
  core.destroy();

  // seq without timestamps: gaps sized by packet length
  const c2 = new JitterCore({ sampleRate: rate, adaptive: false });
  let seq = 0;
  drive(c2, 0, 2000, (ms) => {
    if (ms % 20 !== 0) return [];
    const p = { frame: tone.frame(20), seq: seq++ };
    return ms === 1000 || ms === 1020 ? [] : [p];
  });
  t.equal(c2.stats.lostPackets, 2);
  t.equal(c2.stats.concealedSamples, 640);
  balanced(t, c2.stats);
  c2.destroy();
});

t.test('the target follows the jitter (adaptive) or stays put', async (t) => {
  const rate = 8000;
  for (const adaptive of [true, false]) {
    const core = new JitterCore({ sampleRate: rate, adaptive });
    const tone = new Tone(rate, 440);
    // frames arrive in clumps of 120 ms
    drive(
      core,
      0,
      20_000,
      (ms) => (ms % 120 === 0 ? Array.from({ length: 6 }, () => tone.frame(20)) : []),
      undefined,
      440,
    );
    const s = core.stats;
    if (adaptive) {
      t.ok(s.jitterMs >= 90 && s.jitterMs <= 110, `jitter measured: ${s.jitterMs} ms`);
      t.ok(s.targetDelayMs > 100, `target raised to ${s.targetDelayMs} ms`);
      t.ok(s.concealmentEvents <= 3, `few underruns while adapting (${s.concealmentEvents})`);
    } else {
      t.equal(s.targetDelayMs, 60, 'fixed target');
      t.ok(s.concealmentEvents > 10, `which then underruns (${s.concealmentEvents})`);
    }
    balanced(t, s);
    core.destroy();
  }
});

t.test("end(): what is held plays out, the stream ends on the input's last sample, then null", async (t) => {
  const core = new JitterCore({ sampleRate: 16000 });
  const tone = new Tone(16000, 500);
  const input: Int16Array[] = [];
  for (let i = 0; i < 5; i++) {
    const f = tone.frame(25);
    input.push(f.data);
    core.push(f, 0);
  }
  core.end();
  core.end();
  const out: AudioFrame[] = [];
  for (let f = core.pull(0); f !== null; f = core.pull(0)) out.push(f);
  t.ok(out.length >= 12 && out.length <= 14, `${out.length} frames`);
  t.equal(core.stats.state, 'ended');
  t.equal(core.pull(0), null, 'stays ended');
  const last = out[out.length - 1]!;
  t.ok(
    last.samplesPerChannel > 0 && last.samplesPerChannel < 160,
    `the last frame is short: ${last.samplesPerChannel}`,
  );
  t.equal(
    out.slice(0, -1).every((f) => f.samplesPerChannel === 160),
    true,
    'all others are 10 ms',
  );
  const s = core.stats;
  t.equal(s.concealedSamples + s.idleSamples, 0, 'nothing concealed or padded: only input went out');
  t.equal(s.samplesOut, s.samplesIn + s.samplesInserted - s.samplesRemoved - s.droppedSamples);
  // varispeed runs at ±15 ppm of 1:1 here: the output's last samples are the input's, to within a few LSB
  const inTail = input[input.length - 1]!.subarray(-8);
  const outTail = last.data.subarray(-8);
  const err = Math.max(...Array.from(inTail, (v, i) => Math.abs(v - outTail[i]!)));
  t.ok(err < 0.02 * A, `ends on the input's last samples (largest difference ${err} of amplitude ${A})`);
  t.equal(core.stats.heldSamples, 0);
  balanced(t, core.stats);
  core.destroy();

  const empty = new JitterCore();
  empty.pull(0);
  empty.end();
  t.equal(empty.pull(0), null, 'ended before any input: nothing more');
  balanced(t, empty.stats);
  empty.destroy();

  const mid = new JitterCore({ sampleRate: 16000, adaptive: false });
  drive(mid, 0, 1000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []));
  drive(mid, 1000, 200, () => []);
  t.equal(mid.stats.state, 'concealing');
  mid.push(tone.frame(20), 1200);
  mid.end();
  t.not(mid.pull(1200), null, 'the last audio plays even below the target');
  let more = 0;
  while (mid.pull(1210) !== null) more++;
  t.ok(more <= 2, 'and then it ends');
  balanced(t, mid.stats);
  mid.destroy();
});

t.test('stereo in, stereo out, channels kept apart', async (t) => {
  const core = new JitterCore({ sampleRate: 48000, channels: 2 });
  const tone = new Tone(48000, 1000, 2);
  const d = drive(core, 0, 3000, (ms) => (ms % 20 === 0 ? [tone.frame(20)] : []));
  const out = concatArrays(d.out);
  t.same(channel(out, 2, 0), channel(out, 2, 1), 'both channels identical, as sent');
  t.equal(d.detector.count, 0);
  balanced(t, core.stats);
  core.destroy();
});

/** A producer Readable that emits 20 ms tone frames on a virtual clock with a skew and pseudo-random jitter. */
function producer(clock: VirtualClock, tone: Tone, ms: number, ppm: number, seed = 1): Readable {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const r = new Readable({ objectMode: true, highWaterMark: 1, read() {} });
  const n = Math.floor(ms / 20);
  let last = 0;
  for (let i = 0; i < n; i++) {
    const at = Math.max(last, (i * 20) / (1 + ppm * 1e-6) + Math.min(30, -8 * Math.log(1 - rand())));
    last = at;
    clock.setTimeout(() => {
      r.push(tone.frame(20));
      if (i === n - 1) r.push(null);
    }, at);
  }
  return r;
}

t.test('the stream: producer → jitterBuffer → VirtualSink on virtual time', async (t) => {
  const clock = new VirtualClock();
  const played: Int16Array[] = [];
  const sink = new VirtualSink({ clock, sampleRate: 48000, queueSizeMs: 50, onPlay: (d) => d && played.push(d) });
  const jb = jitterBuffer({ clock, sampleRate: 48000, channels: 1 });
  const tone = new Tone(48000, 1000);
  const done = pipeline(producer(clock, tone, 30_000, 1000), jb, sink);
  let maxHeld = 0;
  for (let ms = 0; ms < 32_000; ms += 1000) {
    await clock.advanceAsync(1000);
    if (ms > 2000 && ms < 29_000) maxHeld = Math.max(maxHeld, jb.bufferedMs);
  }
  await done;
  const det = new GlitchDetector({ sampleRate: 48000, frequency: 1000, amplitude: A });
  for (const p of played) det.feed(p);
  const s = jb.stats;
  const total = played.length * 480;
  t.ok(
    det.events.every((e) => e.at >= total - 960),
    'no glitch but the end of the stream',
  );
  t.equal(sink.stats.underrunTicks, 0, 'the sink never ran dry');
  t.equal(s.concealmentEvents, 0);
  t.ok(s.driftPpm > 700 && s.driftPpm < 1300, `drift estimated at ${s.driftPpm.toFixed(0)} ppm (+1000)`);
  t.ok(maxHeld <= s.targetDelayMs + 40, `held at most ${maxHeld.toFixed(1)} ms (target ${s.targetDelayMs} ms)`);
  t.equal(s.state, 'ended');
  t.equal(jb.bufferedMs, 0);
  t.equal(s.samplesOut + sink.stats.paddedSamples, played.length * 480, 'every frame pulled was played');
  t.ok(
    sink.stats.paddedSamples > 0 && sink.stats.paddedSamples < 480,
    `the last frame was short (${480 - sink.stats.paddedSamples} samples)`,
  );
  balanced(t, s);
});

t.test('the stream: writes never block, bad input errors the stream', async (t) => {
  const clock = new VirtualClock();
  const jb = new JitterBuffer({ clock, sampleRate: 16000, channels: 1 });
  const tone = new Tone(16000, 500);
  await clock.advanceAsync(0); // the stream finishes constructing (loading the resampler) on the next tick
  let blocked = 0;
  for (let i = 0; i < 200; i++) if (!jb.write(tone.frame(20))) blocked++;
  await clock.advanceAsync(0);
  t.equal(blocked, 0, 'write() never asks the producer to wait');
  t.equal(jb.stats.dropped.overflow, 3000 * 16, 'beyond the 1 s cap the oldest audio was dropped');
  t.equal(jb.bufferedMs, 1000);
  const err = new Promise<Error>((resolve) => jb.once('error', resolve));
  jb.write('not audio');
  const e = await err;
  t.type(e, FrameFormatError);
  t.equal((e as AudioPipelineError).code, 'ERR_NOT_A_FRAME');
});

t.test('the stream: without a format it waits for the first frame; with one it plays idle silence', async (t) => {
  const clock = new VirtualClock();
  const lazy = jitterBuffer({ clock });
  t.equal(lazy.stats.samplesIn, 0, 'stats before the first frame');
  t.equal(lazy.stats.targetDelayMs, 60);
  const got: AudioFrame[] = [];
  lazy.on('data', (f: AudioFrame) => got.push(f));
  await clock.advanceAsync(100);
  t.equal(got.length, 0, 'nothing to read before the format is known');
  const tone = new Tone(8000, 440, 2);
  lazy.write({ frame: tone.frame(20), seq: 1 });
  await clock.advanceAsync(0);
  t.ok(got.length > 0, 'reads start with the first frame');
  t.equal(got[0]!.sampleRate, 8000, 'at its rate');
  t.equal(got[0]!.channels, 2, 'and channels');
  lazy.destroy();

  const fixed = jitterBuffer({ clock, sampleRate: 8000, channels: 1 });
  const f = await new Promise<AudioFrame>((resolve) => fixed.once('data', resolve));
  t.equal(f.samplesPerChannel, 80);
  t.ok(f.data.every((v) => v === 0));
  fixed.destroy();

  const never = jitterBuffer({ clock });
  const ended = new Promise<void>((resolve) => never.on('end', resolve));
  never.resume();
  never.end();
  await ended;
  t.pass('no input and end(): the readable ends');

  const badFirst = jitterBuffer({ clock });
  const e = new Promise<Error>((resolve) => badFirst.once('error', resolve));
  badFirst.write(42);
  t.equal(((await e) as AudioPipelineError).code, 'ERR_NOT_A_FRAME', 'a bad first chunk errors');
});

t.test('the stream: a consumer that does not pace itself is held to maxAheadMs ahead of the clock', async (t) => {
  const clock = new VirtualClock();
  const jb = jitterBuffer({ clock, sampleRate: 8000, channels: 1, maxAheadMs: 500 });
  let frames = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_f, _e, cb) {
      frames++;
      cb();
    },
  });
  jb.pipe(sink);
  await clock.advanceAsync(0);
  t.equal(frames, 50, '500 ms of frames at once, then it waits');
  await clock.advanceAsync(1000);
  t.equal(frames, 150, 'then one frame per 10 ms of clock');
  jb.destroy();
  await clock.advanceAsync(100);
  t.equal(frames, 150, 'destroy stops it');
});
