/**
 * Soak: one call's whole realtime chain (decodePcm → resample → rechunk → jitterBuffer) on a VirtualClock for
 * an hour of virtual time, in seconds of real time. The producer writes 20 ms µ-law chunks, each late by up to
 * `jitterMs` (default 45 ms, the p99 seen from real WebSocket producers), on a clock `driftPpm` fast (default
 * +1000, ten times a bad crystal); a virtual sink takes one 10 ms frame per tick of a Pacer on the same
 * VirtualClock. Heap after a full GC is sampled every virtual minute: a leak or a growing queue shows as a
 * slope, and the jitter buffer's delay must stay put. (Heap and RSS per call at scale come from the
 * concurrency runs.)
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VirtualClock } from '../lib/clock.js';
import { Pacer } from '../lib/pacer.js';
import { loadSpeex } from '../lib/speex.js';
import { decodePcm } from '../transforms/decodePcm.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { jitterBuffer } from '../transforms/jitterBuffer.js';
import { mulawCallChunks } from './lib/signals.js';
import { gc, memory, round } from './lib/measure.js';

export interface SoakOptions {
  virtualMinutes: number;
  /** Producer clock error, ppm (positive: the producer is fast). */
  driftPpm?: number;
  /** Producer lateness: each chunk is late by up to this many ms (uniform). */
  jitterMs?: number;
}

export interface SoakResult {
  virtualMinutes: number;
  wallSeconds: number;
  driftPpm: number;
  jitterMs: number;
  heapStartMB: number;
  heapEndMB: number;
  /** Least-squares slope of heap after GC over the run, minutes 5 onwards. */
  heapSlopeKBPerHour: number;
  rssStartMB: number;
  rssEndMB: number;
  /** [virtual minute, heap MB] */
  heap: [number, number][];
  framesOut: number;
  underruns: number;
  /** ms of audio held between producer and sink at the end. */
  heldMsEnd: number;
  /** The jitter buffer's delay (ms) every virtual minute, and its counters at the end. */
  jitterDelayMs: [number, number][];
  jitter: unknown;
  summary: string;
}

/** A Writable that accepts one frame per pacer tick, like a direct-mode LiveKitSink on virtual time. */
class VirtualSink extends Writable {
  framesOut = 0;
  underruns = 0;
  #waiting: (() => void) | undefined;
  readonly #unsubscribe: () => void;
  constructor(pacer: Pacer) {
    super({ objectMode: true, highWaterMark: 1 });
    this.#unsubscribe = pacer.register((ticks) => {
      for (let t = 0; t < ticks; t++) {
        const w = this.#waiting;
        if (!w) {
          if (this.framesOut > 0) this.underruns++;
          continue;
        }
        this.#waiting = undefined;
        this.framesOut++;
        w();
      }
    });
  }
  override _write(_frame: unknown, _enc: BufferEncoding, cb: () => void): void {
    this.#waiting = cb;
  }
  override _final(cb: () => void): void {
    this.#unsubscribe();
    cb();
  }
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const driftPpm = opts.driftPpm ?? 1000;
  const jitterMs = opts.jitterMs ?? 45;
  await loadSpeex();
  const clock = new VirtualClock();
  const pacer = new Pacer({ clock });
  const chunks = mulawCallChunks();
  const head = decodePcm({ sampleRate: 8000, channels: 1, encoding: 'mulaw' });
  const jitter = jitterBuffer({ sampleRate: 48000, channels: 1, clock });
  const stages = [head, resample({ sampleRate: 48000, channels: 1 }), rechunk(), jitter];
  const sink = new VirtualSink(pacer);
  const done = pipeline([...stages, sink] as unknown as [Writable, Writable]);

  // producer: chunk i due at i × 20 ms on its own (drifting) clock, late by a random amount up to jitterMs
  const period = 20 / (1 + driftPpm / 1e6);
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  let i = 0;
  const produce = () => {
    head.write(chunks[i % chunks.length]!);
    i++;
    const due = i * period + rand() * jitterMs;
    clock.setTimeout(produce, Math.max(0, due - clock.now()));
  };
  clock.setTimeout(produce, 0);

  const t0 = performance.now();
  const heap: [number, number][] = [];
  const delay: [number, number][] = [];
  let rssStart = 0;
  for (let minute = 0; minute <= opts.virtualMinutes; minute++) {
    if (minute > 0) await clock.advanceAsync(60_000);
    gc();
    const m = memory();
    if (minute === 0) rssStart = m.rssMB;
    heap.push([minute, m.heapUsedMB]);
    delay.push([minute, round(jitter.stats.currentDelayMs, 1)]);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const held = stages.reduce((s, st) => s + ((st as { bufferedMs?: number }).bufferedMs ?? 0), 0);
  const jitterEnd = jitter.stats;
  head.end();
  await clock.advanceAsync(1000);
  sink.end();
  await done.catch(() => undefined);

  const fit = heap.filter(([m]) => m >= 5);
  const mx = fit.reduce((s, [m]) => s + m, 0) / fit.length;
  const my = fit.reduce((s, [, h]) => s + h, 0) / fit.length;
  const slope =
    fit.reduce((s, [m, h]) => s + (m - mx) * (h - my), 0) /
    Math.max(
      1e-9,
      fit.reduce((s, [m]) => s + (m - mx) ** 2, 0),
    );
  const end = memory();
  const result: SoakResult = {
    virtualMinutes: opts.virtualMinutes,
    wallSeconds: round(wallSeconds, 1),
    driftPpm,
    jitterMs,
    heapStartMB: heap[0]![1],
    heapEndMB: heap[heap.length - 1]![1],
    heapSlopeKBPerHour: round(slope * 60 * 1024, 0),
    rssStartMB: rssStart,
    rssEndMB: end.rssMB,
    heap,
    framesOut: sink.framesOut,
    underruns: sink.underruns,
    heldMsEnd: round(held, 1),
    jitterDelayMs: delay,
    jitter: jitterEnd,
    summary: '',
  };
  const settled = delay.filter(([m]) => m >= 5).map(([, d]) => d);
  result.summary =
    `${result.framesOut} frames out, ${result.underruns} sink underruns; jitter buffer delay ${Math.min(...settled)}–${Math.max(...settled)} ms ` +
    `after minute 5, drift estimate ${round(jitterEnd.driftPpm, 0)} ppm, ${jitterEnd.concealmentEvents} concealments, ` +
    `${round((jitterEnd.droppedSamples * 1000) / 48000, 0)} ms dropped; ${result.heldMsEnd} ms held at the end`;
  return result;
}
