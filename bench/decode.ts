/**
 * Compressed decode, one file per child process: how fast (× realtime, one core), how much memory (peak RSS,
 * sampled every 5 ms and at every 500th frame; no forced GC), and how soon the first frame comes out (wall time
 * from the start, the engine's first load and wasm compile included). Two ways in: decodeStream from a file
 * stream in 64 KiB chunks, and decodeFile on the path (the file read whole, then streamed through the same
 * engine).
 */
import { createReadStream, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeStream } from '../transforms/decodeStream.js';
import { decodeFile } from '../transforms/decodeFile.js';
import type { StreamFormat } from '../lib/decode/streaming/types.js';
import type { AudioFrame } from '../lib/frames.js';

/**
 * decodeStream; decodeFile at the file's own rate in 20 ms frames (the engine alone); decodeFile with its
 * defaults (48 kHz, 10 ms frames: what a user who passes nothing gets, the resampler included).
 */
export type DecodeWay = 'decodeStream' | 'decodeFile' | 'decodeFile-defaults';

export interface DecodeResult {
  format: StreamFormat;
  way: DecodeWay;
  file: string;
  fileMB: number;
  audioMinutes: number;
  realtime: number;
  /** RSS when the child started, after its imports (before the decoder package is loaded). */
  baseRssMB: number;
  peakRssMB: number;
  /** Wall time from the start to the first frame at the sink. */
  firstFrameMs: number;
}

const MB = 1024 * 1024;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function runDecode(opts: {
  file: string;
  format: StreamFormat;
  way: DecodeWay;
  sampleRate: number;
}): Promise<DecodeResult> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 5);
  let samples = 0;
  let frames = 0;
  let firstAt = NaN;
  let rate = opts.sampleRate;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(f: AudioFrame, _e, cb) {
      if (frames === 0) firstAt = performance.now();
      samples += f.samplesPerChannel;
      rate = f.sampleRate;
      if (++frames % 500 === 0) sample();
      cb();
    },
  });
  const size = statSync(opts.file).size;
  const started = performance.now();
  if (opts.way === 'decodeStream') {
    const dec = decodeStream({ format: opts.format });
    await pipeline(createReadStream(opts.file, { highWaterMark: 64 * 1024 }), dec, sink);
  } else if (opts.way === 'decodeFile') {
    await pipeline(decodeFile(opts.file, { sampleRate: opts.sampleRate, frameMs: 20 }), sink);
  } else {
    await pipeline(decodeFile(opts.file), sink);
  }
  const wall = (performance.now() - started) / 1000;
  clearInterval(timer);
  sample();
  const audioSeconds = samples / rate;
  return {
    format: opts.format,
    way: opts.way,
    file: opts.file.split('/').pop()!,
    fileMB: round(size / MB),
    audioMinutes: round(audioSeconds / 60),
    realtime: Math.round(audioSeconds / wall),
    baseRssMB: round(base / MB, 0),
    peakRssMB: round(peak / MB, 0),
    firstFrameMs: round(firstAt - started),
  };
}
