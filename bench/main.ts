/**
 * The benchmark suite (started by bench/run.js). Every measurement runs in a fresh child process, one after
 * the other (never two at once: they would measure each other). Every figure of ours has a baseline from the
 * same run next to it. Writes bench/results/latest.json, bench/results/latest.md (the headline tables) and
 * bench/results/*.svg — the full default run only; a narrower run (`--quick`, `--only`, ...) writes
 * bench/results/partial.tmp (ignored by git).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConcurrencyResult } from './concurrency.js';
import type { ThroughputResult } from './throughput.js';
import type { SoakResult } from './soak.js';
import type { StagesResult } from './stages.js';
import type { LoadResult, RttResult, StallResult } from './twoWay.js';
import type { DecodeResult } from './decode.js';
import { decodeInputs } from './decodeInputs.js';
import { linePlot, type PlotSeries } from '../bin/report/svg.js';
import { barPlot } from './lib/plot.js';
import { round } from './lib/measure.js';

const root = process.env.BENCH_ROOT ?? process.cwd();
const build = process.env.BENCH_BUILD ?? path.join(root, 'node_modules', '.cache', 'livekit-audio-bench');
const resultsDir = path.join(root, 'bench', 'results');

function flag(name: string): string | undefined {
  const hit = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (hit === undefined) return undefined;
  return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : '';
}

const quick = flag('quick') !== undefined;
/** The full default run: the only one that writes bench/results/latest.* */
const canonical = ['quick', 'only', 'n', 'modes', 'seconds'].every((f) => flag(f) === undefined);
const only = flag('only')?.split(',');
const want = (section: string) => !only || only.includes(section);

/**
 * The configurations compared (bench/concurrency.ts): `ours` is the gateway as shipped (its chain, direct mode,
 * FFI capture, the track at the caller's rate); `previous` is the default before them (100 ms native queue,
 * rtc-node's captureFrame, the jitter buffer after the resampler, 48 kHz tracks).
 */
export const MODES = {
  naive: 'naive',
  previous: 'ours:q=100:rtc:jb48k:r=48000',
  ours: 'ours',
} as const;
/** Each choice of the shipped default undone alone, on the full realtime chain, next to the default. */
const VARIANTS: Record<number, string[]> = quick
  ? { 50: ['ours', 'fused'] }
  : {
      50: ['ours', 'ours:rtc', 'ours:r=48000', 'ours:jb48k:r=48000', 'ours:q=100', 'ours:q=80:c=40', 'fused'],
      100: ['ours', 'ours:r=48000', 'ours:q=80:c=40', 'fused'],
    };
/**
 * The plain compositions with default options (bench/concurrency.ts userCall), next to the tuned gateway chain at
 * the same N: the 48 kHz one (resample → rechunk → jitterBuffer() → 48 kHz sink) and the caller-rate one
 * (jitterBuffer() → 8 kHz sink).
 */
const DEFAULTS: Record<number, string[]> = quick
  ? { 50: ['user48k', 'user8k'] }
  : { 50: ['user48k'], 100: ['user48k', 'user8k', 'ours'], 150: ['user8k', 'ours'], 200: ['user8k'] };
/** The sink alone (ready frames, no producer, no chain), naive loop vs LiveKitSink configurations. */
const SINK_MODES = ['sink-naive', 'sink:rtc', 'sink', 'sink:q=0:rtc', 'sink:q=0', 'sink:q=80:c=40'];
/** Calls per machine in cluster mode: this many calls split over one process per core, measured together. */
const MACHINE_TOTALS = quick ? [50] : [150, 200, 250];
const SINK_N = quick ? [50] : [100];

const N_VALUES = (flag('n')?.split(',').map(Number) ?? (quick ? [10, 50] : [25, 50, 100, 150, 200, 300])).filter(
  (n) => n > 0,
);
const MODES_RUN = flag('modes')?.split(',') ?? [MODES.naive, MODES.previous, MODES.ours];

/** Window per run, s: 10 s after a 2 s warm-up keeps the whole suite within 10 minutes. */
function secondsFor(): number {
  const given = flag('seconds');
  if (given) return Number(given);
  return quick ? 3 : 10;
}

function runChild(args: string[], timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(build, 'bench', 'child.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // rtc-node logs one line per capture still pending when the child disposes it after reporting: teardown noise
    let teardownNoise = 0;
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (/Failed to send callback .*server is not configured/.test(line)) teardownNoise++;
        else if (line.trim()) process.stderr.write(line + '\n');
      }
    });
    child.on('exit', () => {
      if (teardownNoise)
        log(`  (rtc-node dropped ${teardownNoise} capture callbacks at dispose, after the figures were taken)`);
    });
    let out = '';
    let grace: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // the figures are in: give the teardown 10 s, not the whole timeout
      if (grace === undefined && out.includes('RESULT ')) grace = setTimeout(() => child.kill('SIGKILL'), 10_000);
    });
    const result = () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      return line === undefined ? undefined : (JSON.parse(line.slice(7)) as unknown);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      // a result reported before a slow teardown still counts
      const r = result();
      if (r !== undefined) resolve(r);
      else reject(new Error(`child ${args.join(' ')} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(grace);
      const r = result();
      if (r !== undefined) resolve(r);
      else reject(new Error(`child ${args.join(' ')} exited ${code} without a result`));
    });
  });
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

interface Results {
  meta: Record<string, unknown>;
  throughput?: ThroughputResult;
  stages?: StagesResult;
  concurrency?: ConcurrencyResult[];
  variants?: ConcurrencyResult[];
  defaults?: ConcurrencyResult[];
  sinkOnly?: ConcurrencyResult[];
  /** Cluster mode on this machine: for each total, one result per process (all run at the same time). */
  machine?: { total: number; processes: ConcurrencyResult[] }[];
  soak?: SoakResult;
  twoWay?: { rtt: RttResult[]; stall: StallResult[]; load: LoadResult[] };
  decode?: DecodeResult[];
  failures: string[];
  /** Runs whose process was so overloaded it did not report within the window + 12 s: "collapsed". */
  collapsed: string[];
}

async function concurrency(
  mode: string,
  n: number,
  seconds: number,
  results: Results,
): Promise<ConcurrencyResult | undefined> {
  const warmup = 2;
  try {
    const r = (await runChild(
      ['--task=concurrency', `--mode=${mode}`, `--n=${n}`, `--seconds=${seconds}`, `--warmup=${warmup}`],
      (seconds + warmup + 12) * 1000,
    )) as ConcurrencyResult;
    log(
      `  ${mode.padEnd(22)} N=${String(n).padStart(3)}: ${r.cpuMsPerStreamSec} ms CPU/stream-s (core available ${r.cpuAvailable}), loop p99 ${r.loopDelayMs.p99} ms, ` +
        `delivered ${r.deliveredRatio}, probe ${r.probe.glitches} glitches / ${r.probe.dropoutFrames} dropouts / ${r.probe.sinkUnderruns ?? '–'} underruns` +
        `${r.pacer ? ` (pacer: ${r.pacer.catchUpTicks} caught up, ${r.pacer.skippedTicks} skipped)` : ''}, ` +
        `latency ${latency(r)} ms`,
    );
    return r;
  } catch (err) {
    const msg = (err as Error).message;
    if (msg.includes('timed out')) {
      // its event loop was too far behind to even end the window: that is the result
      results.collapsed.push(`${mode} N=${n}`);
      log(`  ${mode.padEnd(22)} N=${String(n).padStart(3)}: COLLAPSED (no result within ${seconds + warmup + 12} s)`);
    } else {
      results.failures.push(`${mode} N=${n}: ${msg}`);
      log(`  ${mode} N=${n}: FAILED ${msg}`);
    }
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg();
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      platform: `${os.platform()} ${os.release()}`,
      quick,
    },
    failures: [],
    collapsed: [],
  };

  if (want('throughput')) {
    log('throughput (offline, × realtime per core)');
    const seconds = quick ? 20 : 120;
    results.throughput = (await runChild(
      ['--task=throughput', `--audio-seconds=${seconds}`, `--repeats=${quick ? 1 : 3}`],
      300_000,
    )) as ThroughputResult;
    const t = results.throughput;
    log(
      `  ours ${t.ours.realtime}×, ${t.engine} alone ${t.resamplerAlone.realtime}× (ratio ${t.oursOverResampler}), speex alone ${t.speexAlone.realtime}×, ${t.engine} + downmix alone ${t.conversionAlone.realtime}× (ratio ${t.oursOverConversion}), runs ${t.ours.realtimeRuns.join('/')}, naive ${t.naive.realtime}×, rtc resampler alone ${t.rtcResamplerAlone.realtime}×`,
    );
  }

  if (want('stages')) {
    log('per-call CPU of the realtime chain, stage by stage');
    results.stages = (await runChild(
      ['--task=stages', `--audio-seconds=${quick ? 20 : 120}`, `--repeats=${quick ? 1 : 3}`],
      300_000,
    )) as StagesResult;
    log(`  ${JSON.stringify(results.stages.msPerAudioSec)}`);
  }

  if (want('concurrency')) {
    log(`concurrency: N = ${N_VALUES.join(', ')}; modes ${MODES_RUN.join(', ')}`);
    results.concurrency = [];
    for (const n of N_VALUES) {
      for (const mode of MODES_RUN) {
        const r = await concurrency(mode, n, secondsFor(), results);
        if (r) results.concurrency.push(r);
      }
    }
  }

  if (want('variants')) {
    results.variants = [];
    for (const [n, modes] of Object.entries(VARIANTS)) {
      log(`sink configurations on the full chain at N = ${n}`);
      for (const mode of modes) {
        const reuse = results.concurrency?.find((r) => r.mode === mode && r.n === Number(n));
        const r = reuse ?? (await concurrency(mode, Number(n), secondsFor(), results));
        if (r) results.variants.push(r);
      }
    }
  }

  if (want('defaults')) {
    results.defaults = [];
    for (const [n, modes] of Object.entries(DEFAULTS)) {
      log(`default compositions at N = ${n}`);
      for (const mode of modes) {
        const reuse = results.concurrency?.find((r) => r.mode === mode && r.n === Number(n));
        const r = reuse ?? (await concurrency(mode, Number(n), secondsFor(), results));
        if (r) results.defaults.push(r);
      }
    }
  }

  if (want('sink')) {
    results.sinkOnly = [];
    for (const n of SINK_N) {
      log(`the sink alone at N = ${n}`);
      for (const mode of SINK_MODES) {
        const r = await concurrency(mode, n, secondsFor(), results);
        if (r) results.sinkOnly.push(r);
      }
    }
  }

  if (want('machine')) {
    const procs = os.availableParallelism();
    results.machine = [];
    for (const total of MACHINE_TOTALS) {
      const n = Math.round(total / procs);
      log(`cluster mode: ${total} calls as ${procs} processes × ${n}, at the same time (${MODES.ours})`);
      const runs = await Promise.all(
        Array.from({ length: procs }, () => concurrency(MODES.ours, n, secondsFor(), results)),
      );
      results.machine.push({ total, processes: runs.filter((r): r is ConcurrencyResult => r !== undefined) });
    }
  }

  if (want('twoway')) {
    const tw: NonNullable<Results['twoWay']> = { rtt: [], stall: [], load: [] };
    // the default (direct mode) over minutes; then a native queue, so the track plays on through the stall
    for (const [mode, queue, seconds] of [
      ['ours', 0, quick ? 12 : 120],
      ['naive', 200, quick ? 12 : 40],
      ['ours', 200, quick ? 12 : 40],
    ] as const) {
      log(`two-way: echo round trip over ${seconds} s, a 200 ms stall halfway, ${mode}, sink queue ${queue} ms`);
      const x = (await runChild(
        ['--task=twoway-rtt', `--mode=${mode}`, `--seconds=${seconds}`, `--queue=${queue}`],
        (seconds + 30) * 1000,
      )) as RttResult;
      tw.rtt.push(x);
      log(
        `  round trip p50 ${x.before} → after the stall ${x.afterStall} → end ${x.end} ms (growth ${x.growth}), caller held ≤ ${x.maxHeldMs} ms, ${x.heard}/${x.bursts} bursts, ${x.underruns} underruns`,
      );
    }
    log('two-way: a reader that stalls for 10 s (48 kHz), raw AudioStream vs LiveKitSource');
    for (const mode of ['raw', 'source']) {
      const x = (await runChild(['--task=twoway-stall', `--mode=${mode}`, '--seconds=10'], 60_000)) as StallResult;
      tw.stall.push(x);
      log(`  ${mode.padEnd(6)} heap +${x.heapGrowthKB} KB, RSS +${x.rssGrowthKB} KB, holds ${x.heldMs} ms`);
    }
    for (const n of quick ? [25] : [100, 150]) {
      const secs = quick ? 8 : 20;
      log(`two-way: ${n} echo calls in one gateway process for ${secs} s (callers in another)`);
      try {
        const x = (await runChild(
          ['--task=twoway-load', `--n=${n}`, `--seconds=${secs}`],
          (secs + 60) * 1000,
        )) as LoadResult;
        tw.load.push(x);
        log(
          `  loop p99 ${x.loopDelayMs.p99} ms (callers' ${x.callerLoopDelayMs.p99}), ${x.cpuMsPerCallSec} ms CPU/call-s, probe ${x.probe.glitches} glitches / ${x.probe.underruns} underruns, round trip p50 ${x.roundTripP50Ms.median} (worst call ${x.roundTripP50Ms.worst}) ms, underruns ${x.underruns.total} (worst call ${x.underruns.worstCall}), ${x.callsCompleted}/${n} calls`,
        );
      } catch (err) {
        results.failures.push(`twoway-load N=${n}: ${(err as Error).message}`);
        log(`  FAILED ${(err as Error).message}`);
      }
    }
    results.twoWay = tw;
  }

  if (want('decode')) {
    const minutes = quick ? 5 : 60;
    log(
      `compressed decode: ${minutes} min per format, decodeStream, decodeFile at the file rate and with its defaults, one child each`,
    );
    const inputs = decodeInputs(minutes, log);
    if (typeof inputs === 'string') results.failures.push(`decode: ${inputs}`);
    else {
      results.decode = [];
      for (const input of inputs) {
        for (const way of ['decodeStream', 'decodeFile', 'decodeFile-defaults'] as const) {
          try {
            const x = (await runChild(
              [
                '--task=decode',
                `--file=${input.file}`,
                `--format=${input.format}`,
                `--way=${way}`,
                `--rate=${input.rate}`,
              ],
              600_000,
            )) as DecodeResult;
            results.decode.push(x);
            log(
              `  ${input.format} ${way}: ${x.realtime}× realtime, peak RSS ${x.peakRssMB} MB (from ${x.baseRssMB}), first frame after ${x.firstFrameMs} ms`,
            );
          } catch (err) {
            results.failures.push(`decode ${input.format} ${way}: ${(err as Error).message}`);
          }
        }
      }
    }
  }

  if (want('soak')) {
    log('soak: 1 h of virtual time');
    results.soak = (await runChild(['--task=soak', `--minutes=${quick ? 10 : 60}`], 300_000)) as SoakResult;
    const s = results.soak;
    log(`  heap ${s.heapStartMB} → ${s.heapEndMB} MB (slope ${s.heapSlopeKBPerHour} KB/h) in ${s.wallSeconds} s`);
  }

  results.meta.wallSeconds = round((Date.now() - started) / 1000, 0);
  results.meta.loadAverageBefore = load0.map((x) => round(x, 2));
  results.meta.loadAverageAfter = os.loadavg().map((x) => round(x, 2));

  mkdirSync(resultsDir, { recursive: true });
  // only the full default run is a result; anything narrower goes to an ignored file (bench/results/*.tmp)
  const file = canonical ? 'latest.json' : 'partial.tmp';
  writeFileSync(path.join(resultsDir, file), JSON.stringify(results, null, 2) + '\n');
  const table = tables(results);
  if (canonical) {
    writeFileSync(path.join(resultsDir, 'latest.md'), table);
    writePlots(results);
  }
  process.stdout.write(table);
  log(`done in ${results.meta.wallSeconds} s → bench/results/${file}`);
  if (results.failures.length) {
    log(`failures:\n  ${results.failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

/** The probe's latency at the start → end of the window, or – when it has none (sink-only, or no markers back). */
function latency(x: ConcurrencyResult): string {
  const l = x.probe.latencyMs;
  return Number.isFinite(l.start) && l.start !== null ? `${l.start}→${l.end}` : '–';
}

/** Everything the probe call's listener would have noticed: glitches, silent frames, missed ticks. */
function probeFaults(x: ConcurrencyResult): number {
  return x.probe.glitches + x.probe.dropoutFrames + (x.probe.sinkUnderruns ?? 0) + (x.pacer?.skippedTicks ?? 0);
}

function tables(r: Results): string {
  const lines: string[] = [];
  const c = r.concurrency ?? [];
  const at = (mode: string, n: number) => c.find((x) => x.mode === mode && x.n === n);
  if (c.length) {
    lines.push(
      '### Concurrency',
      '',
      'Each cell: CPU ms per stream-second · event-loop delay p99 ms (how late a due timer ran: the interval histogram minus its 5 ms resolution) · probe faults (glitches + dropout frames + sink underruns) · probe latency at the start → end of the window, ms.',
      '',
    );
    lines.push(`| N | ${MODES_RUN.join(' | ')} |`, `|---|${MODES_RUN.map(() => '---').join('|')}|`);
    for (const n of N_VALUES) {
      const cells = MODES_RUN.map((m) => {
        const x = at(m, n);
        if (!x) return r.collapsed.includes(`${m} N=${n}`) ? '**collapsed**' : 'failed';
        return `${x.cpuMsPerStreamSec} · ${x.loopDelayMs.p99} · ${probeFaults(x)} · ${latency(x)}${x.deliveredRatio < 0.98 ? ` · **${Math.round(x.deliveredRatio * 100)}% delivered**` : ''}`;
      });
      lines.push(`| ${n} | ${cells.join(' | ')} |`);
    }
    const avail = c.map((x) => x.cpuAvailable);
    lines.push(
      '',
      `Share of a core a busy loop got before each run (1 = idle machine): ${Math.min(...avail)}–${Math.max(...avail)}. Load average ${String(r.meta.loadAverageBefore)} before, ${String(r.meta.loadAverageAfter)} after.`,
    );
    lines.push('', '### Memory per call (heap KB · RSS KB, after GC, at steady state)', '');
    lines.push(`| N | ${MODES_RUN.join(' | ')} |`, `|---|${MODES_RUN.map(() => '---').join('|')}|`);
    for (const n of N_VALUES) {
      lines.push(
        `| ${n} | ${MODES_RUN.map((m) => {
          const x = at(m, n);
          return x ? `${x.heapPerCallKB} · ${x.rssPerCallKB}` : '—';
        }).join(' | ')} |`,
      );
    }
    lines.push('');
  }
  const variantRows = (title: string, rows: ConcurrencyResult[]) => {
    lines.push(
      title,
      '',
      '| mode | N | CPU ms/stream-s | main thread | native threads | GC ms/stream-s | loop p99 ms | probe faults | latency ms | delivered | core available |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const v of rows) {
      const main = v.threadsMsPerStreamSec.main ?? NaN;
      const native = round(
        Object.entries(v.threadsMsPerStreamSec)
          .filter(([k]) => k !== 'main')
          .reduce((s, [, x]) => s + x, 0),
      );
      lines.push(
        `| ${v.mode} | ${v.n} | ${v.cpuMsPerStreamSec} | ${main} | ${native} | ${v.gcMsPerStreamSec} | ${v.loopDelayMs.p99} | ${probeFaults(v)} | ${latency(v)} | ${v.deliveredRatio} | ${v.cpuAvailable} |`,
      );
    }
    lines.push('');
  };
  if (r.defaults?.length) {
    variantRows(
      '### Default options: what a user composes from the README (user48k: decodePcm → resample → rechunk → jitterBuffer() → LiveKitSink 48 kHz; user8k: decodePcm → jitterBuffer() → LiveKitSink 8 kHz) next to the tuned gateway chain (ours)',
      r.defaults,
    );
  }
  if (r.variants?.length) variantRows('### Sink configurations on the full realtime chain', r.variants);
  if (r.collapsed.length)
    lines.push(`Collapsed (the process could not even end its window within 12 s): ${r.collapsed.join(', ')}.`, '');
  if (r.sinkOnly?.length) variantRows('### The sink alone (ready 10 ms frames, no chain)', r.sinkOnly);
  if (r.machine?.length) {
    lines.push(`### Calls per machine: cluster mode (${MODES.ours}, one process per core, measured together)`, '');
    lines.push(
      '| calls | process | CPU ms/stream-s | loop p99 ms | probe faults | latency ms | delivered |',
      '|---|---|---|---|---|---|---|',
    );
    for (const m of r.machine) {
      m.processes.forEach((p, i) =>
        lines.push(
          `| ${m.total} | ${i + 1} of ${m.processes.length}: ${p.n} calls | ${p.cpuMsPerStreamSec} | ${p.loopDelayMs.p99} | ${probeFaults(p)} | ${latency(p)} | ${p.deliveredRatio} |`,
        ),
      );
    }
    lines.push('');
  }
  if (r.decode?.length) {
    lines.push(
      '',
      `### Compressed decode (${r.decode[0]!.audioMinutes} min files, one process each, no forced GC)`,
      '',
      '| file | way | × realtime | peak RSS MB (at start) | first frame after, ms (wall, engine load included) |',
      '|---|---|---|---|---|',
      ...r.decode.map(
        (x) =>
          `| ${x.file} (${x.fileMB} MB) | ${x.way} | ${x.realtime} | ${x.peakRssMB} (${x.baseRssMB}) | ${x.firstFrameMs} |`,
      ),
      '',
    );
  }

  if (r.twoWay) {
    const tw = r.twoWay;
    lines.push(
      '### Two-way calls (gateway --echo: caller → jitter buffer → track → the way back → caller)',
      '',
      "Round trip, sent → played at a simulated Twilio caller, a 200 ms event-loop stall halfway through each call. naive = the loopback track's raw AudioStream, each frame sent as it arrives. With a 200 ms native queue the track plays on from rtc-node's thread through the stall, as a remote participant's does.",
      '',
      '| way back | sink queue ms | call s | p50 before the stall ms | p50 after it | p50 at the end | growth | p99 | caller held at most ms | bursts heard | caller underruns |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of tw.rtt) {
      lines.push(
        `| ${x.mode} | ${x.queueMs} | ${x.seconds} | ${x.before} | ${x.afterStall} | ${x.end} | ${x.growth} | ${x.p99} | ${x.maxHeldMs} | ${x.heard}/${x.bursts} | ${x.underruns} |`,
      );
    }
    lines.push(
      '',
      '| reader stalled 10 s (48 kHz mono) | heap + external growth KB | RSS growth KB | audio held ms |',
      '|---|---|---|---|',
    );
    for (const x of tw.stall)
      lines.push(
        `| ${x.mode === 'raw' ? 'raw AudioStream' : 'LiveKitSource'} | ${x.heapGrowthKB} | ${x.rssGrowthKB} | ${x.heldMs} |`,
      );
    lines.push(
      '',
      "| two-way calls | gateway loop p99 ms | callers' loop p99 ms | CPU ms/call-s | probe glitches · underruns | round trip p50 ms (median call · worst) | underruns (all · worst call) | calls completed |",
      '|---|---|---|---|---|---|---|---|',
    );
    for (const x of tw.load) {
      lines.push(
        `| ${x.n} | ${x.loopDelayMs.p99} | ${x.callerLoopDelayMs.p99} | ${x.cpuMsPerCallSec} | ${x.probe.glitches} · ${x.probe.underruns} | ${x.roundTripP50Ms.median} · ${x.roundTripP50Ms.worst} | ${x.underruns.total} · ${x.underruns.worstCall} | ${x.callsCompleted} |`,
      );
    }
    lines.push('');
  }
  if (r.throughput) {
    const t = r.throughput;
    lines.push('### Offline throughput (× realtime per core; 44.1 kHz stereo WAV → 48 kHz mono 10 ms frames)', '');
    lines.push('| pipeline | × realtime | GC/audio-min | GC ms/audio-min |', '|---|---|---|---|');
    for (const [name, x] of [
      ['ours: decodeWav → resample → rechunk → null', t.ours],
      [`the resampler alone (${t.engine}, as resample() uses it; mono in)`, t.resamplerAlone],
      [`${t.engine} + 2→1 downmix alone (stereo in; no streams, decoder, rechunk)`, t.conversionAlone],
      ['speex resampler alone (the previous engine; mono in)', t.speexAlone],
      ['naive: Buffer.concat + combineAudioFrames + AudioResampler', t.naive],
      ['rtc-node AudioResampler alone', t.rtcResamplerAlone],
    ] as const) {
      lines.push(`| ${name} | ${x.realtime} | ${x.gcPerAudioMin} | ${x.gcMsPerAudioMin} |`);
    }
    const b = t.breakdown;
    lines.push(
      '',
      `ours CPU ÷ resampler alone: **${t.oursOverResampler}** · ÷ resampler + downmix alone: **${t.oursOverConversion}** · ours × realtime per run: ${t.ours.realtimeRuns.join(', ')} · ours ÷ naive: **${t.speedupVsNaive}×**`,
      '',
    );
    lines.push(
      `Where ours spends it (ms CPU per audio-second, each part alone): decodeWav ${b.decodeWav} · downmix 2→1 ${b.downmix} · ${t.engine} ${b.resampler} (speex ${b.speex}) · rechunk ${b.rechunk} · whole pipeline ${b.total}`,
      '',
    );
  }
  if (r.stages) {
    const m = r.stages.msPerAudioSec;
    lines.push('### Per-call CPU of the realtime chain (ms CPU per second of audio, each stage alone)', '');
    lines.push(
      '| decodePcm µ-law | resample 8k→48k | rechunk 10 ms | jitter core @48k | same, overfull | jitter core @8k | 8k→48k resampler with drift ratio |',
      '|---|---|---|---|---|---|---|',
    );
    lines.push(
      `| ${m.decodePcm} | ${m.resample8to48} | ${m.rechunk10ms} | ${m.jitterCore48k} | ${m.jitterCore48kOverfull} | ${m.jitterCore8k} | ${m.resample8to48WithRatio} |`,
      '',
    );
    lines.push(
      'rtc-node FfiClient dispatch, µs of main-thread CPU per FFI event while N captures are pending: ' +
        r.stages.ffiDispatchUsPerEvent
          .map((d) => `N=${d.pending}: ${d.rtcNode} (one listener + Map: ${d.mapRouted})`)
          .join(' · '),
      '',
    );
  }
  if (r.soak) {
    const s = r.soak;
    lines.push(
      '### Soak (virtual time)',
      '',
      `${s.virtualMinutes} min of one call in ${s.wallSeconds} s: heap ${s.heapStartMB} → ${s.heapEndMB} MB (slope ${s.heapSlopeKBPerHour} KB/h), ${s.summary}`,
      '',
    );
  }
  return lines.join('\n') + '\n';
}

function writePlots(r: Results): void {
  const c = r.concurrency ?? [];
  /** One line per mode; a run that did not keep up (or collapsed) is drawn at `overloaded`, or left out if undefined. */
  const series = (metric: (x: ConcurrencyResult) => number, overloaded?: number): PlotSeries[] =>
    MODES_RUN.map((mode) => ({
      name: mode === MODES.ours ? 'ours (shipped)' : mode === MODES.previous ? `${mode} (previous default)` : mode,
      points: N_VALUES.flatMap((n) => {
        const x = c.find((y) => y.mode === mode && y.n === n);
        const keptUp = x !== undefined && x.deliveredRatio >= 0.95;
        if (keptUp) return [[n, overloaded === undefined ? metric(x) : Math.min(overloaded, metric(x))] as const];
        return overloaded === undefined ? [] : [[n, overloaded] as const];
      }),
    }));
  const plot = (file: string, title: string, yLabel: string, s: PlotSeries[], goal?: number) => {
    const ys = s.flatMap((x) => x.points.map((p) => p[1])).filter(Number.isFinite);
    if (goal !== undefined)
      s.push({
        name: `goal ${goal}`,
        color: '#999',
        points: [
          [0, goal],
          [Math.max(...N_VALUES), goal],
        ],
      });
    const top = Math.max(goal ?? 0, ...ys) * 1.1 || 1;
    writeFileSync(
      path.join(resultsDir, file),
      linePlot({
        title,
        xLabel: 'concurrent calls in one process',
        yLabel,
        series: s,
        yRange: [0, top],
        xRange: [0, Math.max(...N_VALUES)],
      }),
    );
  };
  if (c.length) {
    plot(
      'cpu-per-stream.svg',
      'CPU per stream-second, all threads (runs that kept up)',
      'ms CPU per stream-second',
      series((x) => x.cpuMsPerStreamSec),
      5,
    );
    plot(
      'loop-delay.svg',
      'Event-loop delay p99 (runs that fell behind drawn at 250)',
      'ms',
      series((x) => x.loopDelayMs.p99, 250),
      10,
    );
    plot(
      'probe-latency.svg',
      'Probe call latency at the end of the window (fell behind: drawn at 1000)',
      'ms',
      series((x) => x.probe.latencyMs.end, 1000),
    );
  }
  if (r.throughput) {
    const t = r.throughput;
    writeFileSync(
      path.join(resultsDir, 'throughput.svg'),
      barPlot({
        title: 'Offline throughput, × realtime per core',
        bars: [
          ['ours (stream)', t.ours.realtime],
          [`${t.engine} alone`, t.resamplerAlone.realtime],
          ['speex alone', t.speexAlone.realtime],
          ['naive (stream)', t.naive.realtime],
          ['rtc resampler alone', t.rtcResamplerAlone.realtime],
        ],
      }),
    );
  }
  if (r.sinkOnly?.length) {
    writeFileSync(
      path.join(resultsDir, 'sink-cpu.svg'),
      barPlot({
        title: `The sink alone, ${r.sinkOnly[0]!.n} streams: CPU ms per stream-second (all threads)`,
        bars: r.sinkOnly.map((x) => [x.mode, x.cpuMsPerStreamSec] as [string, number]),
        unit: ' ms',
      }),
    );
  }
  if (r.soak) {
    writeFileSync(
      path.join(resultsDir, 'soak-memory.svg'),
      linePlot({
        title: 'Soak: heap after GC vs virtual time',
        xLabel: 'virtual minutes',
        yLabel: 'heap MB',
        series: [{ name: 'heap used after GC', points: r.soak.heap }],
        yRange: [0, Math.max(...r.soak.heap.map((h) => h[1])) * 1.2],
      }),
    );
  }
}

/** `--replot`: rewrite latest.md and the plots from latest.json without measuring anything. */
function replot(): void {
  const results = JSON.parse(readFileSync(path.join(resultsDir, 'latest.json'), 'utf8')) as Results;
  writeFileSync(path.join(resultsDir, 'latest.md'), tables(results));
  writePlots(results);
  log('rewrote bench/results/latest.md and the plots from latest.json');
}

if (flag('replot') !== undefined) replot();
else await main();
