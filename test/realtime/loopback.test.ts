/**
 * The whole path through the real native AudioSource and back (no server): decodeWav → [resample] → rechunk →
 * LiveKitSink → LocalAudioTrack → AudioStream → recorder, compared sample by sample.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { AudioFrame } from '../../lib/frames.js';
import { alignAudio, createLoopback, type AlignResult, type Loopback } from '../../room/loopback.js';
import { decodeWav } from '../../transforms/decodeWav.js';
import { rechunk } from '../../transforms/rechunk.js';
import { resample } from '../../transforms/resample.js';
import { DEFAULT_QUEUE_SIZE_MS } from '../../sinks/LiveKitSink.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import { parseLoopbackArgs, runLoopback, type LoopbackReport } from '../../bin/commands/loopback.js';
import { concatFrames, idealSine, noise, sine, sineFitSnrDb, channel } from '../helpers/signals.js';

t.teardown(async () => {
  await dispose();
});

/**
 * A native queue deep enough that a stalled event loop (this machine's 2 cores are shared with other test
 * runs) cannot drain it, and a prebuffer so that a producer slowed down at start-up cannot either: a
 * buffered-mode underrun inserts silence and shifts everything after it, which is not what these tests are
 * about (pacing.test.ts and abort.test.ts are).
 */
const Q = 200;
const PRE = 200;

const dir = t.testdir({});

/** Write `frames` to a WAV file with our own WavFileSink. */
async function writeWav(name: string, frames: AudioFrame[]): Promise<string> {
  const path = join(dir, name);
  await pipeline(Readable.from(frames), new WavFileSink(path));
  return path;
}

/** A pass-through that keeps every frame that goes by: what the sink is given. */
function tap(into: AudioFrame[]): Transform {
  return new Transform({
    objectMode: true,
    highWaterMark: 1,
    transform(f: AudioFrame, _e, cb) {
      into.push(f);
      cb(null, f);
    },
  });
}

/** Wait until everything sent (counted from the first sound) has come back; the received audio so far. */
async function received(lb: Loopback, sentSamplesPerChannel: number): Promise<Int16Array> {
  await lb.recorder.waitFor(
    (r) => r.firstSoundSample !== null && r.samplesReceived - r.firstSoundSample >= sentSamplesPerChannel,
    5000,
  );
  return lb.recorder.samples();
}

/**
 * Before the audio the loopback delivers whole 10 ms frames of silence: the ticker's, from when the stream
 * started to the first capture (one frame when the first capture comes at once, more when it does not).
 */
function leadingSilenceOnly(t: Test, got: Int16Array, a: AlignResult, ch: number, rate = 48000): void {
  t.equal(a.offset % (rate / 100), 0, `the offset (${a.offset}) is whole 10 ms frames`);
  t.ok(a.offset <= rate / 2, 'of at most 500 ms');
  t.ok(
    got.subarray(0, a.offset * ch).every((v) => v === 0),
    'of silence',
  );
}

for (const ch of [1, 2]) {
  t.test(
    `48 kHz ${ch === 1 ? 'mono' : 'stereo'} WAV → decodeWav → rechunk → LiveKitSink arrives sample-exact`,
    async (t) => {
      // 1 s of full-scale noise in odd-sized pieces: every sample value and every frame boundary is exercised
      const frames = Array.from({ length: 10 }, (_, i) => noise(48000, ch, 4800, 100 + i));
      const path = await writeWav(`noise-${ch}.wav`, frames);
      const sent = concatFrames(frames);
      const lb = createLoopback({ sampleRate: 48000, channels: ch, queueSizeMs: Q, prebufferMs: PRE });
      t.teardown(() => lb.close());
      const start = performance.now();
      await pipeline(createReadStream(path, { highWaterMark: 3001 }), decodeWav(), rechunk(), lb.sink);
      const wall = performance.now() - start;
      const got = await received(lb, 48000);
      const a = alignAudio(sent, got, { channels: ch });
      leadingSilenceOnly(t, got, a, ch);
      t.equal(a.mismatches, 0);
      t.equal(a.missing, 0);
      t.ok(a.exact, 'sample-exact');
      t.equal(lb.sink.stats.samplesCaptured, 48000);
      t.ok(wall > 900 && wall < 1400, `1 s of audio played in ${wall.toFixed(0)} ms`);
    },
  );
}

t.test('44.1 kHz → resample → 48 kHz: the length is exact and the sine SNR ≥ 85 dB', async (t) => {
  const src = sine(44100, 1, 1000, 1000, 0.5);
  const path = await writeWav('sine-44k.wav', [src]);
  const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: Q, prebufferMs: PRE });
  t.teardown(() => lb.close());
  const toSink: AudioFrame[] = [];
  await pipeline(
    createReadStream(path, { highWaterMark: 4096 }),
    decodeWav(),
    resample({ sampleRate: 48000, channels: 1 }),
    rechunk(),
    tap(toSink),
    lb.sink,
  );
  const reference = concatFrames(toSink);
  t.equal(reference.length, 48000, '44100 in → exactly 48000 out (100 × 480-sample frames)');
  const got = await received(lb, 48000);
  const a = alignAudio(reference, got);
  t.ok(a.exact, `the loopback carries the resampled audio sample-exact: ${JSON.stringify(a)}`);
  leadingSilenceOnly(t, got, a, 1);
  // the resampler's own quality, alignment-free: skip 20 ms at each end (filter edges)
  const body = got.subarray(a.offset + 960, a.offset + 48000 - 960);
  const snr = sineFitSnrDb(body, 48000, 1000);
  t.ok(snr >= 85, `SNR ${snr.toFixed(1)} dB`);
});

t.test('44.1 kHz stereo → resample to 48 kHz stereo keeps both channels', async (t) => {
  const frames = [sine(44100, 2, 440, 500, 0.4)];
  const path = await writeWav('sine-44k-stereo.wav', frames);
  const lb = createLoopback({ sampleRate: 48000, channels: 2, queueSizeMs: Q, prebufferMs: PRE });
  t.teardown(() => lb.close());
  const toSink: AudioFrame[] = [];
  await pipeline(
    createReadStream(path),
    decodeWav(),
    resample({ sampleRate: 48000, channels: 2 }),
    rechunk(),
    tap(toSink),
    lb.sink,
  );
  const reference = concatFrames(toSink);
  const got = await received(lb, reference.length / 2);
  const a = alignAudio(reference, got, { channels: 2 });
  t.ok(a.exact);
  for (const c of [0, 1]) {
    const x = channel(got, 2, c).subarray(a.offset + 960, a.offset + 24000 - 960);
    const snr = sineFitSnrDb(x, 48000, 440);
    t.ok(snr >= 85, `channel ${c}: SNR ${snr.toFixed(1)} dB`);
  }
});

for (const fastCapture of [true, false]) {
  const how = fastCapture ? 'FFI capture' : "rtc-node's captureFrame";
  t.test(
    `${how}: frames that are views of a larger buffer arrive correctly (the rtc-node byteOffset bug)`,
    async (t) => {
      const all = noise(48000, 1, 48000, 7).data; // one 1 s buffer
      // 10 ms frames that are subarrays of it: byteOffset ≠ 0, buffer larger than the frame
      const views = Array.from(
        { length: 100 },
        (_, i) => new AudioFrame(all.subarray(i * 480, (i + 1) * 480), 48000, 1, 480),
      );
      t.ok(views.every((v) => v.data.byteOffset !== 0 || v.data.buffer.byteLength !== v.data.byteLength));
      const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: Q, prebufferMs: PRE, fastCapture });
      t.teardown(() => lb.close());
      t.equal(lb.sink.stats.captureMethod, fastCapture ? 'ffi' : 'rtc-node');
      await pipeline(Readable.from(views), lb.sink);
      const got = await received(lb, 48000);
      const a = alignAudio(all, got);
      t.ok(a.exact, `sample-exact (mismatches: ${a.mismatches})`);
      leadingSilenceOnly(t, got, a, 1);
    },
  );

  t.test(
    `${how}: buffered mode accepts frames that are not whole 10 ms (counted); end() pads the last 10 ms so all of it plays`,
    async (t) => {
      const frames = Array.from({ length: 40 }, (_, i) => noise(48000, 1, 441 + (i % 3), 300 + i)); // 441–443 samples
      const sent = concatFrames(frames);
      const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: Q, prebufferMs: PRE, fastCapture });
      t.teardown(() => lb.close());
      t.equal(lb.sink.stats.captureMethod, fastCapture ? 'ffi' : 'rtc-node');
      await pipeline(Readable.from(frames), lb.sink);
      t.equal(lb.sink.stats.unalignedFrames, 40);
      t.equal(lb.sink.stats.paddedSamples, 480 - (sent.length % 480));
      const got = await received(lb, sent.length);
      const a = alignAudio(sent, got);
      t.ok(a.exact, JSON.stringify(a));
    },
  );

  t.test(`${how}: direct mode (queueSizeMs 0) carries the audio sample-exact too`, async (t) => {
    const frames = Array.from({ length: 50 }, (_, i) => noise(48000, 1, 480, 500 + i));
    const sent = concatFrames(frames);
    const lb = createLoopback({ sampleRate: 48000, channels: 1, queueSizeMs: 0, fastCapture });
    t.teardown(() => lb.close());
    t.equal(lb.sink.stats.captureMethod, fastCapture ? 'ffi' : 'rtc-node');
    await pipeline(Readable.from(frames), lb.sink);
    // direct mode sends no silence: what arrives is exactly what was pushed
    await lb.recorder.waitFor((r) => r.samplesReceived >= sent.length, 3000);
    const a = alignAudio(sent, lb.recorder.samples());
    t.ok(a.exact);
    t.equal(a.offset, 0, 'no leading silence in direct mode');
  });
}

t.test('recorder: arrival times, waitFor timeouts, and the end of the stream', async (t) => {
  const lb = createLoopback({ sampleRate: 16000, channels: 1, record: false, onFrame: () => undefined });
  await pipeline(Readable.from([sine(16000, 1, 500, 100)]), lb.sink);
  await lb.recorder.waitFor((r) => r.lastSoundAt !== null, 2000);
  t.equal(lb.recorder.chunks.length, 0, 'record: false keeps nothing');
  t.ok(lb.recorder.firstSoundAt! <= lb.recorder.lastSoundAt!);
  await t.rejects(
    lb.recorder.waitFor(() => false, 30),
    /within 30 ms/,
  );
  const never = lb.recorder.waitFor(() => false, 5000);
  await lb.close();
  await t.rejects(never, /ended before/);
  await lb.close(); // idempotent
  t.equal(lb.sink.destroyed, true);
  t.equal(lb.source.closed, true, 'close() released the source');
});

t.test('alignAudio: offsets, mismatches, missing tails, and lossy paths', async (t) => {
  const sent = Int16Array.from(idealSine(48000, 440, 4800, 0.5), Math.round);
  const rx = new Int16Array(100 + 4800 + 50);
  rx.set(sent, 100);
  t.match(alignAudio(sent, rx), { offset: 100, exact: true, mismatches: 0, missing: 0, snrDb: Infinity });
  const bad = rx.slice();
  bad[100 + 1234] = (bad[100 + 1234]! + 1) as number;
  const b = alignAudio(sent, bad);
  t.equal(b.offset, 100, 'found by correlation when nothing matches exactly');
  t.equal(b.exact, false);
  t.equal(b.mismatches, 1);
  t.equal(b.firstMismatch, 1234);
  t.ok(b.snrDb > 80);
  const short = rx.subarray(0, 100 + 4000);
  const c = alignAudio(sent, short);
  t.equal(c.offset, 100);
  t.equal(c.missing, 800);
  t.equal(c.exact, false);
});

t.test(
  'CLI: `livekit-audio loopback` with no file runs the generated sample end to end and exits by itself',
  async (t) => {
    const out = join(dir, 'cli-default');
    const started = performance.now();
    const args = [
      'bin/livekit-audio.ts',
      'loopback',
      '--out',
      out,
      '--queue-ms',
      String(Q),
      '--prebuffer-ms',
      String(PRE),
    ];
    const child = spawnSync(process.execPath, [...process.execArgv, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const took = performance.now() - started;
    t.equal(child.status, 0, `exit code 0: ${child.stdout} ${child.stderr}`);
    t.ok(took < 30_000, `the process exited by itself after ${(took / 1000).toFixed(1)} s`);
    t.match(child.stdout, /sample-exact\s+yes/);
    t.match(child.stdout, /pacing ratio 1\.0\d+/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as LoopbackReport;
    t.equal(report.sampleExact, true);
    t.equal(report.input.generated, true);
    t.equal(report.durationMs, 4000);
    t.ok(report.pacingRatio > 0.98 && report.pacingRatio < 1.1, `pacing ratio ${report.pacingRatio}`);
    t.ok(
      report.firstAudioLatencyMs! > 0 && report.firstAudioLatencyMs! < 1000,
      `first audio ${report.firstAudioLatencyMs} ms`,
    );
    t.equal(report.sink.samplesCaptured, 4 * 48000);
    const svg = readFileSync(join(out, 'report.svg'), 'utf8');
    t.match(svg, /^<svg/);
    t.equal((svg.match(/<polyline/g) ?? []).length, 6, 'waveform (sent, received, difference) and pacing (3 lines)');
    t.ok(statSync(join(out, 'received.wav')).size > 4 * 96000, 'received.wav holds the 4 s');
  },
);

t.test(
  'CLI in-process: a 44.1 kHz stereo WAV, direct mode, resampled → compared with the resampled reference',
  async (t) => {
    const path = await writeWav('cli-44k.wav', [sine(44100, 2, 440, 1000, 0.5)]);
    const out = join(dir, 'cli-44k');
    const io = { out: new PassThrough(), err: new PassThrough(), signal: new AbortController().signal };
    const code = await runLoopback([path, '--out', out, '--channels', '2', '--direct'], io);
    const printed = String(io.out.read() ?? '');
    t.equal(code, 0, printed + String(io.err.read() ?? ''));
    t.match(printed, /direct mode/);
    t.match(printed, /against the resampled reference/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as LoopbackReport;
    t.equal(report.resampled, true);
    t.same(report.input, { file: path, generated: false, sampleRate: 44100, channels: 2 });
    t.equal(report.track.mode, 'direct');
    t.equal(report.sampleExact, true);
    t.equal(report.sink.samplesCaptured, 48000);
  },
);

t.test('CLI in-process: a compressed file goes through decodeFile', async (t) => {
  const out = join(dir, 'cli-flac');
  const io = { out: new PassThrough(), err: new PassThrough(), signal: new AbortController().signal };
  const code = await runLoopback(
    ['test/fixtures/compressed/tone.flac', '--out', out, '--queue-ms', String(Q), '--prebuffer-ms', String(PRE)],
    io,
  );
  t.equal(code, 0, String(io.out.read() ?? '') + String(io.err.read() ?? ''));
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as LoopbackReport;
  t.equal(report.input.sampleRate, 44100);
  t.equal(report.sampleExact, true);
  t.equal(report.track.queueSizeMs, Q);
});

t.test('CLI: bad invocations exit 2, a missing file 3, Ctrl-C 130', async (t) => {
  const run = async (args: string[], signal = new AbortController().signal) => {
    const io = { out: new PassThrough(), err: new PassThrough(), signal };
    const code = await runLoopback(args, io);
    return { code, err: String(io.err.read() ?? '') };
  };
  for (const args of [
    ['--rate', 'x'],
    ['--rate', '22050'],
    ['--channels', '3'],
    ['--queue-ms', '15'],
    ['--direct', '--queue-ms', '50'],
    ['--direct', '--prebuffer-ms', '50'],
    ['a.wav', 'b.wav'],
    ['--bogus'],
  ]) {
    const r = await run(args);
    t.equal(r.code, 2, `${args.join(' ')}: ${r.err.trim()}`);
  }
  const missing = await run([join(dir, 'no-such.wav'), '--out', join(dir, 'cli-missing')]);
  t.equal(missing.code, 3, 'an input error (bin/commands/exitCodes.ts), as in publish');
  t.match(missing.err, /ENOENT|no such file/i);
  const ac = new AbortController();
  const interrupted = run(['--out', join(dir, 'cli-abort')], ac.signal);
  setTimeout(() => ac.abort(), 300);
  const r = await interrupted;
  t.equal(r.code, 130);
  t.match(r.err, /interrupted/);
  t.same(parseLoopbackArgs([]), {
    file: undefined,
    out: 'out',
    sampleRate: 48000,
    channels: 1,
    queueSizeMs: DEFAULT_QUEUE_SIZE_MS,
    prebufferMs: 0,
    quiet: false,
    json: false,
    progress: false,
  });
});
