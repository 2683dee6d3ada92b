/**
 * Concurrency: N realtime calls in one process — each an 8 kHz µ-law producer writing 20 ms chunks on its own
 * timer (random phase), like N sockets — through the gateway's chain (gateway/chain.ts: decodePcm →
 * jitterBuffer → resample 48 kHz → rechunk 10 ms) into N LiveKitSinks with native AudioSources (no server: an
 * AudioSource works without a room). Run once per (mode, N) in a fresh child process. (The WebSocket layer is left out: its cost is the
 * same for every sink, and the clients would have to run on the same two cores.)
 *
 * Measured over the window after warm-up: CPU per stream-second (process.cpuUsage, all threads: rtc-node's
 * native threads do real work), per-thread CPU, event-loop delay, heap and RSS per call, audio delivered,
 * and one probe call looped back (bench/lib/probe.ts) for glitches and latency growth.
 *
 * Sink-only workloads isolate the sink (the file/TTS case, or a gateway's last stage): `sink-naive` is an
 * `await source.captureFrame(frame)` loop over ready 10 ms frames on a default AudioSource; `sink[:opts]` is an
 * endless Readable of ready 10 ms frames into a LiveKitSink. Both are paced by the sink alone.
 *
 * Modes: `naive` (bench/lib/naive.ts), and `ours` — the gateway as shipped: its chain, its sink defaults
 * (GATEWAY_QUEUE_SIZE_MS: direct mode on the shared pacer) and LiveKitSink's FFI capture — with options after
 * colons that undo one choice each, e.g. `ours:q=100:rtc:jb48k` (the previous default):
 *   q=<ms>  the sink's native queue (0 = direct mode; for `sink`, default LiveKitSink's default, 100)
 *   c=<ms>  capture size: frames handed to captureFrame (a rechunk before the sink; default 10)
 *   rtc     capture through rtc-node's captureFrame (`fastCapture: false`) instead of lib/ffiCapture.ts
 *   jb48k   the jitter buffer after the resampler, at 48 kHz (decodePcm → resample → rechunk → jitterBuffer)
 *   r=<Hz>  the published track's rate (default: the gateway's, the caller's 8 kHz, so no resampler runs on
 *           the main thread — WebRTC converts natively for the encoder; r=48000 resamples in the chain)
 * and `fused`: the same work without streams (bench/lib/fused.ts), driven by the shared pacer.
 */
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import { AudioSource, dispose, type AudioFrame } from '@livekit/rtc-node';
import { decodePcm } from '../transforms/decodePcm.js';
import { callChain, trackRate } from '../gateway/chain.js';
import { GATEWAY_QUEUE_SIZE_MS } from '../gateway/server.js';
import { realClock } from '../lib/clock.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { jitterBuffer, type JitterStats } from '../transforms/jitterBuffer.js';
import { LiveKitSink, DEFAULT_QUEUE_SIZE_MS } from '../sinks/LiveKitSink.js';
import { sharedPacer } from '../lib/pacer.js';
import { loadSpeex } from '../lib/speex.js';
import { NaiveCall } from './lib/naive.js';
import { FusedCall } from './lib/fused.js';
import { Probe, type ProbeResult } from './lib/probe.js';
import { mulawCallChunks, sineFrames } from './lib/signals.js';
import {
  cpuAvailability,
  cpuSpan,
  gc,
  gcWatch,
  loopDelay,
  memory,
  round,
  sleep,
  threadCounts,
  threadCpu,
  type LoopDelay,
} from './lib/measure.js';

export interface ConcurrencyOptions {
  mode: string;
  n: number;
  seconds: number;
  warmupSeconds: number;
}

export interface ConcurrencyResult {
  mode: string;
  n: number;
  seconds: number;
  /** CPU ms (all threads) per second of audio per call. */
  cpuMsPerStreamSec: number;
  /** CPU of the whole process, % of one core. */
  cpuPercent: number;
  /** Share of a core a busy loop got just before the run (1 = idle machine): see measure.ts cpuAvailability. */
  cpuAvailable: number;
  threadsMsPerStreamSec: Record<string, number>;
  threads: Record<string, number>;
  loopDelayMs: LoopDelay;
  /** Audio the sinks captured in the window ÷ (N × window): 1 = every call kept up. */
  deliveredRatio: number;
  /** Largest audio backlog held in JavaScript by one call at the end (ms). */
  maxBacklogMs: number;
  heapPerCallKB: number;
  rssPerCallKB: number;
  /** GC pause per stream-second (ms) and collections per second in the window: allocation pressure. */
  gcMsPerStreamSec: number;
  gcPerSec: number;
  errors: number;
  probe: ProbeResult & {
    /** ours: ticks (direct) or 10 ms periods (buffered, estimated) the probe's sink had nothing to play. */
    sinkUnderruns?: number;
    /** ours: the probe call's jitter buffer at the end of the window. */
    jitter?: Pick<
      JitterStats,
      'currentDelayMs' | 'targetDelayMs' | 'jitterMs' | 'concealmentEvents' | 'droppedSamples' | 'driftPpm'
    >;
  };
  /** Direct mode: the shared pacer over the window (ticks delivered late in a batch, ticks dropped by re-anchoring). */
  pacer?: { ticks: number; catchUpTicks: number; skippedTicks: number; reanchors: number; maxLateMs: number };
}

interface Call {
  write(chunk: Buffer): void;
  readonly source: AudioSource;
  /** ms of audio the call's sink has captured so far. */
  capturedMs(): number;
  backlogMs(): number;
  underruns(): number | undefined;
  jitter?(): JitterStats;
  errors(): number;
  close(): Promise<void>;
}

/** What every call sends: Twilio's format. */
const CALL_FORMAT = { encoding: 'mulaw', sampleRate: 8000, channels: 1 } as const;

interface OursOptions {
  queueSizeMs: number;
  captureMs: number;
  rtcCapture: boolean;
  jitterAt48k: boolean;
  trackRate: number;
}

type Mode =
  | { kind: 'naive' }
  | { kind: 'user'; trackRate: number }
  | { kind: 'sink-naive' }
  | { kind: 'fused' }
  | ({ kind: 'ours' } & OursOptions)
  | ({ kind: 'sink' } & OursOptions);

export function parseMode(mode: string): Mode {
  const [kind, ...opts] = mode.split(':');
  if (kind === 'naive' && opts.length === 0) return { kind };
  if (kind === 'sink-naive' && opts.length === 0) return { kind };
  if (kind === 'fused' && opts.length === 0) return { kind };
  // what a user composes from the README with every option left at its default: user48k, user8k
  if (kind === 'user48k' && opts.length === 0) return { kind: 'user', trackRate: 48000 };
  if (kind === 'user8k' && opts.length === 0) return { kind: 'user', trackRate: 8000 };
  if (kind !== 'ours' && kind !== 'sink') throw new Error(`unknown mode ${mode}`);
  const queueSizeMs = kind === 'ours' ? GATEWAY_QUEUE_SIZE_MS : DEFAULT_QUEUE_SIZE_MS;
  // the sink-only workload publishes 48 kHz unless told otherwise (r=)
  const o: OursOptions = {
    queueSizeMs,
    captureMs: 10,
    rtcCapture: false,
    jitterAt48k: false,
    trackRate: kind === 'ours' ? trackRate(CALL_FORMAT) : 48000,
  };
  for (const opt of opts) {
    const [k, v] = opt.split('=');
    if (k === 'q') o.queueSizeMs = Number(v);
    else if (k === 'c') o.captureMs = Number(v);
    else if (k === 'rtc') o.rtcCapture = true;
    else if (k === 'jb48k') o.jitterAt48k = true;
    else if (k === 'r') o.trackRate = Number(v);
    else throw new Error(`unknown option ${opt} in mode ${mode}`);
  }
  return { kind, ...o };
}

function naiveCall(): Call {
  const call = new NaiveCall();
  return {
    write: (chunk) => call.write(chunk),
    source: call.source,
    capturedMs: () => call.framesCaptured * 10,
    backlogMs: () => call.queuedMs,
    underruns: () => undefined,
    errors: () => call.errors,
    close: () => call.close(),
  };
}

function oursCall(o: OursOptions): Call {
  const rate = o.trackRate;
  const sink = new LiveKitSink({
    sampleRate: rate,
    channels: 1,
    queueSizeMs: o.queueSizeMs,
    fastCapture: !o.rtcCapture,
  });
  // the gateway's chain, or the previous one with the jitter buffer after the resampler
  const format = CALL_FORMAT;
  const chain = callChain({ format, sampleRate: rate, channels: 1, clock: realClock });
  const head = o.jitterAt48k ? decodePcm(format) : chain.decoder;
  const jitter = o.jitterAt48k ? jitterBuffer({ sampleRate: rate, channels: 1 }) : chain.jitter;
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = o.jitterAt48k
    ? [head, resample({ sampleRate: rate, channels: 1 }), rechunk(), jitter]
    : [head, ...chain.feeding, jitter, ...chain.playing];
  if (o.captureMs !== 10) stages.push(rechunk({ frameMs: o.captureMs }));
  return streamCall(head, stages, jitter, sink);
}

/** A call whose producer writes into `head` of `stages` (head first) → `sink`, with its jitter buffer's stats. */
function streamCall(
  head: Writable,
  stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[],
  jitter: { readonly stats: JitterStats },
  sink: LiveKitSink,
): Call {
  let errors = 0;
  const done = pipeline([...stages, sink] as unknown as [Writable, Writable]).catch(() => errors++);
  return {
    write: (chunk) => head.write(chunk),
    source: sink.source,
    capturedMs: () => sink.stats.msCaptured,
    backlogMs: () => sink.bufferedMs,
    underruns: () => sink.stats.underruns,
    jitter: () => jitter.stats,
    errors: () => errors,
    async close() {
      head.destroy();
      sink.destroy();
      await done;
    },
  };
}

/**
 * The plain composition a user writes from the docs, no option but the formats: decodePcm → (resample → rechunk
 * at 48 kHz) → jitterBuffer() → new LiveKitSink({ sampleRate, channels }).
 */
function userCall(rate: number): Call {
  const head = decodePcm(CALL_FORMAT);
  const jitter = jitterBuffer();
  const sink = new LiveKitSink({ sampleRate: rate, channels: 1 });
  const convert = rate === CALL_FORMAT.sampleRate ? [] : [resample({ sampleRate: rate, channels: 1 }), rechunk()];
  return streamCall(head, [head, ...convert, jitter], jitter, sink);
}

/** The chain without streams (bench/lib/fused.ts): JitterCore at 8 kHz + speex + fast capture on the shared pacer. */
function fusedCall(): Call {
  const call = new FusedCall();
  return {
    write: (chunk) => call.write(chunk),
    source: call.source,
    capturedMs: () => call.framesCaptured * 10,
    backlogMs: () => call.jitterStats.currentDelayMs,
    underruns: () => call.missedTicks,
    jitter: () => call.jitterStats,
    errors: () => call.errors,
    close: () => call.close(),
  };
}

/** Sink only, the naive way: await captureFrame over ready frames, on rtc-node's default 1000 ms queue. */
function sinkNaiveCall(frames: AudioFrame[]): Call {
  const source = new AudioSource(48000, 1);
  let captured = 0;
  let errors = 0;
  let stop = false;
  void (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await source.captureFrame(frames[i % frames.length]!);
        captured++;
      } catch {
        errors++;
        return;
      }
    }
  })();
  return {
    write: () => undefined,
    source,
    capturedMs: () => captured * 10,
    backlogMs: () => source.queuedDuration,
    underruns: () => undefined,
    errors: () => errors,
    async close() {
      stop = true;
      await source.close();
    },
  };
}

/** Sink only: an endless Readable of ready 10 ms frames into a LiveKitSink. */
function sinkCall(o: OursOptions, frames: AudioFrame[]): Call {
  const sink = new LiveKitSink({
    sampleRate: o.trackRate,
    channels: 1,
    queueSizeMs: o.queueSizeMs,
    fastCapture: !o.rtcCapture,
  });
  let i = 0;
  const source = new Readable({
    objectMode: true,
    highWaterMark: 1,
    read() {
      this.push(frames[i++ % frames.length]);
    },
  });
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = [source];
  if (o.captureMs !== 10) stages.push(rechunk({ frameMs: o.captureMs }));
  let errors = 0;
  const done = pipeline([...stages, sink] as unknown as [Readable, Writable]).catch(() => errors++);
  return {
    write: () => undefined,
    source: sink.source,
    capturedMs: () => sink.stats.msCaptured,
    backlogMs: () => sink.bufferedMs,
    underruns: () => sink.stats.underruns,
    errors: () => errors,
    async close() {
      source.destroy();
      sink.destroy();
      await done;
    },
  };
}

/** A realtime producer: 20 ms chunks at absolute deadlines from a random phase; a late timer sends the backlog. */
function startProducer(call: Call, chunks: Buffer[], onWrite?: (at: number) => void): () => void {
  let i = 0;
  let next = performance.now() + Math.random() * 20;
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    while (next <= now + 0.5) {
      call.write(chunks[i++ % chunks.length]!);
      onWrite?.(now);
      next += 20;
    }
    timer = setTimeout(tick, next - performance.now());
  };
  timer = setTimeout(tick, next - performance.now());
  return () => clearTimeout(timer);
}

export async function runConcurrency(
  opts: ConcurrencyOptions,
  report: (result: ConcurrencyResult) => void = () => undefined,
): Promise<ConcurrencyResult> {
  const mode = parseMode(opts.mode);
  const available = cpuAvailability();
  await loadSpeex();
  const chunks = mulawCallChunks();
  const frames = sineFrames(mode.kind === 'sink' ? mode.trackRate : 48000);
  gc();
  const mem0 = memory();

  const calls: Call[] = [];
  const stops: (() => void)[] = [];
  let probe: Probe | undefined;
  for (let k = 0; k < opts.n; k++) {
    const call =
      mode.kind === 'naive'
        ? naiveCall()
        : mode.kind === 'sink-naive'
          ? sinkNaiveCall(frames)
          : mode.kind === 'fused'
            ? fusedCall()
            : mode.kind === 'sink'
              ? sinkCall(mode, frames)
              : mode.kind === 'user'
                ? userCall(mode.trackRate)
                : oursCall(mode);
    calls.push(call);
    if (k === 0) probe = new Probe(call.source);
    // sink-only workloads have no producer: the sink pulls ready frames (and the probe has no latency)
    if (mode.kind === 'naive' || mode.kind === 'ours' || mode.kind === 'fused' || mode.kind === 'user') {
      stops.push(startProducer(call, chunks, k === 0 ? (at) => probe!.wrote(at) : undefined));
    }
  }

  await sleep(opts.warmupSeconds * 1000);
  gc();
  const mem1 = memory();
  const captured0 = calls.reduce((s, c) => s + c.capturedMs(), 0);
  const direct =
    mode.kind === 'fused' ||
    (mode.kind === 'user' && DEFAULT_QUEUE_SIZE_MS === 0) ||
    ((mode.kind === 'ours' || mode.kind === 'sink') && mode.queueSizeMs === 0);
  const pacer0 = sharedPacer().stats;
  const underruns0 = calls[0]!.underruns();
  const threads = threadCpu();
  const cpu = cpuSpan();
  const gcs = gcWatch();
  const delay = loopDelay();
  probe!.start();
  await sleep(opts.seconds * 1000);
  const loopDelayMs = delay.stop();
  const cpuMs = cpu.cpuMs();
  const wallMs = cpu.wallMs();
  const perThread = threads();
  const captured = calls.reduce((s, c) => s + c.capturedMs(), 0) - captured0;
  const maxBacklogMs = Math.max(...calls.map((c) => c.backlogMs()));
  const errors = calls.reduce((s, c) => s + c.errors(), 0);
  const threadNames = threadCounts();
  const gcWindow = await gcs.stop();
  const pacer1 = sharedPacer().stats;
  const underruns1 = calls[0]!.underruns();
  const j = calls[0]!.jitter?.();
  const probeResult = await probe!.stop();

  for (const stop of stops) stop();
  const streamSec = (opts.n * wallMs) / 1000;
  const threadsMsPerStreamSec: Record<string, number> = {};
  for (const [name, ms] of Object.entries(perThread)) if (ms > 0) threadsMsPerStreamSec[name] = round(ms / streamSec);
  const result: ConcurrencyResult = {
    mode: opts.mode,
    n: opts.n,
    seconds: round(wallMs / 1000, 1),
    cpuMsPerStreamSec: round(cpuMs / streamSec),
    cpuPercent: round((cpuMs / wallMs) * 100, 0),
    cpuAvailable: available,
    threadsMsPerStreamSec,
    threads: threadNames,
    loopDelayMs,
    deliveredRatio: round(captured / (opts.n * wallMs), 3),
    maxBacklogMs: round(maxBacklogMs, 0),
    heapPerCallKB: round(((mem1.heapUsedMB - mem0.heapUsedMB) * 1024) / opts.n, 1),
    gcMsPerStreamSec: round(gcWindow.ms / streamSec, 3),
    gcPerSec: round((gcWindow.count * 1000) / wallMs, 1),
    rssPerCallKB: round(((mem1.rssMB - mem0.rssMB) * 1024) / opts.n, 1),
    errors,
    probe: {
      ...probeResult,
      ...(underruns0 !== undefined && underruns1 !== undefined && { sinkUnderruns: underruns1 - underruns0 }),
      ...(j && {
        jitter: {
          currentDelayMs: round(j.currentDelayMs, 1),
          targetDelayMs: round(j.targetDelayMs, 1),
          jitterMs: round(j.jitterMs, 1),
          concealmentEvents: j.concealmentEvents,
          droppedSamples: j.droppedSamples,
          driftPpm: round(j.driftPpm, 0),
        },
      }),
    },
    ...(direct && {
      pacer: {
        ticks: pacer1.ticks - pacer0.ticks,
        catchUpTicks: pacer1.catchUpTicks - pacer0.catchUpTicks,
        skippedTicks: pacer1.skippedTicks - pacer0.skippedTicks,
        reanchors: pacer1.reanchors - pacer0.reanchors,
        maxLateMs: round(pacer1.maxLateMs, 1),
      },
    }),
  };

  // report before teardown: an overloaded process may take long to wind down, and the figures are taken
  report(result);
  await Promise.race([Promise.all(calls.map((c) => c.close().catch(() => undefined))), sleep(5000)]);
  await Promise.race([dispose(), sleep(3000)]);
  return result;
}
