/**
 * The way back of one call: room audio to the caller, in the protocol's own framing, paced in real time.
 *
 *   Readable of AudioFrames (a LiveKitSource at the caller's rate) ─► cut into frameMs ─► encode ─► ws.send
 *
 * Pacing. The caller plays what it receives in real time, so what it holds unplayed is about
 * `sentMs − (now − playStart)`. A message goes out only while that stays within `maxAheadFrames` messages
 * (default 2): an interruption then costs the caller at most that much stale audio, and a burst from the room
 * side (an event-loop stall, a TTS engine faster than real time) waits here, in the source's bounded buffer,
 * instead of in the caller's unbounded one. When the estimate reaches zero the caller has run dry and a new
 * epoch starts. Waiting must not become delay: when more than `maxLagMs` is queued behind the pacing (after an
 * event-loop stall, the room side caught up in a burst), the oldest is skipped, so the round trip returns to what
 * it was instead of keeping the stall's length for the rest of the call.
 *
 * Marks. Every `markEveryMs` of audio a mark follows (if the protocol has them); the client echoes it once it
 * has played everything before it, and the time from sending to the echo is the caller-side playout delay.
 *
 * clear() (barge-in): the source's queue, the partial message and the caller's buffer (the protocol's clear
 * message) are dropped, pending marks forgotten.
 */
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { bytesPerSample, fromInt16 } from '../lib/formats.js';
import type { AudioFrame } from '../lib/frames.js';
import { FrameFormatError } from '../lib/errors.js';
import { quantile } from '../lib/stats.js';
import type { Outbound } from './protocols/protocol.js';

/** The event a return-audio Readable emits when the room side's audio was interrupted (the caller's is cleared). */
export const INTERRUPTED = 'interrupted';

export interface PlaybackOptions {
  /** AudioFrames at outbound.format's rate and channels, any size. */
  audio: Readable & { clear?(): number; readonly bufferedMs?: number };
  outbound: Outbound;
  send(message: string | Buffer): void;
  /** Bytes the socket has not yet sent: over `maxUnsentBytes` a message is dropped rather than queued. */
  unsentBytes(): number;
  clock: Clock;
  /** Most messages the caller may hold unplayed. Default 2. */
  maxAheadFrames?: number;
  /** Audio queued behind the pacing (in the source and here) beyond which the oldest is skipped. Default 3 messages. */
  maxLagMs?: number;
  /** A mark after every this much audio, ms; 0 for none. Default 1000. */
  markEveryMs?: number;
  /** Default 65536. */
  maxUnsentBytes?: number;
  /** The return audio failed (a frame of the wrong format): the call goes on one-way. */
  onError(err: Error): void;
}

export interface PlaybackStats {
  messages: number;
  msSent: number;
  bytesSent: number;
  /** Messages dropped because the socket did not drain (a client not reading). */
  droppedMessages: number;
  clears: number;
  /** Audio dropped by clear(): queued in the source and the partial message, ms. */
  clearedMs: number;
  /** Audio skipped because more than maxLagMs was queued behind the pacing (after a stall), ms. */
  skippedMs: number;
  /** Times the room side delivered nothing for over a message's length after audio had started: gaps heard. */
  gaps: number;
  marksSent: number;
  marksPlayed: number;
  /** Time from sending a mark to its echo, ms: what the caller held unplayed. null before any echo. */
  playoutDelayMs: { p50: number; max: number; last: number } | null;
}

const MAX_PENDING_MARKS = 64;

export class CallPlayback {
  readonly #o: Required<Omit<PlaybackOptions, 'audio'>> & Pick<PlaybackOptions, 'audio'>;
  readonly #frameSamples: number;
  readonly #bytesPerSample: number;
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  #sentMs = 0;
  #playStart = 0;
  #sinceMark = 0;
  #markSeq = 0;
  readonly #marks = new Map<string, number>();
  readonly #delays: number[] = [];
  #timer: TimerHandle | undefined;
  #stopped = false;
  readonly #stats: PlaybackStats = {
    messages: 0,
    msSent: 0,
    bytesSent: 0,
    droppedMessages: 0,
    clears: 0,
    clearedMs: 0,
    skippedMs: 0,
    gaps: 0,
    marksSent: 0,
    marksPlayed: 0,
    playoutDelayMs: null,
  };

  constructor(opts: PlaybackOptions) {
    const { format, frameMs } = opts.outbound;
    this.#o = { maxAheadFrames: 2, markEveryMs: 1000, maxUnsentBytes: 65536, maxLagMs: 3 * frameMs, ...opts };
    this.#frameSamples = ((format.sampleRate * frameMs) / 1000) * format.channels;
    this.#bytesPerSample = bytesPerSample(format.encoding);
    this.#playStart = opts.clock.now();
    opts.audio.on('readable', this.#pump);
    opts.audio.on(INTERRUPTED, () => this.#guard(() => this.clear()));
    opts.audio.on('error', () => undefined); // its owner reports it; here it only ends the way back
    this.#pump();
  }

  get stats(): PlaybackStats {
    return { ...this.#stats, skippedMs: Math.round(this.#stats.skippedMs) };
  }

  /** What the caller is estimated to hold unplayed plus the partial message here, ms. */
  get bufferedMs(): number {
    const { format, frameMs } = this.#o.outbound;
    const partial = (this.#pendingSamples / format.channels / format.sampleRate) * 1000;
    return Math.max(0, this.#aheadMs(this.#o.clock.now())) + Math.min(partial, frameMs);
  }

  /** Barge-in: drop what is queued here and in the source, and tell the caller to drop what it holds. */
  clear(): void {
    if (this.#stopped) return;
    const { format } = this.#o.outbound;
    const partialMs = (this.#pendingSamples / format.channels / format.sampleRate) * 1000;
    const sourceMs = this.#o.audio.clear?.() ?? 0;
    this.#pending = [];
    this.#pendingSamples = 0;
    this.#stats.clears++;
    this.#stats.clearedMs += Math.round(partialMs + sourceMs);
    this.#marks.clear();
    const msg = this.#o.outbound.clear();
    if (msg !== undefined) this.#o.send(msg);
    this.#sentMs = 0;
    this.#playStart = this.#o.clock.now();
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  /** The client echoed a mark: everything sent before it has played. Unknown names are ignored. */
  played(name: string): void {
    const sentAt = this.#marks.get(name);
    if (sentAt === undefined) return;
    this.#marks.delete(name);
    const delay = this.#o.clock.now() - sentAt;
    this.#stats.marksPlayed++;
    if (this.#delays.length < 10_000) this.#delays.push(delay);
    const prev = this.#stats.playoutDelayMs;
    this.#stats.playoutDelayMs = {
      p50: Math.round(quantile(this.#delays, 0.5)),
      max: Math.round(Math.max(prev?.max ?? 0, delay)),
      last: Math.round(delay),
    };
  }

  /** The call is over: stop sending and release the audio. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#o.audio.off('readable', this.#pump);
    this.#o.audio.destroy();
  }

  #aheadMs(now: number): number {
    return this.#sentMs - (now - this.#playStart);
  }

  /**
   * Run one entry point from a timer or a stream event: a defect (a return source that pushes something that is not
   * a frame, an encoder that throws) ends the way back with onError, never the process.
   */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stop();
      this.#o.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  readonly #pump = (): void => this.#guard(() => this.#send());

  #send(): void {
    if (this.#stopped || this.#timer) return;
    const { frameMs } = this.#o.outbound;
    const limit = (this.#o.maxAheadFrames - 1) * frameMs;
    for (;;) {
      const now = this.#o.clock.now();
      const ahead = this.#aheadMs(now);
      if (ahead > limit) {
        this.#timer = this.#o.clock.setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, ahead - limit);
        return;
      }
      this.#catchUp();
      const samples = this.#take();
      if (!samples) return; // 'readable' calls again
      if (ahead <= 0) {
        // the caller has played everything: a new epoch from now
        if (ahead < -frameMs && this.#stats.messages > 0) this.#stats.gaps++;
        this.#sentMs = 0;
        this.#playStart = now;
      }
      this.#sendMedia(samples);
    }
  }

  /** Skip the oldest audio while more than maxLagMs is queued (the source's buffer and the partial message). */
  #catchUp(): void {
    const { format } = this.#o.outbound;
    const perMs = (format.sampleRate * format.channels) / 1000;
    while ((this.#o.audio.bufferedMs ?? 0) + this.#pendingSamples / perMs > this.#o.maxLagMs) {
      const head = this.#pending.shift();
      if (head) {
        this.#pendingSamples -= head.length;
        this.#stats.skippedMs += head.length / perMs;
        continue;
      }
      const frame = this.#o.audio.read() as AudioFrame | null;
      if (frame === null) return;
      this.#stats.skippedMs += frame.data.length / perMs;
    }
  }

  /** The next message's samples, or null until the source has them. */
  #take(): Int16Array | null {
    while (this.#pendingSamples < this.#frameSamples) {
      const frame = this.#o.audio.read() as AudioFrame | null;
      if (frame === null) return null;
      const { format } = this.#o.outbound;
      if (
        !(frame?.data instanceof Int16Array) ||
        frame.sampleRate !== format.sampleRate ||
        frame.channels !== format.channels
      ) {
        this.stop();
        this.#o.onError(
          new FrameFormatError(
            'ERR_FRAME_MISMATCH',
            `the way back needs ${format.sampleRate} Hz / ${format.channels} ch AudioFrames, got ` +
              (frame?.data instanceof Int16Array ? `${frame.sampleRate} Hz / ${frame.channels} ch` : typeof frame),
          ),
        );
        return null;
      }
      this.#pending.push(frame.data);
      this.#pendingSamples += frame.data.length;
    }
    const out = new Int16Array(this.#frameSamples);
    let filled = 0;
    while (filled < out.length) {
      const head = this.#pending[0]!;
      const n = Math.min(head.length, out.length - filled);
      out.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.#pending.shift();
      else this.#pending[0] = head.subarray(n);
    }
    this.#pendingSamples -= out.length;
    return out;
  }

  #sendMedia(samples: Int16Array): void {
    const { outbound, clock } = this.#o;
    // the caller's clock runs whether or not the message makes it: a dropped message is a gap, not a delay
    this.#sentMs += outbound.frameMs;
    this.#sinceMark += outbound.frameMs;
    if (this.#o.unsentBytes() > this.#o.maxUnsentBytes) {
      this.#stats.droppedMessages++;
      return;
    }
    const bytes = Buffer.allocUnsafe(samples.length * this.#bytesPerSample);
    fromInt16(outbound.format.encoding, samples, bytes);
    this.#o.send(outbound.media(bytes));
    this.#stats.messages++;
    this.#stats.msSent += outbound.frameMs;
    this.#stats.bytesSent += bytes.length;
    if (outbound.mark && this.#o.markEveryMs > 0 && this.#sinceMark >= this.#o.markEveryMs) {
      this.#sinceMark = 0;
      const name = `m${++this.#markSeq}`;
      if (this.#marks.size >= MAX_PENDING_MARKS) this.#marks.delete(this.#marks.keys().next().value!);
      this.#marks.set(name, clock.now());
      this.#o.send(outbound.mark(name));
      this.#stats.marksSent++;
    }
  }
}
