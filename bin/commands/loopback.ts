/**
 * `livekit-audio loopback [file]`: the whole pipeline into rtc-node's local loopback (no server) —
 *
 *   file → decodeWav | decodeFile → resample → rechunk → LiveKitSink → LocalAudioTrack → AudioStream
 *
 * — records what comes back, checks it sample by sample against what went into the sink, and reports
 * pacing, first-audio latency and the sink's stats (stdout, DIR/report.json, DIR/report.svg, DIR/received.wav).
 * With no file it generates a 4 s test signal (sweep, chord, beeps) at 48 kHz and uses that.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable, Transform, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { dispose } from '@livekit/rtc-node';
import { ConfigError } from '../../lib/errors.js';
import { AudioFrame, concatSamples, createFrame } from '../../lib/frames.js';
import { alignAudio, createLoopback, type AlignResult, type Loopback } from '../../room/loopback.js';
import { linePlot, stackPlots, type PlotSeries } from '../report/svg.js';
import { decodeFile, type DecodedFileFormat } from '../../transforms/decodeFile.js';
import { decodeWav, type WavFormatInfo } from '../../transforms/decodeWav.js';
import { rechunk } from '../../transforms/rechunk.js';
import { resample } from '../../transforms/resample.js';
import { DEFAULT_QUEUE_SIZE_MS, type LiveKitSinkStats } from '../../sinks/LiveKitSink.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import { realClock, type Clock } from '../../lib/clock.js';
import {
  checkInputFile,
  describeError,
  EXIT,
  exitCodeFor,
  intArg,
  interruptible,
  usageError,
  type Command,
  type ExitCode,
} from './command.js';
import { failureJson, wantsJson, writeJson, toJson, type JsonHead } from './jsonReport.js';
import { durationFromFormat, progressWanted, startProgress, type ProgressState } from './progress.js';
import { receiveAll, receiveDeadlineMs, samplesToAwait, type ReceiveResult } from './receiveAll.js';

const usage = `livekit-audio loopback — play audio through the whole pipeline into rtc-node's local loopback
(AudioSource → LocalAudioTrack → AudioStream; no LiveKit server) and check what comes back.

Usage:
  livekit-audio loopback [file] [--out DIR] [--rate 48000] [--channels 1] [--queue-ms N] [--direct]
                         [--prebuffer-ms N] [--json] [--quiet | --progress]

  [file]          a WAV file (streamed through decodeWav), or MP3/Opus/FLAC/Ogg/AAC (decodeFile). Default: a
                  generated 4 s test signal (sweep, chord, beeps) at 48 kHz, saved as DIR/sample.wav.
Options:
  --out DIR       Where to write received.wav, report.json and report.svg. Default ./out.
  --rate HZ       Rate of the track (a multiple of 100). Default 48000.
  --channels N    Channels of the track, 1 or 2. Default 1.
  --queue-ms N    The AudioSource's native queue, a multiple of 10; 0 = direct mode (the sink's own 10 ms
                  scheduler paces the audio), ≥ 10 = buffered. Default ${DEFAULT_QUEUE_SIZE_MS}.
  --direct        Direct mode: the same as --queue-ms 0.
  --prebuffer-ms N
                  Buffered mode: hold the first N ms before starting playback. Default 0.
  --json          Print one JSON report on stdout instead of the text (the fields of DIR/report.json, plus
                  command, ok, exitCode; on a failure command, ok, exitCode, error).
  --quiet         Print nothing but errors and the --json report (no text report, no progress line).
  --progress      Draw the progress line on stderr even when it is not a terminal.

On a terminal, stderr shows a progress line (seconds of audio played of the total, underruns so far).
Exit codes: 0 the audio came back sample-exact, 1 it did not (or the pipeline failed), 2 bad invocation,
3 the input file is missing, unreadable or undecodable, 130 interrupted.`;

export interface LoopbackArgs {
  file: string | undefined;
  out: string;
  sampleRate: number;
  channels: number;
  queueSizeMs: number;
  prebufferMs: number;
  quiet: boolean;
  /** Print the report as JSON on stdout. */
  json: boolean;
  /** Force the progress line on (stderr not a terminal). */
  progress: boolean;
}

export interface LoopbackReport {
  input: { file: string; generated: boolean; sampleRate: number | undefined; channels: number | undefined };
  track: { sampleRate: number; channels: number; mode: 'buffered' | 'direct'; queueSizeMs: number };
  /** The audio was resampled or remixed on the way: the comparison is against the frames given to the sink. */
  resampled: boolean;
  durationMs: number;
  wallMs: number;
  /** Wall time / audio duration: 1 is real time. */
  pacingRatio: number;
  /** From the start of the pipeline to the arrival of the first received sample of the audio. */
  firstAudioLatencyMs: number | null;
  /** From the start of the pipeline to the sink's first captureFrame (decoder and resampler start-up). */
  firstCaptureMs: number | null;
  sampleExact: boolean;
  alignment: AlignResult & { offsetMs: number };
  /** The wait for the last samples to come back: how many were awaited, how many came, how long it took. */
  receive: ReceiveResult;
  cpuMsPerAudioSecond: number;
  sink: LiveKitSinkStats;
  files: { received: string; report: string; plot: string; sample?: string };
}

/** `--json` on stdout: the report with the fields every command's JSON starts with. */
export type LoopbackJson = JsonHead & LoopbackReport;

export interface LoopbackIo {
  out?: { write(s: string): unknown };
  /** stderr writer; `isTTY` turns the progress line on. */
  err?: { write(s: string): unknown; isTTY?: boolean };
  /** Abort = Ctrl-C. Default: SIGINT. */
  signal?: AbortSignal;
  /** The progress line's clock. Default realClock. */
  clock?: Clock;
}

export async function runLoopback(args: string[], io: LoopbackIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  const fail = (code: ExitCode, e: unknown, line: string): ExitCode => {
    err.write(line + '\n');
    if (wantsJson(args)) writeJson(out, failureJson('loopback', code, e));
    return code;
  };
  let a: LoopbackArgs;
  try {
    a = parseLoopbackArgs(args);
  } catch (e) {
    return fail(EXIT.usage, e, usageError('loopback', e));
  }
  const interrupt = interruptible(io.signal);
  const showProgress = progressWanted(a, err.isTTY);
  const watch = (read: () => ProgressState) => {
    if (!showProgress) return () => undefined;
    const ticker = startProgress({ read, write: (s) => err.write(s), clock: io.clock ?? realClock });
    return () => ticker.stop();
  };
  try {
    if (a.file !== undefined) await checkInputFile(a.file);
    const report = await loopbackReport(a, interrupt.signal, watch);
    const exitCode = report.sampleExact ? EXIT.ok : EXIT.failed;
    if (a.json) writeJson(out, { command: 'loopback', ok: exitCode === EXIT.ok, exitCode, ...report });
    else if (!a.quiet) out.write(formatReport(report));
    return exitCode;
  } catch (e) {
    if (interrupt.signal.aborted)
      return fail(EXIT.interrupted, new Error('interrupted'), 'livekit-audio loopback: interrupted');
    return fail(exitCodeFor(e), e, `livekit-audio loopback: ${describeError(e)}`);
  } finally {
    interrupt.release();
  }
}

export function parseLoopbackArgs(args: string[]): LoopbackArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      rate: { type: 'string' },
      channels: { type: 'string' },
      'queue-ms': { type: 'string' },
      direct: { type: 'boolean' },
      'prebuffer-ms': { type: 'string' },
      quiet: { type: 'boolean' },
      json: { type: 'boolean' },
      progress: { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new ConfigError('ERR_LOOPBACK_ARGS', 'one file at a time');
  const int = (name: string, v: string | undefined, dflt: number) => intArg(name, v, 'ERR_LOOPBACK_ARGS') ?? dflt;
  const sampleRate = int('rate', values.rate, 48000);
  if (sampleRate < 8000 || sampleRate > 192000 || sampleRate % 100 !== 0) {
    throw new ConfigError('ERR_LOOPBACK_ARGS', `--rate must be a multiple of 100 in 8000..192000, got ${sampleRate}`);
  }
  const channels = int('channels', values.channels, 1);
  if (channels !== 1 && channels !== 2) throw new ConfigError('ERR_LOOPBACK_ARGS', '--channels must be 1 or 2');
  if (values.direct && values['queue-ms'] !== undefined && values['queue-ms'] !== '0') {
    throw new ConfigError('ERR_LOOPBACK_ARGS', '--direct means --queue-ms 0');
  }
  const queueSizeMs = values.direct ? 0 : int('queue-ms', values['queue-ms'], DEFAULT_QUEUE_SIZE_MS);
  if (queueSizeMs % 10 !== 0)
    throw new ConfigError('ERR_LOOPBACK_ARGS', `--queue-ms must be a multiple of 10, got ${queueSizeMs}`);
  const prebufferMs = int('prebuffer-ms', values['prebuffer-ms'], 0);
  if (queueSizeMs === 0 && prebufferMs > 0)
    throw new ConfigError('ERR_LOOPBACK_ARGS', '--prebuffer-ms is for buffered mode');
  return {
    file: positionals[0],
    out: values.out ?? 'out',
    sampleRate,
    channels,
    queueSizeMs,
    prebufferMs,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
    progress: values.progress ?? false,
  };
}

/**
 * Run the pipeline into the loopback, write the files, and return the report. `watch` is called when the
 * pipeline starts with a reader of its progress, and the function it returns when the pipeline has ended.
 */
export async function loopbackReport(
  a: LoopbackArgs,
  signal?: AbortSignal,
  watch?: (read: () => ProgressState) => () => void,
): Promise<LoopbackReport> {
  await mkdir(a.out, { recursive: true });
  const files: LoopbackReport['files'] = {
    received: join(a.out, 'received.wav'),
    report: join(a.out, 'report.json'),
    plot: join(a.out, 'report.svg'),
  };
  const { input, decode, totalMs } = await openInput(a, files);
  const lb = createLoopback({
    sampleRate: a.sampleRate,
    channels: a.channels,
    queueSizeMs: a.queueSizeMs,
    prebufferMs: a.prebufferMs,
  });
  try {
    const stopWatching =
      watch?.(() => ({
        elapsedMs: lb.sink.stats.msCaptured,
        totalMs: totalMs(),
        underruns: lb.sink.stats.underruns,
      })) ?? (() => undefined);
    const run = await playThrough(a, decode, lb, signal).finally(stopWatching);
    const sent = concatSamples(run.reference);
    const sentPerChannel = sent.length / a.channels;
    const durationMs = (sentPerChannel * 1000) / a.sampleRate;
    // the last frames' way from the native queue to the recorder (receiveAll.ts)
    const receive = await receiveAll(
      lb.recorder,
      samplesToAwait(sent, a.channels, a.sampleRate / 100),
      sent.every((v) => v === 0),
      receiveDeadlineMs(durationMs),
    );
    const received = lb.recorder.samples();
    // the leading silence is as long as decoding took to start (the first use of a decoder loads its module)
    const alignment = alignAudio(sent, received, { channels: a.channels, maxOffset: 5 * a.sampleRate });
    const report: LoopbackReport = {
      input,
      track: { sampleRate: a.sampleRate, channels: a.channels, mode: lb.sink.mode, queueSizeMs: a.queueSizeMs },
      resampled: input.sampleRate !== a.sampleRate || input.channels !== a.channels,
      durationMs,
      wallMs: run.wallMs,
      pacingRatio: run.wallMs / durationMs,
      firstAudioLatencyMs: arrivalOf(lb, alignment.offset, run.start),
      firstCaptureMs: lb.sink.stats.firstCaptureAt === null ? null : lb.sink.stats.firstCaptureAt - run.start,
      sampleExact: alignment.exact,
      alignment: { ...alignment, offsetMs: (alignment.offset * 1000) / a.sampleRate },
      receive,
      cpuMsPerAudioSecond: (run.cpu.user + run.cpu.system) / 1000 / (durationMs / 1000),
      sink: lb.sink.stats,
      files,
    };
    await writeOutputs(a, report, received, alignment.offset + sentPerChannel);
    const verdict = alignment.exact
      ? { text: 'sample-exact: yes', ok: true }
      : { text: `sample-exact: NO (${alignment.mismatches} differ, ${alignment.missing} missing)`, ok: false };
    await writeFile(files.plot, plots(a, sent, received, alignment.offset, run.progress, lb, run.start, verdict));
    return report;
  } finally {
    await lb.close();
  }
}

/** The file to play (a generated test signal when none is given) and the stages that decode it. */
async function openInput(
  a: LoopbackArgs,
  files: LoopbackReport['files'],
): Promise<{
  input: LoopbackReport['input'];
  decode: (Readable | Transform | Duplex)[];
  /** The input's duration once its header is read (undefined before, or for a WAV of unknown length). */
  totalMs: () => number | undefined;
}> {
  let file = a.file;
  if (file === undefined) {
    file = files.sample = join(a.out, 'sample.wav');
    await pipeline(Readable.from(testSignal(48000)), new WavFileSink(file));
  }
  const input: LoopbackReport['input'] = {
    file,
    generated: a.file === undefined,
    sampleRate: undefined,
    channels: undefined,
  };
  const isWav = extname(file).toLowerCase() === '.wav';
  // WAV streams through our parser (10 ms reads of 48 kHz stereo: small stages, small budget);
  // compressed files through decodeFile (streamed where an engine is installed), straight to the track's rate
  const decoder = isWav ? decodeWav() : decodeFile(file, { sampleRate: a.sampleRate, channels: a.channels });
  let totalMs: number | undefined;
  decoder.once('format', (f: WavFormatInfo | DecodedFileFormat) => {
    input.sampleRate = ('sourceSampleRate' in f ? f.sourceSampleRate : undefined) ?? f.sampleRate;
    input.channels = 'sourceChannels' in f ? f.sourceChannels : f.channels;
    totalMs = durationFromFormat(f);
  });
  return {
    input,
    decode: isWav ? [createReadStream(file, { highWaterMark: 1920 }), decoder] : [decoder],
    totalMs: () => totalMs,
  };
}

/** Decode → resample → rechunk → the loopback's sink, keeping what was sent and the sink's progress over time. */
async function playThrough(
  a: LoopbackArgs,
  decode: (Readable | Transform | Duplex)[],
  lb: Loopback,
  signal: AbortSignal | undefined,
) {
  const reference: AudioFrame[] = [];
  const keep = new Transform({
    objectMode: true,
    highWaterMark: 1,
    transform(f: AudioFrame, _enc, cb) {
      reference.push(f);
      cb(null, f);
    },
  });
  // the sink's progress against the wall clock, for the pacing plot
  const progress: [number, number][] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const sampler = setInterval(() => progress.push([performance.now() - start, lb.sink.stats.msCaptured]), 20);
  try {
    await pipeline(
      [...decode, resample({ sampleRate: a.sampleRate, channels: a.channels }), rechunk(), keep, lb.sink],
      { signal },
    );
  } finally {
    clearInterval(sampler);
  }
  return { reference, progress, start, wallMs: performance.now() - start, cpu: process.cpuUsage(cpu0) };
}

/** received.wav (the received audio up to 100 ms past the sent audio's end) and report.json. */
async function writeOutputs(a: LoopbackArgs, report: LoopbackReport, received: Int16Array, endSample: number) {
  const end = Math.min(received.length, endSample * a.channels + (a.sampleRate * a.channels) / 10);
  await pipeline(
    Readable.from([createFrame(received.slice(0, end), a.sampleRate, a.channels)]),
    new WavFileSink(report.files.received),
  );
  await writeFile(report.files.report, toJson(report, 2) + '\n');
}

/** When the received sample at `offset` (the first of the audio) reached JavaScript, relative to `start`. */
function arrivalOf(lb: Loopback, offset: number, start: number): number | null {
  let at = 0;
  for (const c of lb.recorder.chunks) {
    at += c.frame.samplesPerChannel;
    if (at > offset) return c.at - start;
  }
  return null;
}

function plots(
  a: LoopbackArgs,
  sent: Int16Array,
  received: Int16Array,
  offset: number,
  progress: [number, number][],
  lb: Loopback,
  start: number,
  verdict: { text: string; ok: boolean },
): string {
  const ch = a.channels;
  const wave = (x: Int16Array, from: number): PlotSeries['points'] => {
    const pts: [number, number][] = [];
    for (let i = 0; (from + i) * ch < x.length && i * ch < sent.length; i++)
      pts.push([i / a.sampleRate, x[(from + i) * ch]! / 32768]);
    return pts;
  };
  const waveform = linePlot({
    title: 'Waveform (channel 1): sent to the sink vs received from the track, aligned',
    xLabel: 'audio time (s)',
    yLabel: 'amplitude (full scale)',
    // received first, sent dashed on top: when they match exactly, both stay visible
    series: [
      { name: `received (shifted ${((offset * 1000) / a.sampleRate).toFixed(1)} ms)`, points: wave(received, offset) },
      { name: 'sent', points: wave(sent, 0), dashed: true, color: '#111' },
      { name: 'received − sent', points: difference(sent, received, offset * ch, ch, a.sampleRate) },
    ],
    yRange: [-1, 1],
    note: verdict,
  });
  const receivedProgress: [number, number][] = [];
  let n = 0;
  for (const c of lb.recorder.chunks) {
    n += c.frame.samplesPerChannel;
    if (n > offset) receivedProgress.push([(c.at - start) / 1000, (n - offset) / a.sampleRate]);
  }
  const captured = progress.map(([t, ms]) => [t / 1000, ms / 1000] as [number, number]);
  const lastT = Math.max(captured.at(-1)?.[0] ?? 0, receivedProgress.at(-1)?.[0] ?? 0);
  const pacing = linePlot({
    title: `Pacing: audio time vs wall time (${lb.sink.mode} mode, queue ${a.queueSizeMs} ms)`,
    xLabel: 'wall time since start (s)',
    yLabel: 'audio time (s)',
    series: [
      { name: 'captured by the sink', points: captured },
      { name: 'received from the track', points: receivedProgress },
      {
        name: 'real time',
        points: [
          [0, 0],
          [lastT, lastT],
        ],
        color: '#999',
      },
    ],
  });
  return stackPlots([waveform, pacing]);
}

/** Channel 1 of received − sent, aligned: a flat line at 0 when the loopback is sample-exact. */
function difference(
  sent: Int16Array,
  received: Int16Array,
  base: number,
  ch: number,
  rate: number,
): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i * ch < sent.length; i++) {
    const r = received[base + i * ch];
    pts.push([i / rate, r === undefined ? NaN : (r - sent[i * ch]!) / 32768]);
  }
  return pts;
}

function formatReport(r: LoopbackReport): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const chName = (c: number | undefined) => (c === 1 ? 'mono' : c === 2 ? 'stereo' : `${c} ch`);
  const s = r.sink;
  const lines = [
    `livekit-audio loopback: ${r.input.generated ? 'generated test signal' : r.input.file} ` +
      `(${r.input.sampleRate} Hz ${chName(r.input.channels)}) → track ${r.track.sampleRate} Hz ${chName(r.track.channels)}, ` +
      `${r.track.mode} mode${r.track.mode === 'buffered' ? ` (native queue ${r.track.queueSizeMs} ms)` : ''}`,
    `  audio          ${(r.durationMs / 1000).toFixed(3)} s`,
    `  wall time      ${(r.wallMs / 1000).toFixed(3)} s   pacing ratio ${r.pacingRatio.toFixed(4)}`,
    `  first audio    ${r.firstAudioLatencyMs === null ? 'never arrived' : `${ms(r.firstAudioLatencyMs)} after start`}` +
      (r.firstCaptureMs === null ? '' : ` (first capture at ${ms(r.firstCaptureMs)}: pipeline start-up)`),
    `  sample-exact   ${r.sampleExact ? 'yes' : 'NO'} (${r.resampled ? 'against the resampled reference given to the sink' : 'against the decoded file'}; ` +
      `${ms(r.alignment.offsetMs)} of leading silence` +
      (r.sampleExact
        ? ')'
        : `, ${r.alignment.mismatches} samples differ from ${(r.alignment.firstMismatch / r.track.channels / r.track.sampleRate).toFixed(3)} s on, ` +
          `${r.alignment.missing} missing, SNR ${r.alignment.snrDb.toFixed(1)} dB; an underrun shifts everything after it)`),
    `  received       ${
      r.receive.complete
        ? `all ${r.receive.expectedSamples} samples per channel, the last ${ms(r.receive.waitedMs)} after the sink's end`
        : `${r.receive.missingSamples} of ${r.receive.expectedSamples} samples per channel missing after waiting ` +
          `${ms(r.receive.waitedMs)} (deadline ${ms(r.receive.deadlineMs)})`
    }`,
    `  capture wait   mean ${ms(s.captureWaitMs.mean)}, max ${ms(s.captureWaitMs.max)}; underruns ${s.underruns} (${ms(s.underrunMs)})`,
    `  CPU            ${r.cpuMsPerAudioSecond.toFixed(0)} ms per second of audio (whole process)`,
    `  wrote          ${[r.files.sample, r.files.received, r.files.report, r.files.plot].filter(Boolean).join(', ')}`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * The bundled sample: 4 s at `rate`, mono — a 1.5 s log sweep 100 Hz → 8 kHz, a 1.5 s A-major chord,
 * five 100 ms 1 kHz beeps — with 5 ms fades so nothing clicks. 100 ms frames.
 */
export function testSignal(rate: number): AudioFrame[] {
  const n = rate * 4;
  const x = new Int16Array(n);
  const fade = (i: number, from: number, to: number) =>
    Math.min(1, (i - from) / (rate * 0.005), (to - i) / (rate * 0.005));
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    let v = 0;
    if (t < 1.5) {
      const f = 100 * Math.pow(80, t / 1.5);
      phase += (2 * Math.PI * f) / rate;
      v = 0.5 * Math.sin(phase) * fade(i, 0, rate * 1.5);
    } else if (t < 3) {
      for (const f of [440, 554.37, 659.25]) v += 0.2 * Math.sin(2 * Math.PI * f * t);
      v *= fade(i, rate * 1.5, rate * 3);
    } else {
      const k = Math.floor((t - 3) / 0.2);
      const on = rate * (3 + k * 0.2);
      if (i < on + rate * 0.1) v = 0.5 * Math.sin(2 * Math.PI * 1000 * t) * fade(i, on, on + rate * 0.1);
    }
    x[i] = Math.round(v * 32767);
  }
  const frames: AudioFrame[] = [];
  for (let i = 0; i < n; i += rate / 10) frames.push(createFrame(x.slice(i, i + rate / 10), rate, 1));
  return frames;
}

const command: Command = {
  summary: 'play a file (or a generated sample) through the pipeline into a local loopback and check it',
  usage,
  // rtc-node keeps the process alive until disposed (once, at the very end: it cannot be used after)
  run: (args) => runLoopback(args).finally(() => dispose()),
};
export default command;
