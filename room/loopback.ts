/**
 * The local loopback: the embedded default and the integration harness. No LiveKit server, no room —
 *
 *   AudioSource → LocalAudioTrack.createAudioTrack → AudioStream(track)
 *
 * carries audio through rtc-node's native pipeline and back, bit-exact, with one 10 ms frame of leading
 * silence (docs/design.md). `createLoopback()` wires a LiveKitSink to it and starts a recorder that reads the
 * AudioStream continuously (so the stream never backs up) and keeps what arrives, with arrival times.
 * `alignAudio()` finds the received copy of what was sent and compares it sample by sample.
 *
 * rtc-node keeps the process alive: after `close()`, call `dispose()` from '@livekit/rtc-node' once the
 * process is done with rtc-node altogether, or it will not exit.
 */
import { AudioStream, LocalAudioTrack, type AudioFrame, type AudioSource } from '@livekit/rtc-node';
import { realClock, type Clock } from '../lib/clock.js';
import { concatSamples } from '../lib/frames.js';
import type { Pacer } from '../lib/pacer.js';
import { LiveKitSink } from '../sinks/LiveKitSink.js';

export interface LoopbackOptions {
  /** Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  channels?: number;
  /** The source's native queue: 0 (direct mode) or a multiple of 10. Default LiveKitSink's default (0: direct). */
  queueSizeMs?: number;
  /** Arrival times and the sink's stats use it. Default realClock. */
  clock?: Clock;
  /** Direct mode: the sink's pacer. */
  pacer?: Pacer;
  /** The sink's highWaterMark. Default 1. */
  highWaterMark?: number;
  /** The sink's prebufferMs (buffered mode). Default 0. */
  prebufferMs?: number;
  /** The sink's fastCapture. Default true. */
  fastCapture?: boolean;
  /** Keep received frames in memory (`recorder.chunks`). Default true; turn off for long runs. */
  record?: boolean;
  /** Called for every received frame with its arrival time. */
  onFrame?: (frame: AudioFrame, at: number) => void;
}

export interface ReceivedChunk {
  /** Clock time the frame reached JavaScript. */
  at: number;
  frame: AudioFrame;
}

/** Reads an AudioStream to the end, keeping (optionally) every frame and when it arrived. */
export class LoopbackRecorder {
  readonly chunks: ReceivedChunk[] = [];
  /** Per channel, silent frames included. */
  samplesReceived = 0;
  /** Arrival time of the first / latest frame that was not all zeros (null before any). */
  firstSoundAt: number | null = null;
  lastSoundAt: number | null = null;
  /** Where (samples per channel into the received audio) the first frame that was not all zeros starts. */
  firstSoundSample: number | null = null;
  /** Resolves when the stream ends (close(), or the track went away). */
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<AudioFrame>;
  readonly #clock: Clock;
  readonly #record: boolean;
  readonly #onFrame: ((frame: AudioFrame, at: number) => void) | undefined;
  #waiters: (() => void)[] = [];

  constructor(stream: AudioStream, opts: Pick<LoopbackOptions, 'clock' | 'record' | 'onFrame'> = {}) {
    this.#reader = stream.getReader();
    this.#clock = opts.clock ?? realClock;
    this.#record = opts.record ?? true;
    this.#onFrame = opts.onFrame;
    this.done = this.#run();
  }

  /** The received audio so far, interleaved, concatenated. */
  samples(): Int16Array {
    return concatSamples(this.chunks.map((c) => c.frame));
  }

  /**
   * Resolves once `predicate` holds (checked now and on every received frame); rejects after `timeoutMs`
   * of real time, or when the stream ends first.
   */
  waitFor(predicate: (r: LoopbackRecorder) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`loopback: condition not met within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (predicate(this)) finish();
      };
      this.#waiters.push(check);
      check();
      void this.done.then(() => {
        if (this.#waiters.includes(check)) finish(new Error('loopback: the stream ended before the condition was met'));
      });
    });
  }

  /** Stop reading and release the stream. */
  async stop(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
    await this.done;
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const { value: frame, done } = await this.#reader.read();
        if (done) return;
        const at = this.#clock.now();
        if (!isSilent(frame.data)) {
          this.firstSoundAt ??= at;
          this.firstSoundSample ??= this.samplesReceived;
          this.lastSoundAt = at;
        }
        this.samplesReceived += frame.samplesPerChannel;
        if (this.#record) this.chunks.push({ at, frame });
        this.#onFrame?.(frame, at);
        for (const w of [...this.#waiters]) w();
      }
    } catch {
      // a cancelled reader rejects pending reads: that is the end of the stream
    }
  }
}

export interface Loopback {
  /** The LiveKitSink feeding `source`; it owns the source (closes it after playout on end, at once on destroy). */
  sink: LiveKitSink;
  source: AudioSource;
  track: LocalAudioTrack;
  stream: AudioStream;
  recorder: LoopbackRecorder;
  /** Destroy the sink if still open, stop the recorder, close the track and the source. Idempotent. */
  close(): Promise<void>;
}

/** A LiveKitSink whose audio comes back through rtc-node's native pipeline into a recorder. */
export function createLoopback(opts: LoopbackOptions = {}): Loopback {
  const sink = new LiveKitSink({
    sampleRate: opts.sampleRate,
    channels: opts.channels,
    queueSizeMs: opts.queueSizeMs,
    clock: opts.clock,
    pacer: opts.pacer,
    highWaterMark: opts.highWaterMark,
    prebufferMs: opts.prebufferMs,
    fastCapture: opts.fastCapture,
  });
  const source = sink.source;
  const track = LocalAudioTrack.createAudioTrack('loopback', source);
  const stream = new AudioStream(track, { sampleRate: sink.sampleRate, numChannels: sink.channels });
  const recorder = new LoopbackRecorder(stream, opts);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (!sink.destroyed) sink.destroy();
      await recorder.stop();
      await track.close(false);
      if (!sink.closed) await new Promise((resolve) => sink.once('close', resolve));
    })());
  return { sink, source, track, stream, recorder, close };
}

function isSilent(data: Int16Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

export interface AlignOptions {
  channels?: number;
  /**
   * Largest delay searched, in samples per channel. Default 48000 (1 s at 48 kHz): the leading silence is as
   * long as the stream existed before the first capture.
   */
  maxOffset?: number;
}

export interface AlignResult {
  /** Samples per channel by which `received` lags `sent` (480 at 48 kHz through the loopback). */
  offset: number;
  /** Every sent sample came back unchanged at that offset. */
  exact: boolean;
  /** Samples (interleaved) compared: all of `sent`, or what `received` holds past the offset. */
  compared: number;
  /** Compared samples that differ, and the index in `sent` of the first (-1 if none). */
  mismatches: number;
  firstMismatch: number;
  /** `sent` missing from the end of `received` (samples, interleaved). */
  missing: number;
  /** Sent vs received at the offset, in dB (Infinity when exact). */
  snrDb: number;
}

/**
 * Find where `sent` sits in `received` and compare. The offset is the smallest at which the whole of `sent`
 * matches exactly; if there is none (a lossy path), the one with the highest correlation.
 */
export function alignAudio(sent: Int16Array, received: Int16Array, opts: AlignOptions = {}): AlignResult {
  const ch = opts.channels ?? 1;
  const maxOffset = Math.min(opts.maxOffset ?? 48000, Math.floor(received.length / ch));
  let offset = -1;
  for (let o = 0; o <= maxOffset && offset < 0; o++) {
    if (matchesAt(sent, received, o * ch)) offset = o;
  }
  if (offset < 0) offset = bestCorrelation(sent, received, ch, maxOffset);
  const base = offset * ch;
  const compared = Math.min(sent.length, received.length - base);
  let mismatches = 0;
  let firstMismatch = -1;
  let sig = 0;
  let err = 0;
  for (let i = 0; i < compared; i++) {
    const d = received[base + i]! - sent[i]!;
    sig += sent[i]! * sent[i]!;
    err += d * d;
    if (d !== 0) {
      mismatches++;
      if (firstMismatch < 0) firstMismatch = i;
    }
  }
  const missing = sent.length - compared;
  return {
    offset,
    exact: mismatches === 0 && missing === 0,
    compared,
    mismatches,
    firstMismatch,
    missing,
    snrDb: err === 0 ? Infinity : 10 * Math.log10(sig / err),
  };
}

function matchesAt(sent: Int16Array, received: Int16Array, base: number): boolean {
  if (received.length - base < sent.length) return false;
  for (let i = 0; i < sent.length; i++) if (received[base + i] !== sent[i]) return false;
  return true;
}

function bestCorrelation(sent: Int16Array, received: Int16Array, ch: number, maxOffset: number): number {
  // 100 ms (at 48 kHz) of `sent` from its first sound: enough for a clear peak, cheap enough to slide
  let from = sent.findIndex((v) => v !== 0);
  if (from < 0) return 0;
  from -= from % ch;
  const window = Math.min(sent.length - from, 4800 * ch);
  let best = 0;
  let bestScore = -Infinity;
  for (let o = 0; o <= maxOffset; o++) {
    const base = o * ch + from;
    const n = Math.min(window, received.length - base);
    let score = 0;
    for (let i = 0; i < n; i++) score += sent[from + i]! * received[base + i]!;
    if (score > bestScore) {
      bestScore = score;
      best = o;
    }
  }
  return best;
}
