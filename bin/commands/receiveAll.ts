/**
 * The loopback command's wait for the last captured samples to come back. The recorder knows how many to
 * expect, so it stops as soon as they are in; the deadline (generous: a loaded machine delivers the native
 * pipeline's last frames late) only bounds a path that lost audio, and then the report says how much.
 */

/** 2 s, plus 10% of the audio's duration: what a loaded machine may owe at the end of a long file. */
export function receiveDeadlineMs(durationMs: number): number {
  return 2000 + 0.1 * durationMs;
}

/**
 * Samples per channel the recorder must receive from its first non-silent frame on to hold all of `sent`.
 * The received frames sit on the sent 10 ms grid (a whole number of frames of leading silence), so sent frames
 * that are all zeros before the first sound are not waited for: they arrived before that first sound frame.
 */
export function samplesToAwait(sent: Int16Array, channels: number, frameSize: number): number {
  const perChannel = sent.length / channels;
  const first = sent.findIndex((v) => v !== 0);
  if (first < 0) return perChannel;
  const silentFrames = Math.floor(Math.floor(first / channels) / frameSize);
  return perChannel - silentFrames * frameSize;
}

export interface ReceiveResult {
  /** Samples per channel awaited from the first received sound on (all of them when the audio is silence). */
  expectedSamples: number;
  /** Of those, how many had arrived when the wait ended. */
  receivedSamples: number;
  /** expectedSamples − receivedSamples, ≥ 0. */
  missingSamples: number;
  complete: boolean;
  /** How long the wait took, and how long it was allowed. */
  waitedMs: number;
  deadlineMs: number;
}

/** What receiveAll reads of a LoopbackRecorder (a structural subset, so tests can stand one in). */
export interface ReceiveCounts {
  samplesReceived: number;
  firstSoundSample: number | null;
}
export interface AwaitableRecorder extends ReceiveCounts {
  waitFor(predicate: (r: ReceiveCounts) => boolean, timeoutMs: number): Promise<void>;
}

/** Wait (up to `deadlineMs`) until the recorder holds `expected` samples per channel from its first sound on. */
export async function receiveAll(
  recorder: AwaitableRecorder,
  expected: number,
  allSilent: boolean,
  deadlineMs: number,
  now: () => number = () => performance.now(),
): Promise<ReceiveResult> {
  // silence has no first sound: then only the total can be counted
  const got = (r: ReceiveCounts) =>
    allSilent ? r.samplesReceived : r.firstSoundSample === null ? 0 : r.samplesReceived - r.firstSoundSample;
  const start = now();
  // a timeout, or the stream ending first, both leave the count short: the result says by how much
  await recorder.waitFor((r) => got(r) >= expected, deadlineMs).catch(() => undefined);
  const receivedSamples = Math.min(expected, got(recorder));
  return {
    expectedSamples: expected,
    receivedSamples,
    missingSamples: expected - receivedSamples,
    complete: receivedSamples >= expected,
    waitedMs: now() - start,
    deadlineMs,
  };
}
