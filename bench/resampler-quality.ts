/**
 * Resampler engines compared by measurement: speex (lib/speex.ts, WASM) at quality 0–10 and our polyphase
 * kernel (lib/polyphase/, WASM SIMD) at 3–5 against rtc-node's soxr-backed `AudioResampler` (QUICK … VERY_HIGH). Prints markdown tables (docs/resampling.md quotes them).
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import bench/resampler-quality.ts
 *
 * Measures, mono, int16 in and out:
 * - SNR of a 997 Hz sine at −0.9 dBFS (least-squares sine fit, so the engine's delay does not matter;
 *   100 ms trimmed at each end), fed in 10 ms chunks, for 8k/16k/44.1k → 48k and 48k → 16k;
 * - passband gain at 0.85 × the lower Nyquist (3.4 kHz for 8 kHz telephony), worst over the four pairs;
 * - aliasing at 48k → 16k: a 12 kHz tone at −0.9 dBFS (must vanish) plus a carrier at −26 dBFS
 *   at 997 Hz (keeps the int16 quantiser busy, so a residual alias is not just rounded away, and is not
 *   harmonically related to 4 kHz); reported is the 4 kHz alias level in dB re full scale;
 * - audio withheld (input ms fed − output ms emitted), maximum over 2 s fed in 10 ms and in 20 ms chunks;
 * - CPU ms (process.cpuUsage, user + system) per second of audio, 10 s in 10 ms chunks, best of 5
 *   (the machine is shared: the best run is the least disturbed one);
 * - and the CPU cost of the whole resample() and rechunk() stages, stream machinery included.
 */
import { cpus } from 'node:os';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame, AudioResampler, AudioResamplerQuality, dispose } from '@livekit/rtc-node';
import { concatInt16 } from '../lib/frames.js';
import { loadSpeex, SpeexResampler } from '../lib/speex.js';
import { PolyphaseResampler } from '../lib/polyphase/PolyphaseResampler.js';
import type { Resampler } from '../lib/resampler.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { idealSine, sine, sineFitSnrDb, splitFrame, toneLevelDb } from '../test/helpers/signals.js';

interface Engine {
  push(x: Int16Array): Int16Array;
  flush(): Int16Array;
  close(): void;
}

interface EngineSpec {
  name: string;
  make(inRate: number, outRate: number): Engine;
}

const PAIRS: Array<[number, number]> = [
  [8000, 48000],
  [16000, 48000],
  [44100, 48000],
  [48000, 16000],
];

/** One of our engines (lib/resampler.ts's shape), mono, aligned with its input. */
function ours(name: string, make: (inRate: number, outRate: number) => Resampler): EngineSpec {
  return {
    name,
    make(inRate, outRate) {
      const r = make(inRate, outRate);
      r.skipZeros();
      return { push: (x) => r.process(x), flush: () => r.flush(), close: () => r.destroy() };
    },
  };
}

const speex = (q: number) => ours(`speex q${q}`, (i, o) => new SpeexResampler(1, i, o, q));
const polyphase = (q: number) => ours(`polyphase q${q}`, (i, o) => new PolyphaseResampler(1, i, o, q));

function soxr(q: AudioResamplerQuality): EngineSpec {
  return {
    name: `rtc-node ${AudioResamplerQuality[q]}`,
    make(inRate, outRate) {
      const r = new AudioResampler(inRate, outRate, 1, q);
      // rtc-node reads frame.data.buffer from offset 0 (docs/design.md): hand it a frame that owns its buffer.
      const own = (x: Int16Array) => new AudioFrame(x.slice(), inRate, 1, x.length);
      return {
        push: (x) => samplesOf(r.push(own(x))),
        flush: () => samplesOf(r.flush()),
        close: () => r.close(),
      };
    },
  };
}

function samplesOf(frames: AudioFrame[]): Int16Array {
  return concatInt16(frames.map((f) => f.data.subarray(0, f.samplesPerChannel * f.channels)));
}

function toInt16(x: Float64Array): Int16Array {
  return Int16Array.from(x, (v) => Math.round(v));
}

/** Feed `x` in chunks of `chunk` samples; output after flush, and the most audio ever withheld (ms). */
function feed(e: Engine, x: Int16Array, inRate: number, outRate: number, chunk: number) {
  const outs: Int16Array[] = [];
  let fed = 0;
  let made = 0;
  let withheld = 0;
  for (let i = 0; i < x.length; i += chunk) {
    const part = x.subarray(i, Math.min(x.length, i + chunk));
    const o = e.push(part);
    outs.push(o);
    fed += part.length;
    made += o.length;
    withheld = Math.max(withheld, (fed * 1000) / inRate - (made * 1000) / outRate);
  }
  outs.push(e.flush());
  return { out: concatInt16(outs), withheld };
}

function mid(x: Int16Array, rate: number, trimMs: number): Int16Array {
  const n = Math.round((rate * trimMs) / 1000);
  return x.subarray(n, x.length - n);
}

function measurePair(spec: EngineSpec, inRate: number, outRate: number) {
  const c10 = inRate / 100;
  const run = (x: Int16Array, chunk: number) => {
    const e = spec.make(inRate, outRate);
    try {
      return feed(e, x, inRate, outRate, chunk);
    } finally {
      e.close();
    }
  };
  const tone = toInt16(idealSine(inRate, 997, inRate, 0.9));
  const snr = sineFitSnrDb(mid(run(tone, c10).out, outRate, 100), outRate, 997);

  const edge = 0.85 * (Math.min(inRate, outRate) / 2);
  const edgeIn = toInt16(idealSine(inRate, edge, inRate, 0.5));
  const gain =
    toneLevelDb(mid(run(edgeIn, c10).out, outRate, 100), outRate, edge) -
    toneLevelDb(mid(edgeIn, inRate, 100), inRate, edge);

  let alias = NaN;
  if (inRate === 48000 && outRate === 16000) {
    const hi = idealSine(inRate, 12000, inRate, 0.9);
    const lo = idealSine(inRate, 997, inRate, 0.05);
    const x = toInt16(hi.map((v, i) => v + lo[i]!));
    alias = toneLevelDb(mid(run(x, c10).out, outRate, 100), outRate, 4000);
  }

  const long = toInt16(idealSine(inRate, 997, 2 * inRate, 0.5));
  const w10 = run(long, c10).withheld;
  const w20 = run(long, 2 * c10).withheld;

  const tenSeconds = toInt16(idealSine(inRate, 997, 10 * inRate, 0.5));
  let cpu = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const e = spec.make(inRate, outRate);
    const t0 = process.cpuUsage();
    for (let i = 0; i < tenSeconds.length; i += c10) e.push(tenSeconds.subarray(i, i + c10));
    e.flush();
    const t = process.cpuUsage(t0);
    e.close();
    cpu = Math.min(cpu, (t.user + t.system) / 1000 / 10);
  }
  return { snr, gain, alias, w10, w20, cpu };
}

const f1 = (v: number) => (v === -Infinity ? '−∞' : v.toFixed(1).replace('-', '−'));
const f2 = (v: number) => v.toFixed(2).replace('-', '−');
const rateName = (r: number) => `${r / 1000}k`;

await loadSpeex();
const specs: EngineSpec[] = [
  ...Array.from({ length: 11 }, (_, q) => speex(q)),
  ...[3, 4, 5].map(polyphase),
  ...[
    AudioResamplerQuality.QUICK,
    AudioResamplerQuality.LOW,
    AudioResamplerQuality.MEDIUM,
    AudioResamplerQuality.HIGH,
    AudioResamplerQuality.VERY_HIGH,
  ].map(soxr),
];

// Warm up the JIT and both engines, so the first row's CPU figures are not inflated.
for (const spec of [speex(4), polyphase(4), soxr(AudioResamplerQuality.MEDIUM)]) measurePair(spec, 16000, 48000);

const pairNames = PAIRS.map(([i, o]) => `${rateName(i)}→${rateName(o)}`);
const quality: string[] = [
  `| engine | ${pairNames.map((p) => `SNR ${p} dB`).join(' | ')} | 4 kHz alias of 12 kHz, 48k→16k, dBFS | worst gain @ 0.85·Nyquist dB |`,
  `|---|${pairNames.map(() => '--:').join('|')}|--:|--:|`,
];
const timing: string[] = [
  `| engine | ${pairNames.map((p) => `${p} withheld 10/20 ms chunks, ms`).join(' | ')} | ${pairNames.map((p) => `${p} CPU ms/s`).join(' | ')} |`,
  `|---|${pairNames.map(() => '--:').join('|')}|${pairNames.map(() => '--:').join('|')}|`,
];
for (const spec of specs) {
  const m = PAIRS.map(([i, o]) => measurePair(spec, i, o));
  const alias = m.find((x) => !Number.isNaN(x.alias))!.alias;
  const worstGain = m.reduce((g, x) => (Math.abs(x.gain) > Math.abs(g) ? x.gain : g), 0);
  quality.push(`| ${spec.name} | ${m.map((x) => f1(x.snr)).join(' | ')} | ${f1(alias)} | ${f2(worstGain)} |`);
  timing.push(
    `| ${spec.name} | ${m.map((x) => `${f1(x.w10)} / ${f1(x.w20)}`).join(' | ')} | ${m.map((x) => f2(x.cpu)).join(' | ')} |`,
  );
}

/** CPU ms per second of audio for a whole stage, stream machinery included: 60 s in `chunkMs` frames. */
async function stageCpu(make: () => Duplex, rate: number, ch: number, chunkMs: number): Promise<number> {
  const frames = splitFrame(sine(rate, ch, 997, 60000, 0.5), () => (rate * chunkMs) / 1000);
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const sink = new Writable({ objectMode: true, highWaterMark: 1, write: (_f, _e, cb) => cb() });
    const t0 = process.cpuUsage();
    await pipeline(Readable.from(frames, { highWaterMark: 1 }), make(), sink);
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1000 / 60);
  }
  return best;
}

const stages: string[] = ['| stage | input | CPU ms per s of audio |', '|---|---|--:|'];
for (const [what, make, rate, ch, ms] of [
  ['resample({ sampleRate: 48000, channels: 1 })', () => resample({ sampleRate: 48000, channels: 1 }), 8000, 1, 20],
  ['resample({ sampleRate: 48000, channels: 1 })', () => resample({ sampleRate: 48000, channels: 1 }), 16000, 1, 20],
  ['resample({ sampleRate: 48000, channels: 1 })', () => resample({ sampleRate: 48000, channels: 1 }), 44100, 2, 10],
  ['resample({ sampleRate: 16000, channels: 1 })', () => resample({ sampleRate: 16000, channels: 1 }), 48000, 1, 10],
  ['resample({ sampleRate: 48000, channels: 2 })', () => resample({ sampleRate: 48000, channels: 2 }), 48000, 1, 10],
  ['rechunk()', () => rechunk(), 48000, 1, 20],
  ['rechunk()', () => rechunk(), 48000, 2, 7],
] as const) {
  const cpu = await stageCpu(make, rate, ch, ms);
  stages.push(`| \`${what}\` | ${rate / 1000} kHz ${ch} ch, ${ms} ms frames | ${f2(cpu)} |`);
}

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}\n`);
console.log('Quality (mono, int16; 997 Hz sine at −0.9 dBFS):\n');
console.log(quality.join('\n'));
console.log('\nLatency and cost:\n');
console.log(timing.join('\n'));
console.log('\nWhole stages (Node stream machinery included), best of 3 × 60 s:\n');
console.log(stages.join('\n'));
await dispose();
