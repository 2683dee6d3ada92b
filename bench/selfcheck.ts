/**
 * Correctness of the prototype the suite recommends (bench/lib/fastCapture.ts), through the real native path:
 * LiveKitSink (direct and buffered mode) with the fast capture installed → LocalAudioTrack → AudioStream, and
 * the received audio compared sample by sample with what was sent. Also: a frame whose data is a view into a
 * larger buffer (rtc-node's own captureFrame sends the wrong samples for it), and one reused buffer for every
 * capture (native copies during the request). A figure is only worth recommending if this passes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioSource, AudioStream, LocalAudioTrack, dispose } from '@livekit/rtc-node';
import { AudioFrame, concatSamples } from '../lib/frames.js';
import { alignAudio, createLoopback, LoopbackRecorder } from '../lib/loopback.js';
import { fastCaptureFrame, installFastCapture } from './lib/fastCapture.js';
import { sleep } from './lib/measure.js';

export interface SelfCheckResult {
  directExact: boolean;
  bufferedExact: boolean;
  viewFrameExact: boolean;
  reusedBufferExact: boolean;
  details: Record<string, unknown>;
}

function ramp(frames: number, seed: number): AudioFrame[] {
  const out: AudioFrame[] = [];
  for (let f = 0; f < frames; f++) {
    const d = new Int16Array(480);
    for (let i = 0; i < 480; i++) d[i] = ((f * 480 + i) * seed) % 30000 - 15000 || 1;
    out.push(new AudioFrame(d, 48000, 1, 480));
  }
  return out;
}


async function throughSink(queueSizeMs: number, seed: number): Promise<ReturnType<typeof alignAudio>> {
  const lb = createLoopback({ queueSizeMs });
  installFastCapture(lb.source);
  const frames = ramp(100, seed);
  await pipeline(Readable.from(frames), lb.sink);
  await sleep(100);
  await lb.close();
  return alignAudio(concatSamples(frames), lb.recorder.samples());
}

/**
 * Capture through fastCaptureFrame directly, one frame per 10 ms (direct mode). With `clobber`, the frame's
 * samples are overwritten as soon as the request returns, before its callback: exact output then proves that
 * native copied them during the request.
 */
async function direct(
  make: (i: number) => AudioFrame,
  count: number,
  clobber = false,
): Promise<{ sent: Int16Array; got: Int16Array }> {
  const source = new AudioSource(48000, 1, 0);
  const track = LocalAudioTrack.createAudioTrack('selfcheck', source);
  const recorder = new LoopbackRecorder(new AudioStream(track, { sampleRate: 48000, numChannels: 1 }));
  const sent: Int16Array[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const frame = make(i);
    sent.push(frame.data.slice());
    const captured = fastCaptureFrame(source, frame);
    if (clobber) frame.data.fill(31111);
    await captured;
    await sleep(Math.max(0, t0 + (i + 1) * 10 - performance.now()));
  }
  await sleep(100);
  await recorder.stop();
  await track.close(false);
  await source.close();
  const all = new Int16Array(sent.reduce((n, s) => n + s.length, 0));
  sent.reduce((at, s) => (all.set(s, at), at + s.length), 0);
  return { sent: all, got: recorder.samples() };
}

export async function runSelfCheck(): Promise<SelfCheckResult> {
  const d = await throughSink(0, 7);
  const b = await throughSink(50, 11);

  // a view: 480 samples at offset 96 of a bigger buffer
  const big = new Int16Array(480 + 96 + 32);
  const view = await direct((i) => {
    for (let k = 0; k < big.length; k++) big[k] = k < 96 || k >= 576 ? 12345 : ((i * 480 + k - 96) * 13) % 20000 - 10000 || 1;
    return new AudioFrame(big.subarray(96, 576), 48000, 1, 480);
  }, 50);
  const viewAlign = alignAudio(view.sent, view.got);

  // one buffer for every capture, clobbered right after each request
  const shared = new Int16Array(480);
  const reused = await direct(
    (i) => {
      for (let k = 0; k < 480; k++) shared[k] = ((i * 480 + k) * 17) % 24000 - 12000 || 1;
      return new AudioFrame(shared, 48000, 1, 480);
    },
    50,
    true,
  );
  const reusedAlign = alignAudio(reused.sent, reused.got);
  await dispose();
  return {
    directExact: d.exact,
    bufferedExact: b.exact,
    viewFrameExact: viewAlign.exact,
    reusedBufferExact: reusedAlign.exact,
    details: { direct: d, buffered: b, view: viewAlign, reused: reusedAlign },
  };
}
