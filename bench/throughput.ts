/**
 * Offline throughput: a 44.1 kHz stereo WAV (built in memory, handed out in 64 KiB chunks like
 * fs.createReadStream) → decode → resample (48 kHz mono) → rechunk (10 ms) → a null sink, as fast as it goes.
 * Figure: × realtime per core = seconds of audio ÷ seconds of CPU. Next to it, in the same process:
 * - the resampler alone: the engine resample() picks (lib/resampler.ts: the polyphase kernel for 44.1 → 48 kHz)
 *   on the same audio, already mono, in the same block sizes — the floor our streams add their overhead to
 *   (goal: ours ≤ 1.25 × this);
 * - the conversion alone: the same job as ours without streams, decoder or rechunk — that engine fed the
 *   stereo int16 blocks with the 2 → 1 downmix done on the way in (`process(block, 2)`), as a hand-written
 *   converter would;
 * - speex alone (SpeexResampler, the engine before the polyphase kernel), same blocks: the reference;
 * - the naive pipeline (bench/lib/naive.ts): Buffer.concat + combineAudioFrames rechunk, rtc-node's
 *   AudioResampler;
 * - rtc-node's AudioResampler alone.
 * The breakdown's small parts (decodeWav, downmix) mostly measure the allocator: a fresh 64 KiB array costs a
 * first-touch page fault per 4 KiB whenever glibc has handed freed memory back to the OS — decodeWav alone reads
 * 0.6–0.8 ms per audio-second that way, 0.07–0.2 with MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ raised
 * (measured; half the minor faults). Compare them across runs with care.
 * Each is run once to warm up, then `repeats` times (ours and the two speex baselines interleaved, round by
 * round); the best (least CPU) is reported. GC count and pause time come
 * from a PerformanceObserver, per minute of audio: a proxy for allocation on the hot path.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame, AudioResampler } from '@livekit/rtc-node';
import { loadSpeex, SpeexResampler } from '../lib/speex.js';
import { createResampler, resamplerEngine } from '../lib/resampler.js';
import { mixChannels } from '../lib/mix.js';
import { decodeWav } from '../transforms/decodeWav.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { naiveRechunk, naiveResample, naiveWavDecode } from './lib/naive.js';
import { chunked, stereoWav } from './lib/signals.js';
import { cpuSpan, gc, gcWatch, round } from './lib/measure.js';

export interface ThroughputOptions {
  /** Seconds of audio per pass. */
  seconds: number;
  repeats: number;
}

export interface Rate {
  /** × realtime per core (the best run). */
  realtime: number;
  /** × realtime of every timed run, in order: the spread on a shared machine. */
  realtimeRuns: number[];
  cpuMs: number;
  gcPerAudioMin: number;
  gcMsPerAudioMin: number;
  /** Output 10 ms frames (pipelines) — a check that each did the whole job. */
  frames?: number;
}

export interface ThroughputResult {
  audioSeconds: number;
  ours: Rate;
  /** Which engine resample() uses for 44.1 → 48 kHz (and `resamplerAlone` measures). */
  engine: 'polyphase' | 'speex';
  resamplerAlone: Rate;
  /** SpeexResampler alone on the same blocks: the previous engine, for reference. */
  speexAlone: Rate;
  /** ours CPU ÷ resampler-alone CPU (goal ≤ 1.25). */
  oursOverResampler: number;
  /** The same conversion (stereo in, downmix included) by the engine alone: no streams, decoder, rechunk. */
  conversionAlone: Rate;
  /** ours CPU ÷ conversion-alone CPU: what the streams, the decoder and rechunk add. */
  oursOverConversion: number;
  naive: Rate;
  rtcResamplerAlone: Rate;
  /** ours ÷ naive throughput. */
  speedupVsNaive: number;
  /** Where ours spends its CPU: each part run alone on the same audio, ms of CPU per second of audio. */
  breakdown: {
    decodeWav: number;
    /** mixChannels(…, 2, 1) alone (resample does the same downmix straight into the engine's input). */
    downmix: number;
    /** The engine alone (= resamplerAlone). */
    resampler: number;
    speex: number;
    rechunk: number;
    total: number;
  };
}

const CHUNK_BYTES = 65536;

function collect(into: AudioFrame[]): Writable {
  return new Writable({
    objectMode: true,
    write(frame: AudioFrame, _enc, cb) {
      into.push(frame);
      cb();
    },
  });
}

function nullSink(counter: { frames: number }): Writable {
  return new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_frame, _enc, cb) {
      counter.frames++;
      cb();
    },
  });
}

type Pass = () => Promise<number | void>;

async function measure(audioSeconds: number, repeats: number, pass: Pass): Promise<Rate> {
  return (await measureInterleaved(audioSeconds, repeats, [pass]))[0]!;
}

/**
 * Each pass warmed up once, then `repeats` rounds of one timed run of each, in turn: a burst of load from
 * another process lands on all of them alike, so the ratios between them hold up better than when each is
 * timed in a block of its own.
 */
async function measureInterleaved(audioSeconds: number, repeats: number, passes: Pass[]): Promise<Rate[]> {
  for (const pass of passes) await pass(); // warm-up: JIT, WASM, allocator
  const runs: Rate[][] = passes.map(() => []);
  for (let r = 0; r < repeats; r++) {
    for (const [i, pass] of passes.entries()) {
      gc();
      const gcs = gcWatch();
      const cpu = cpuSpan();
      const frames = await pass();
      const cpuMs = cpu.cpuMs();
      const g = await gcs.stop();
      const perMin = 60 / audioSeconds;
      runs[i]!.push({
        realtime: round((audioSeconds * 1000) / cpuMs, 0),
        realtimeRuns: [],
        cpuMs: round(cpuMs, 1),
        gcPerAudioMin: round(g.count * perMin, 1),
        gcMsPerAudioMin: round(g.ms * perMin, 2),
        ...(typeof frames === 'number' && { frames }),
      });
    }
  }
  // best of the repeats: other processes on a shared machine only ever add CPU time (cache, frequency)
  return runs.map((rs) => ({
    ...rs.reduce((b, r) => (r.cpuMs < b.cpuMs ? r : b)),
    realtimeRuns: rs.map((r) => r.realtime),
  }));
}

export async function runThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  await loadSpeex();
  const wav = stereoWav(opts.seconds);
  const chunks = chunked(wav, CHUNK_BYTES);
  // the resamplers-alone input: the same audio, mono, in the blocks a 64 KiB chunk decodes to
  const stereo = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
  const mono = mixChannels(stereo, 2, 1);
  const toBlocks = (samples: Int16Array, bytes: number) =>
    chunked(Buffer.from(samples.buffer), bytes).map(
      (b) => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)),
    );
  const blocks = toBlocks(mono, CHUNK_BYTES / 2);
  const stereoBlocks = toBlocks(stereo, CHUNK_BYTES);

  const [ours, resamplerAlone, conversionAlone, speexAlone] = await measureInterleaved(opts.seconds, opts.repeats, [
    async () => {
      const counter = { frames: 0 };
      await pipeline(
        Readable.from(chunks, { objectMode: false }),
        decodeWav(),
        resample({ sampleRate: 48000, channels: 1 }),
        rechunk(),
        nullSink(counter),
      );
      return counter.frames;
    },
    async () => {
      const r = createResampler(1, 44100, 48000);
      r.skipZeros();
      for (const b of blocks) r.process(b);
      r.flush();
      r.destroy();
    },
    async () => {
      const r = createResampler(1, 44100, 48000);
      r.skipZeros();
      for (const b of stereoBlocks) r.process(b, 2);
      r.flush();
      r.destroy();
    },
    async () => {
      const r = new SpeexResampler(1, 44100, 48000);
      r.skipZeros();
      for (const b of blocks) r.process(b);
      r.flush();
      r.destroy();
    },
  ]);

  const naive = await measure(opts.seconds, opts.repeats, async () => {
    const counter = { frames: 0 };
    await pipeline(
      Readable.from(chunks, { objectMode: false }),
      naiveWavDecode(),
      naiveResample(),
      naiveRechunk(),
      nullSink(counter),
    );
    return counter.frames;
  });

  const rtcResamplerAlone = await measure(opts.seconds, opts.repeats, async () => {
    const r = new AudioResampler(44100, 48000, 1);
    for (const b of blocks) r.push(new AudioFrame(b, 44100, 1, b.length));
    r.flush();
    r.close();
  });

  // the breakdown: each part of ours alone, on inputs prepared outside the timing
  const decoded: AudioFrame[] = [];
  await pipeline(Readable.from(chunks, { objectMode: false }), decodeWav(), collect(decoded));
  const resampled: AudioFrame[] = [];
  await pipeline(Readable.from(decoded), resample({ sampleRate: 48000, channels: 1 }), collect(resampled));
  const perSec = (r: Rate) => round(r.cpuMs / opts.seconds, 3);
  const decodeOnly = await measure(opts.seconds, opts.repeats, async () => {
    await pipeline(Readable.from(chunks, { objectMode: false }), decodeWav(), nullSink({ frames: 0 }));
  });
  const downmixOnly = await measure(opts.seconds, opts.repeats, async () => {
    for (const f of decoded) mixChannels(f.data, 2, 1);
  });
  const rechunkOnly = await measure(opts.seconds, opts.repeats, async () => {
    await pipeline(Readable.from(resampled), rechunk(), nullSink({ frames: 0 }));
  });

  return {
    audioSeconds: opts.seconds,
    ours,
    engine: resamplerEngine(44100, 48000),
    resamplerAlone,
    speexAlone,
    oursOverResampler: round(ours.cpuMs / resamplerAlone.cpuMs, 2),
    conversionAlone,
    oursOverConversion: round(ours.cpuMs / conversionAlone.cpuMs, 2),
    naive,
    rtcResamplerAlone,
    speedupVsNaive: round(ours.realtime / naive.realtime, 1),
    breakdown: {
      decodeWav: perSec(decodeOnly),
      downmix: perSec(downmixOnly),
      resampler: perSec(resamplerAlone),
      speex: perSec(speexAlone),
      rechunk: perSec(rechunkOnly),
      total: perSec(ours),
    },
  };
}
