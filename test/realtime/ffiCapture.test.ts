/**
 * lib/ffiCapture.ts through the real native path: the FFI request written by hand must carry exactly the
 * samples rtc-node's own captureFrame would (compared through the loopback, sample by sample), honour the
 * frame's byteOffset, let the caller reuse the buffer as soon as it returns, keep rtc-node's playout
 * bookkeeping in buffered mode, and dispatch completions in O(1): one listener, however many are pending.
 */
import t, { type Test } from 'tap';
import { AudioSource, AudioStream, LocalAudioTrack, dispose } from '@livekit/rtc-node';
import { AudioFrame, concatSamples } from '../../lib/frames.js';
import { alignAudio, LoopbackRecorder } from '../../room/loopback.js';
import { captureFrame, ffiCaptureSupported, ffiCapturesPending } from '../../lib/ffiCapture.js';

t.teardown(async () => {
  await dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ffiListeners(): number {
  const client = (globalThis as { _ffiClientInstance?: { listenerCount(e: string): number } })._ffiClientInstance;
  return client!.listenerCount('ffi_event');
}

/** 10 ms at 48 kHz mono, a ramp that is different in every frame and never 0 (silence is not evidence). */
function fill(into: Int16Array, frame: number, seed: number): Int16Array {
  for (let i = 0; i < 480; i++) into[i] = (((frame * 480 + i) * seed) % 30000) - 15000 || 1;
  return into;
}

/**
 * Capture `count` frames through captureFrame into a direct-mode source, one per 10 ms, and record what comes
 * back. `clobber` overwrites the frame's samples as soon as the request returns, before its completion.
 */
async function roundTrip(t: Test, make: (i: number) => AudioFrame, count: number, clobber: boolean) {
  const source = new AudioSource(48000, 1, 0);
  const track = LocalAudioTrack.createAudioTrack('ffi-capture', source);
  const recorder = new LoopbackRecorder(new AudioStream(track, { sampleRate: 48000, numChannels: 1 }));
  t.ok(ffiCaptureSupported(), 'the FFI path is available for this rtc-node');
  const sent: AudioFrame[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const frame = make(i);
    sent.push(new AudioFrame(frame.data.slice(), 48000, 1, 480));
    const captured = captureFrame(source, frame);
    if (clobber) frame.data.fill(31111);
    await captured;
    await sleep(Math.max(0, t0 + (i + 1) * 10 - performance.now()));
  }
  await recorder.waitFor((r) => r.samplesReceived >= count * 480, 3000).catch(() => undefined);
  await recorder.stop();
  await track.close(false);
  await source.close();
  return alignAudio(concatSamples(sent), recorder.samples());
}

t.test('a frame that is a view into a larger buffer arrives sample-exact (its byteOffset is honoured)', async (t) => {
  const big = new Int16Array(96 + 480 + 32);
  const a = await roundTrip(
    t,
    (i) => {
      big.fill(12345);
      fill(big.subarray(96, 576), i, 13);
      return new AudioFrame(big.subarray(96, 576), 48000, 1, 480);
    },
    50,
    false,
  );
  t.ok(a.exact, `sample-exact (mismatches ${a.mismatches}, offset ${a.offset})`);
  t.equal(a.offset, 0, 'direct mode: no leading silence');
});

t.test('one buffer for every capture, overwritten right after each request: native copied it', async (t) => {
  const shared = new Int16Array(480);
  const a = await roundTrip(t, (i) => new AudioFrame(fill(shared, i, 17), 48000, 1, 480), 50, true);
  t.ok(a.exact, `sample-exact (mismatches ${a.mismatches})`);
});

t.test('buffered mode keeps rtc-node’s playout bookkeeping: queuedDuration and waitForPlayout', async (t) => {
  const source = new AudioSource(48000, 1, 200);
  t.teardown(() => source.close());
  for (let i = 0; i < 5; i++)
    await captureFrame(source, new AudioFrame(fill(new Int16Array(480), i, 3), 48000, 1, 480));
  const queued = source.queuedDuration;
  t.ok(queued > 35 && queued <= 50, `50 ms handed over, ${queued} ms estimated queued`);
  const start = performance.now();
  await source.waitForPlayout();
  const waited = performance.now() - start;
  t.ok(waited >= queued - 5, `waitForPlayout waited ${waited.toFixed(1)} ms for the ${queued} ms queued`);
  t.equal(source.queuedDuration, 0);
});

t.test('completions are dispatched through one listener, however many captures are pending', async (t) => {
  const n = 20;
  const sources = Array.from({ length: n }, () => new AudioSource(48000, 1, 10));
  t.teardown(() => Promise.all(sources.map((s) => s.close())));
  const before = ffiListeners();
  // the 10 ms queue takes the first frame at once; the second waits for room: pending
  const frame = () => new AudioFrame(fill(new Int16Array(480), 0, 5), 48000, 1, 480);
  await Promise.all(sources.map((s) => captureFrame(s, frame())));
  const ffi = sources.map((s) => captureFrame(s, frame()));
  t.ok(ffiCapturesPending() >= n - 2, `${ffiCapturesPending()} of ${n} captures pending`);
  t.ok(ffiListeners() <= before + 1, `FfiClient listeners ${before} → ${ffiListeners()} (at most our one)`);
  await Promise.all(ffi);
  t.equal(ffiCapturesPending(), 0, 'all completed');

  // rtc-node's own captureFrame: one listener per pending capture (the O(N) dispatch this path avoids)
  const listenersBefore = ffiListeners();
  await Promise.all(sources.map((s) => s.captureFrame(frame())));
  const rtc = sources.map((s) => s.captureFrame(frame()));
  t.ok(ffiListeners() >= listenersBefore + n - 2, `rtc-node: listeners ${listenersBefore} → ${ffiListeners()}`);
  await Promise.all(rtc);
});

t.test('a closed source rejects; an empty frame resolves without a request', async (t) => {
  const source = new AudioSource(48000, 1, 0);
  await captureFrame(source, new AudioFrame(new Int16Array(0), 48000, 1, 0));
  t.equal(ffiCapturesPending(), 0);
  await source.close();
  await t.rejects(captureFrame(source, new AudioFrame(new Int16Array(480), 48000, 1, 480)), /closed/);
});
