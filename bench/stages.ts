/**
 * Per-call CPU budget of the gateway's realtime chain, stage by stage: each stage alone on two minutes of one
 * call (8 kHz µ-law in 20 ms chunks), as fast as it goes, in ms of CPU per second of audio. This explains the
 * concurrency figures (which add the sink's captures and rtc-node's native threads) and shows where a
 * per-call millisecond goes. Best of `repeats`.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioSource, dispose } from '@livekit/rtc-node';
import { AudioFrame } from '../lib/frames.js';
import { loadSpeex, SpeexResampler } from '../lib/speex.js';
import { JitterCore } from '../lib/jitter/core.js';
import { decodePcm } from '../transforms/decodePcm.js';
import { resample } from '../transforms/resample.js';
import { rechunk } from '../transforms/rechunk.js';
import { mulawCallChunks } from './lib/signals.js';
import { cpuSpan, gc, round } from './lib/measure.js';

export interface StagesResult {
  audioSeconds: number;
  /**
   * rtc-node's FfiClient dispatch: µs of main-thread CPU per FFI event while N captures are pending (each
   * pending `captureFrame` is one `waitFor` listener whose predicate runs on every event), for N = 1, 100, 300.
   * Versus one listener routing by asyncId through a Map (what lib/ffiCapture.ts does), which stays flat.
   */
  ffiDispatchUsPerEvent: { pending: number; rtcNode: number; mapRouted: number }[];
  /** ms CPU per second of audio, per call. */
  msPerAudioSec: {
    decodePcm: number;
    resample8to48: number;
    rechunk10ms: number;
    jitterCore48k: number;
    /** The same jitter buffer run at the input rate (8 kHz), i.e. placed before the resampler. */
    jitterCore8k: number;
    /**
     * The 48 kHz jitter buffer while it is too full: input arrives 5 % faster than it is pulled (what a sink that
     * misses ticks under load looks like from the buffer), so it accelerates — time-stretch searches every pull.
     */
    jitterCore48kOverfull: number;
    /** A speex 8k→48k resampler whose ratio is nudged every 10 ms (drift correction folded into the one resampler). */
    resample8to48WithRatio: number;
  };
}

function sink(into?: AudioFrame[]): Writable {
  return new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(frame: AudioFrame, _enc, cb) {
      into?.push(frame);
      cb();
    },
  });
}

async function best(repeats: number, audioSeconds: number, pass: () => Promise<void> | void): Promise<number> {
  await pass();
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    gc();
    const cpu = cpuSpan();
    await pass();
    min = Math.min(min, cpu.cpuMs());
  }
  return round(min / audioSeconds, 3);
}

/** Push 20 ms, pull 2 × 10 ms, on virtual time (the core is clock-free); every `skipEvery`-th pull is skipped. */
function runJitter(core: JitterCore, frames: AudioFrame[], skipEvery = Infinity): void {
  let now = 0;
  let pulls = 0;
  for (const f of frames) {
    core.push(f, now);
    for (let k = 0; k < 2; k++) {
      if (++pulls % skipEvery !== 0) core.pull(now);
      now += 10;
    }
  }
}

interface EmitterLike {
  on(e: string, l: (ev: unknown) => void): void;
  off(e: string, l: (ev: unknown) => void): void;
  emit(e: string, ev: unknown): boolean;
  waitFor(pred: (ev: { message: { case: string; value: { asyncId: bigint } } }) => boolean): Promise<unknown>;
}

/** Time the dispatch of synthetic capture-callback events with `pending` captures waiting (none of them matches). */
function ffiDispatch(pending: number): { pending: number; rtcNode: number; mapRouted: number } {
  const source = new AudioSource(48000, 1, 0); // creates the FfiClient
  const client = (globalThis as { _ffiClientInstance?: EmitterLike })._ffiClientInstance!;
  const events = 20000;
  const ev = (id: number) => ({ message: { case: 'captureAudioFrame', value: { asyncId: BigInt(id) } } });
  const time = (fn: () => void) => {
    fn(); // warm up
    const cpu = cpuSpan();
    fn();
    return round((cpu.cpuMs() * 1000) / events, 3);
  };
  // rtc-node: one waitFor listener per pending capture, each predicate compares the case and the asyncId
  for (let i = 0; i < pending; i++)
    void client.waitFor((e) => e.message.case === 'captureAudioFrame' && e.message.value.asyncId === BigInt(-1 - i));
  const rtcNode = time(() => {
    for (let i = 0; i < events; i++) client.emit('ffi_event', ev(i + 1e9));
  });
  client.emit('ffi_event', { message: { case: 'none', value: {} } });
  // the listeners stay (they never match): remove them all so the next measurement starts clean
  for (const l of (client as unknown as { listeners(e: string): ((ev: unknown) => void)[] }).listeners('ffi_event'))
    client.off('ffi_event', l);
  // one listener, a Map lookup per event
  const waiting = new Map<bigint, () => void>();
  for (let i = 0; i < pending; i++) waiting.set(BigInt(-1 - i), () => undefined);
  const router = (e: unknown) => {
    const m = (e as ReturnType<typeof ev>).message;
    if (m.case === 'captureAudioFrame') waiting.get(m.value.asyncId)?.();
  };
  client.on('ffi_event', router);
  const mapRouted = time(() => {
    for (let i = 0; i < events; i++) client.emit('ffi_event', ev(i + 1e9));
  });
  client.off('ffi_event', router);
  void source.close();
  return { pending, rtcNode, mapRouted };
}

export async function runStages(opts: { seconds: number; repeats: number }): Promise<StagesResult> {
  await loadSpeex();
  const base = mulawCallChunks();
  const chunks = Array.from({ length: opts.seconds * 50 }, (_, i) => base[i % base.length]!);
  const at8k: AudioFrame[] = [];
  await pipeline(Readable.from(chunks), decodePcm({ sampleRate: 8000, channels: 1, encoding: 'mulaw' }), sink(at8k));
  const at48k: AudioFrame[] = [];
  await pipeline(Readable.from(at8k), resample({ sampleRate: 48000, channels: 1 }), sink(at48k));
  const s = opts.seconds;
  const n = opts.repeats;

  const ffiDispatchUsPerEvent = [1, 100, 300].map(ffiDispatch);
  await dispose();
  return {
    audioSeconds: s,
    ffiDispatchUsPerEvent,
    msPerAudioSec: {
      decodePcm: await best(n, s, () =>
        pipeline(Readable.from(chunks), decodePcm({ sampleRate: 8000, channels: 1, encoding: 'mulaw' }), sink()),
      ),
      resample8to48: await best(n, s, () =>
        pipeline(Readable.from(at8k), resample({ sampleRate: 48000, channels: 1 }), sink()),
      ),
      rechunk10ms: await best(n, s, () => pipeline(Readable.from(at48k), rechunk(), sink())),
      jitterCore48k: await best(n, s, () => runJitter(new JitterCore({ sampleRate: 48000 }), at48k)),
      jitterCore48kOverfull: await best(n, s, () => runJitter(new JitterCore({ sampleRate: 48000 }), at48k, 20)),
      jitterCore8k: await best(n, s, () => {
        // 8 kHz frames of 20 ms pushed, 10 ms pulled: the same schedule at the input rate
        runJitter(new JitterCore({ sampleRate: 8000 }), at8k);
      }),
      resample8to48WithRatio: await best(n, s, () => {
        const r = new SpeexResampler(1, 8000, 48000);
        let k = 0;
        for (const f of at8k) {
          // in/out = num/den, den < 2^16 (speex's limit): 10920/65520 is 1/6; ±3 steps of 92 ppm, changed every frame
          r.setRatio(10920 + ((k++ % 7) - 3), 65520, 8000, 48000);
          r.process(f.data);
        }
        r.destroy();
      }),
    },
  };
}
