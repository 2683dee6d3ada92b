/**
 * One misuse of a LiveKitSink, in a process of its own (so that a regression is a crash the parent sees, not a
 * dead test runner): write valid 10 ms frames into a loopback, change one after write() while the sink still
 * holds it (a pacer slot in direct mode, the prebuffer in buffered mode), and print what happened as JSON: the
 * stream error's class and code, and whether what came back through rtc-node is exactly the valid frames.
 *
 *   node --import=@tapjs/typescript/import sinkMisuseChild.ts <direct|buffered> <ffi|rtc-node> <mutation>
 */
import { AudioFrame, dispose } from '@livekit/rtc-node';
import { createLoopback } from '../../room/loopback.js';
import { concatSamples } from '../../lib/frames.js';

const [mode = 'direct', capture = 'ffi', mutation = 'none'] = process.argv.slice(2);
const RATE = 48000;
const SPC = 480;

const frame = (k: number) => {
  const data = new Int16Array(SPC);
  for (let i = 0; i < SPC; i++) data[i] = 1000 + k * 1000 + (i % 100);
  return new AudioFrame(data, RATE, 1, SPC);
};

type Mutation = (f: AudioFrame) => void;
const mutations: Record<string, Mutation> = {
  none: () => undefined,
  'samples-x4000': (f) => (f.samplesPerChannel *= 4000),
  'samples-fraction': (f) => (f.samplesPerChannel = 479.5),
  'shorter-data': (f) => (f.data = new Int16Array(10)),
  'longer-data': (f) => (f.data = new Int16Array(SPC * 50).fill(7)),
  'float-data': (f) => ((f as unknown as { data: unknown }).data = new Float32Array(SPC)),
  'rate-changed': (f) => (f.sampleRate = 16000),
  'channels-changed': (f) => (f.channels = 2),
  'detached-buffer': (f) => void structuredClone(f.data.buffer, { transfer: [f.data.buffer as ArrayBuffer] }),
  // a view at an offset into a larger buffer, same length: valid, and must play these samples, not the buffer's start
  'view-at-offset': (f) => {
    const big = new Int16Array(SPC * 3).fill(-5);
    big.set(f.data, SPC);
    f.data = big.subarray(SPC, 2 * SPC);
  },
};

async function main() {
  const mutate = mutations[mutation]!;
  const lb = createLoopback({
    sampleRate: RATE,
    channels: 1,
    queueSizeMs: mode === 'direct' ? 0 : 100,
    prebufferMs: mode === 'direct' ? 0 : 50,
    fastCapture: capture === 'ffi',
  });
  let error: { name: string; code: string } | null = null;
  lb.sink.on('error', (e: Error & { code?: string }) => (error ??= { name: e.name, code: e.code ?? '' }));
  const frames = [0, 1, 2, 3, 4].map(frame);
  const originals = frames.map((f) => f.data.slice()); // what each frame held when it was written
  let written = 0;
  const write = (f: AudioFrame) => {
    written++;
    return new Promise<void>((resolve) => lb.sink.write(f, () => resolve()));
  };
  if (mode === 'direct') {
    await write(frames[0]!);
    await write(frames[1]!);
    const third = write(frames[2]!); // handed to _write at once: it waits in the sink for the next tick
    mutate(frames[2]!);
    await third;
    if (!error) await write(frames[3]!);
  } else {
    for (const f of frames.slice(0, 3)) await write(f); // held: the prebuffer is 50 ms
    mutate(frames[2]!);
    for (const f of frames.slice(3)) if (!lb.sink.destroyed) await write(f); // the fifth starts playback
  }
  if (!lb.sink.destroyed) lb.sink.end();
  await new Promise((r) => setTimeout(r, 700)); // the loopback delivers the last frames
  await lb.close();
  const received = concatSamples(lb.recorder.chunks.map((c) => c.frame));
  // the written audio has no zero sample: zeros are silence (before, after, or an underrun under load)
  const sound = [...received].filter((x) => x !== 0);
  const want: number[] = [];
  for (const o of originals.slice(0, written)) want.push(...o);
  // every sample that came back was written as valid audio, in order (a prefix: a failed sink's queue is cleared)
  const prefix = sound.length <= want.length && sound.every((x, i) => x === want[i]);
  // a frame captured before the caller changed it plays as written; the frames before a failure play in full
  const played = sound.length / SPC;
  process.stdout.write(
    JSON.stringify({
      error,
      prefix,
      played,
      written,
      ...(process.env.MISUSE_DEBUG
        ? { sound: sound.length, head: sound.slice(0, 3), at: sound.findIndex((x, i) => x !== want[i]) }
        : {}),
    }) + '\n',
  );
  await dispose();
}

void main();
