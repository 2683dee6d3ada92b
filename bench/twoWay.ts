/**
 * Two-way calls: the gateway's way back (gateway/playback.ts over a LiveKitSource) against rtc-node's raw
 * AudioStream read naively, in the same run.
 *
 * - rtt: one Twilio echo call (`gateway --echo`: caller → jitter buffer → LiveKitSink → local track → the way back
 *   → caller) for `seconds`, the caller in another process (bench/lib/twilioCaller.ts: round trip from tone bursts,
 *   sent → played at the caller). Halfway, the gateway's event loop is stalled for 200 ms (a GC pause, a slow
 *   request). `ours` is the gateway as shipped; `naive` reads the loopback track's AudioStream with `for await` and
 *   sends each frame as it comes (no pacing, no bound): what a first implementation does. With `queueMs` > 0 the
 *   sink keeps a native queue, so the track goes on playing from rtc-node's own thread through the stall — as a
 *   remote participant's audio does — and its frames pile up for the stalled reader: the case the pacing and the
 *   catch-up are for.
 * - stall: memory held by a reader that stops reading for 10 s while 48 kHz audio keeps coming — a raw AudioStream
 *   (rtc-node enqueues every frame) against a LiveKitSource (maxBufferMs 200).
 * - load: N two-way echo calls in one gateway process (callers in another): the gateway's event-loop delay and
 *   CPU, each caller's underruns, and one probe call carrying a sine checked for glitches on its way back.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame, AudioStream, dispose } from '@livekit/rtc-node';
import { createGateway, type GatewayOptions } from '../gateway/server.js';
import type { ConnectionRecord, SinkFactory } from '../gateway/connection.js';
import { createLoopback } from '../room/loopback.js';
import { LiveKitSource } from '../sources/LiveKitSource.js';
import { quantile } from '../lib/stats.js';
import { twilioCall, type CallerResult } from './lib/twilioCaller.js';
import { cpuSpan, gc, loopDelay, memory, round, sleep, type LoopDelay } from './lib/measure.js';
import { sineFrames } from './lib/signals.js';

export interface RttResult {
  mode: 'ours' | 'naive';
  seconds: number;
  queueMs: number;
  /** Round trip p50 before the stall, in the 5 s after it, and over the last third of the call, ms. */
  before: number;
  afterStall: number;
  end: number;
  /** end − before: what the stall left behind. */
  growth: number;
  p99: number;
  bursts: number;
  heard: number;
  maxHeldMs: number;
  underruns: number;
  playback: ConnectionRecord['playback'];
}

export interface StallResult {
  mode: 'raw' | 'source';
  seconds: number;
  heapGrowthKB: number;
  rssGrowthKB: number;
  /** Audio held at the end, ms (LiveKitSource: bufferedMs; raw: what 48 kHz mono int16 the heap growth is). */
  heldMs: number;
}

export interface LoadResult {
  n: number;
  seconds: number;
  loopDelayMs: LoopDelay;
  callerLoopDelayMs: LoopDelay;
  cpuMsPerCallSec: number;
  rssMB: number;
  probe: { glitches: number; underruns: number; mediaReceived: number };
  /** Across the other calls: their round trip p50 (median of calls, worst call) and underruns. */
  roundTripP50Ms: { median: number; worst: number };
  underruns: { total: number; worstCall: number };
  callsCompleted: number;
}

/** The naive way back: the loopback track's raw AudioStream, every frame sent as it arrives. */
function naiveEcho(queueSizeMs: number): SinkFactory {
  return async (info) => {
    const lb = createLoopback({ sampleRate: info.sampleRate, channels: info.channels, queueSizeMs, record: false });
    const out = info.outbound!;
    const stream = new AudioStream(lb.track, { sampleRate: out.format.sampleRate, numChannels: 1 });
    return {
      sink: lb.sink,
      returnAudio: Readable.from(stream as unknown as AsyncIterable<AudioFrame>, { objectMode: true }),
      close: () => lb.close(),
    };
  };
}

function gatewayFor(mode: 'ours' | 'naive', records: ConnectionRecord[], queueSizeMs = 0) {
  const opts: GatewayOptions = {
    port: 0,
    echo: true,
    queueSizeMs,
    // every caller comes from 127.0.0.1: the per-address cap (64) would refuse most of them
    maxCallsPerIp: 1000,
    maxCalls: 300,
    log: (r) => records.push(r),
    warn: () => undefined,
  };
  if (mode === 'naive') {
    opts.sink = naiveEcho(queueSizeMs);
    // no pacing and no catch-up: frames go out as they come
    opts.playback = { maxAheadFrames: 1e9, maxLagMs: 1e9 };
  }
  return createGateway(opts);
}

/** Run callers in a child process (bench/child.ts --task=twoway-callers) and read its RESULT line. */
function callersProcess(url: string, n: number, seconds: number): Promise<{ calls: CallerResult[]; loop: LoopDelay }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [process.argv[1]!, '--task=twoway-callers', `--url=${url}`, `--n=${n}`, `--seconds=${seconds}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)) as { calls: CallerResult[]; loop: LoopDelay });
      else reject(new Error(`callers exited ${code} without a result`));
    });
  });
}

/** The callers' process: n Twilio calls at once (the first a sine probe when n > 1). */
export async function runCallers(url: string, n: number, seconds: number) {
  const loop = loopDelay();
  const calls = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await sleep((i * 20) / n); // spread the 20 ms slots like independent phones
      return twilioCall({ url, seconds, signal: n > 1 && i === 0 ? 'sine' : 'bursts' });
    }),
  );
  return { calls, loop: loop.stop() };
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

export async function runRtt(mode: 'ours' | 'naive', seconds: number, queueMs: number): Promise<RttResult> {
  const records: ConnectionRecord[] = [];
  const gw = gatewayFor(mode, records, queueMs);
  const { port } = await gw.listen();
  const stallAtS = seconds / 2;
  const stall = setTimeout(() => busyWait(200), stallAtS * 1000 + 1000);
  const { calls } = await callersProcess(`ws://127.0.0.1:${port}/twilio`, 1, seconds);
  clearTimeout(stall);
  await gw.close();
  const c = calls[0]!;
  const at = c.roundTripAtS;
  const pick = (from: number, to: number) => c.roundTripMs.filter((_, i) => at[i]! >= from && at[i]! < to);
  const p50 = (xs: number[]) => round(quantile(xs, 0.5), 1);
  const before = p50(pick(1, stallAtS));
  const end = p50(pick((2 * seconds) / 3, seconds + 1));
  await dispose();
  return {
    mode,
    seconds,
    queueMs,
    before,
    afterStall: p50(pick(stallAtS + 1.5, stallAtS + 6.5)),
    end,
    growth: round(end - before, 1),
    p99: round(quantile(c.roundTripMs, 0.99), 1),
    bursts: c.bursts,
    heard: c.roundTripMs.length,
    maxHeldMs: c.maxHeldMs,
    underruns: c.underruns,
    playback: records[0]?.playback ?? null,
  };
}

export async function runStall(mode: 'raw' | 'source', seconds: number): Promise<StallResult> {
  const lb = createLoopback({ sampleRate: 48000, channels: 1, record: false });
  const second = sineFrames(48000);
  const frames = function* () {
    for (let i = 0; i < (seconds + 2) * 100; i++) {
      const f = second[i % 100]!;
      yield new AudioFrame(f.data.slice(), f.sampleRate, f.channels, f.samplesPerChannel);
    }
  };
  const playing = pipeline(Readable.from(frames()), lb.sink);
  let source: LiveKitSource | undefined;
  let raw: ReadableStreamDefaultReader<AudioFrame> | undefined;
  await sleep(500);
  gc();
  const m0 = memory();
  if (mode === 'source') source = new LiveKitSource(lb.track, { sampleRate: 48000 });
  else raw = new AudioStream(lb.track, { sampleRate: 48000, numChannels: 1 }).getReader();
  // the reader stalls: nothing is read for `seconds`
  await sleep(seconds * 1000);
  gc();
  const m1 = memory();
  const heapGrowthKB = round((m1.heapUsedMB - m0.heapUsedMB + m1.externalMB - m0.externalMB) * 1024, 0);
  const result: StallResult = {
    mode,
    seconds,
    heapGrowthKB,
    rssGrowthKB: round((m1.rssMB - m0.rssMB) * 1024, 0),
    heldMs: source ? round(source.bufferedMs, 0) : await drainMs(raw!),
  };
  source?.destroy();
  await raw?.cancel();
  lb.sink.destroy();
  await playing.catch(() => undefined);
  await lb.close();
  await dispose();
  return result;
}

/** Read what a stalled raw reader holds (reads that resolve at once) and return its duration, ms. */
async function drainMs(reader: ReadableStreamDefaultReader<AudioFrame>): Promise<number> {
  let ms = 0;
  for (;;) {
    const next = await Promise.race([reader.read(), sleep(5).then(() => null)]);
    if (next === null || next.done) return round(ms, 0);
    ms += (next.value.samplesPerChannel / next.value.sampleRate) * 1000;
  }
}

export async function runLoad(n: number, seconds: number): Promise<LoadResult> {
  const records: ConnectionRecord[] = [];
  const gw = gatewayFor('ours', records);
  const { port } = await gw.listen();
  // the gateway's window: from the moment every call is up (2 s in) to 1 s before they end
  const measured = (async () => {
    await sleep(2500);
    const loop = loopDelay();
    const cpu = cpuSpan();
    await sleep((seconds - 3.5) * 1000);
    return { loop: loop.stop(), cpuMs: cpu.cpuMs(), wallMs: cpu.wallMs(), rss: memory().rssMB };
  })();
  const callers = callersProcess(`ws://127.0.0.1:${port}/twilio`, n, seconds);
  const [m, { calls, loop: callerLoop }] = await Promise.all([measured, callers]);
  await gw.close();
  await dispose();
  const probe = calls[0]!;
  const others = calls.slice(1);
  const p50s = others.map((c) => quantile(c.roundTripMs, 0.5)).filter(Number.isFinite);
  const underruns = others.map((c) => c.underruns);
  return {
    n,
    seconds,
    loopDelayMs: m.loop,
    callerLoopDelayMs: callerLoop,
    cpuMsPerCallSec: round(m.cpuMs / (m.wallMs / 1000) / n, 2),
    rssMB: m.rss,
    probe: { glitches: probe.glitches, underruns: probe.underruns, mediaReceived: probe.mediaReceived },
    roundTripP50Ms: { median: round(quantile(p50s, 0.5), 1), worst: round(Math.max(...p50s), 1) },
    underruns: { total: underruns.reduce((a, b) => a + b, 0), worstCall: Math.max(0, ...underruns) },
    callsCompleted: records.length,
  };
}
