/**
 * What the benchmarks measure with: process CPU, per-thread CPU (Linux /proc; rtc-node's native threads do
 * real work and process.cpuUsage() alone cannot say where), event-loop delay, memory after a full GC.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Full GC when the process runs with --expose-gc (the bench does); a no-op otherwise. */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export interface CpuSpan {
  /** ms of CPU (user + system, all threads) since start. */
  cpuMs(): number;
  /** ms of wall time since start. */
  wallMs(): number;
}

export function cpuSpan(): CpuSpan {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    cpuMs() {
      const d = process.cpuUsage(c0);
      return (d.user + d.system) / 1000;
    },
    wallMs: () => performance.now() - t0,
  };
}

/**
 * CPU ms per thread name since the first call (the main thread is "main"). Linux only: elsewhere it returns
 * {}. /proc counts in clock ticks (10 ms), so use it over seconds, not milliseconds.
 */
export function threadCpu(): () => Record<string, number> {
  const first = readThreads();
  return () => {
    const now = readThreads();
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) out[k] = v - (first[k] ?? 0);
    return out;
  };
}

function readThreads(): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 100 Hz ticks
      out[name] = (out[name] ?? 0) + ms;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/** Threads by name, counted (rtc-node starts one "AudioSourceCapt" thread per buffered AudioSource). */
export function threadCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out[name] = (out[name] ?? 0) + 1;
    }
  } catch {
    // not Linux
  }
  return out;
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  /** Node's histogram as recorded: whole intervals of the `resolution` ms sampling timer (delay + resolution). */
  raw: { p50: number; p99: number; max: number };
}

/**
 * Event-loop delay in ms: how late the loop ran a timer that was due, sampled every `resolutionMs`.
 *
 * `monitorEventLoopDelay` records the whole interval between two runs of its sampling timer, so an idle loop
 * reads `resolutionMs` (5.1 ms at 5 ms, measured); the delay is that minus the resolution, as
 * @fastify/under-pressure reports it. A percentile shifts with it: p99(delay) = p99(interval) − resolution.
 */
export function loopDelay(resolutionMs = 5): { stop(): LoopDelay } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return {
    stop() {
      h.disable();
      const ms = (ns: number) => ns / 1e6;
      const late = (ns: number) => round(Math.max(0, ms(ns) - resolutionMs));
      return {
        p50: late(h.percentile(50)),
        p99: late(h.percentile(99)),
        max: late(h.max),
        raw: { p50: round(ms(h.percentile(50))), p99: round(ms(h.percentile(99))), max: round(ms(h.max)) },
      };
    },
  };
}

export interface MemorySample {
  heapUsedMB: number;
  rssMB: number;
  externalMB: number;
}

export function memory(): MemorySample {
  const m = process.memoryUsage();
  const mb = (x: number) => round(x / 1048576, 2);
  return { heapUsedMB: mb(m.heapUsed), rssMB: mb(m.rss), externalMB: mb(m.external) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Median of a small sample. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Garbage collections and their total pause from now until `stop()` (a proxy for allocation rate). */
export function gcWatch(): { stop(): Promise<{ count: number; ms: number }> } {
  let count = 0;
  let ms = 0;
  const add = (entries: { duration: number }[]) => {
    for (const e of entries) {
      count++;
      ms += e.duration;
    }
  };
  const obs = new PerformanceObserver((list) => add(list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await sleep(20); // let the observer deliver
      add(obs.takeRecords());
      obs.disconnect();
      return { count, ms: round(ms, 1) };
    },
  };
}

/**
 * How much of a core this process gets right now: spin for `ms` of wall time and return CPU ÷ wall (1 on an
 * idle machine; 0.5 when another runnable thread shares the core). Recorded next to each concurrency run, so
 * a figure taken on a busy machine says so.
 */
export function cpuAvailability(ms = 300): number {
  const span = cpuSpan();
  let x = 0;
  while (span.wallMs() < ms) x += Math.sqrt(x + 1);
  spinResult = x; // keep the loop observable
  return round(Math.min(1, span.cpuMs() / span.wallMs()), 2);
}

export let spinResult = 0;
