import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, FrameFormatError } from '../../lib/errors.js';
import { AudioFrame } from '../../lib/frames.js';
import { WavFileSink, wavFileSink } from '../../sinks/WavFileSink.js';
import { concatFrames, noise } from '../helpers/signals.js';

interface Parsed {
  riffSize: number;
  format: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bits: number;
  dataSize: number;
  samples: Int16Array;
  fileSize: number;
}

function parse(path: string): Parsed {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not RIFF/WAVE');
  if (b.toString('ascii', 12, 16) !== 'fmt ' || b.toString('ascii', 36, 40) !== 'data') throw new Error('layout');
  const dataSize = b.readUInt32LE(40);
  const copy = new Uint8Array(b.subarray(44, 44 + dataSize));
  return {
    riffSize: b.readUInt32LE(4),
    format: b.readUInt16LE(20),
    channels: b.readUInt16LE(22),
    sampleRate: b.readUInt32LE(24),
    byteRate: b.readUInt32LE(28),
    blockAlign: b.readUInt16LE(32),
    bits: b.readUInt16LE(34),
    dataSize,
    samples: new Int16Array(copy.buffer),
    fileSize: b.length,
  };
}

const dir = t.testdir({});

t.test('frames become a 16-bit PCM WAV with exact RIFF and data sizes, valid at finish', async (t) => {
  for (const ch of [1, 2]) {
    const path = join(dir, `out-${ch}.wav`);
    const frames = Array.from({ length: 25 }, (_, i) => noise(44100, ch, 441, i + 1));
    const sink = new WavFileSink(path);
    let atFinish: Parsed | undefined;
    sink.on('finish', () => (atFinish = parse(path)));
    await pipeline(Readable.from(frames), sink);
    const p = parse(path);
    const bytes = 25 * 441 * ch * 2;
    t.same(
      { format: p.format, channels: p.channels, sampleRate: p.sampleRate, bits: p.bits },
      { format: 1, channels: ch, sampleRate: 44100, bits: 16 },
    );
    t.equal(p.byteRate, 44100 * ch * 2);
    t.equal(p.blockAlign, ch * 2);
    t.equal(p.dataSize, bytes);
    t.equal(p.riffSize, 36 + bytes);
    t.equal(p.fileSize, 44 + bytes);
    t.same(p.samples, concatFrames(frames), 'the samples, bit-exact');
    t.same(atFinish?.dataSize, bytes, "the header is final by 'finish'");
    t.equal(sink.writtenMs, 250);
    t.equal(sink.bufferedMs, 0);
  }
});

t.test('the factory takes a path or options; options fix the format', async (t) => {
  const path = join(dir, 'opts.wav');
  const sink = wavFileSink({ path, sampleRate: 16000, channels: 1, highWaterMark: 1 });
  t.equal(sink.writableHighWaterMark, 1);
  const byPath = wavFileSink(join(dir, 'x.wav'));
  t.equal(byPath.writableHighWaterMark, 2, 'default highWaterMark 2');
  byPath.destroy();
  const err = await pipeline(Readable.from([new AudioFrame(new Int16Array(480), 48000, 1, 480)]), sink).catch(
    (e: unknown) => e,
  );
  t.type(err, FrameFormatError, 'a frame that contradicts the options');
  t.equal((err as FrameFormatError).code, 'ERR_FRAME_MISMATCH');
});

t.test('frames whose format differs from the first frame, and non-frames, are FrameFormatErrors', async (t) => {
  const first = new AudioFrame(new Int16Array(480), 48000, 1, 480);
  const cases: [string, unknown, string][] = [
    ['another rate', new AudioFrame(new Int16Array(160), 16000, 1, 160), 'ERR_FRAME_MISMATCH'],
    ['another channel count', new AudioFrame(new Int16Array(960), 48000, 2, 480), 'ERR_FRAME_MISMATCH'],
    ['bytes', Buffer.alloc(960), 'ERR_NOT_A_FRAME'],
  ];
  for (const [name, bad, code] of cases) {
    const path = join(dir, 'mismatch.wav');
    const err = await pipeline(Readable.from([first, bad]), new WavFileSink(path)).catch((e: unknown) => e);
    t.type(err, FrameFormatError, name);
    t.equal((err as FrameFormatError).code, code, name);
    t.equal(parse(path).dataSize, 960, `${name}: what was written before the error is a valid file`);
  }
  const err = await pipeline(Readable.from(['nope']), new WavFileSink(join(dir, 'first.wav'))).catch((e) => e);
  t.equal((err as FrameFormatError).code, 'ERR_NOT_A_FRAME', 'a non-frame first');
});

t.test('frames that are views of larger buffers are written correctly', async (t) => {
  const path = join(dir, 'views.wav');
  const big = Int16Array.from({ length: 2000 }, (_, i) => i - 1000);
  const frames = [
    new AudioFrame(big.subarray(100, 580), 48000, 1, 480),
    new AudioFrame(big.subarray(1000, 1480), 48000, 1, 480),
  ];
  await pipeline(Readable.from(frames), new WavFileSink(path));
  t.same(Array.from(parse(path).samples), [
    ...Array.from(big.subarray(100, 580)),
    ...Array.from(big.subarray(1000, 1480)),
  ]);
});

t.test('no frames: a valid empty file in the declared (or default) format', async (t) => {
  const a = join(dir, 'empty-a.wav');
  await pipeline(Readable.from([]), new WavFileSink({ path: a, sampleRate: 8000, channels: 2 }));
  const pa = parse(a);
  t.same([pa.sampleRate, pa.channels, pa.dataSize, pa.riffSize, pa.fileSize], [8000, 2, 0, 36, 44]);
  const b = join(dir, 'empty-b.wav');
  await pipeline(Readable.from([]), new WavFileSink(b));
  t.same([parse(b).sampleRate, parse(b).channels], [48000, 1]);
});

t.test('destroy mid-stream leaves a valid file of what was written', async (t) => {
  const path = join(dir, 'cut.wav');
  const sink = new WavFileSink(path);
  await new Promise((r) => sink.write(noise(48000, 1, 480, 1), r));
  await new Promise((r) => sink.write(noise(48000, 1, 480, 2), r));
  sink.destroy();
  await new Promise((r) => sink.once('close', r));
  const p = parse(path);
  t.equal(p.dataSize, 1920);
  t.equal(p.fileSize, 44 + 1920);
});

t.test('a path that cannot be opened is a stream error (not a crash)', async (t) => {
  const err = await pipeline(
    Readable.from([new AudioFrame(new Int16Array(480), 48000, 1, 480)]),
    new WavFileSink(join(dir, 'no', 'such', 'dir.wav')),
  ).catch((e: unknown) => e);
  t.equal((err as NodeJS.ErrnoException).code, 'ENOENT');
});

t.test('bufferedMs counts frames not yet on disk', async (t) => {
  const path = join(dir, 'buffered.wav');
  const sink = new WavFileSink({ path, highWaterMark: 2 });
  const f = () => new AudioFrame(new Int16Array(480), 48000, 1, 480);
  sink.write(f());
  sink.write(f());
  sink.write(f());
  t.ok(sink.bufferedMs > 0 && sink.bufferedMs <= 30, `${sink.bufferedMs} ms held`);
  await new Promise((r) => sink.end(r));
  t.equal(sink.bufferedMs, 0);
  t.equal(statSync(path).size, 44 + 3 * 960);
});

t.test('bad options are ConfigErrors', async (t) => {
  t.throws(() => new WavFileSink(''), ConfigError);
  t.throws(() => new WavFileSink({} as never), ConfigError);
  t.throws(() => new WavFileSink({ path: 'a.wav', sampleRate: 0 }), { code: 'ERR_WAV_SINK_OPTIONS' });
  t.throws(() => new WavFileSink({ path: 'a.wav', channels: 1.5 }), ConfigError);
  t.throws(() => new WavFileSink({ path: 'a.wav', highWaterMark: -1 }), ConfigError);
});
