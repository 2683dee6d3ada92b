/**
 * RoomAudio — what a caller hears from a room: one participant's audio (by identity) or the mix of every remote
 * participant's, as a bounded Readable of 10 ms AudioFrames (20 or more where the rate has no whole 10 ms) that
 * survives unpublish/republish.
 *
 * Each subscribed audio track is read through a LiveKitSource (bounded, resampled natively to `sampleRate`).
 * Following one identity, its frames pass straight through (no added delay); when that participant's track goes
 * away the stream emits 'interrupted' (the gateway clears the caller's buffer) and waits for the next one. Mixing,
 * a tick on the injected clock every 10 ms takes one frame from each track (silence for one that has none) and
 * sums them with saturation; a track that fell more than 30 ms behind (an event-loop stall) skips to catch up.
 *
 * `destroy()` releases every native stream. The Readable never ends by itself: the room may always republish.
 */
import { Readable } from 'node:stream';
import { RoomEvent, TrackKind, type RemoteParticipant, type RemoteTrack, type Room } from '@livekit/rtc-node';
import { realClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { createFrame, type AudioFrame } from '../lib/frames.js';
import { readableQueuedMs, type HoldsAudio } from '../lib/stats.js';
import { DEFAULT_MAX_BUFFER_MS, LiveKitSource } from '../sources/LiveKitSource.js';

export interface RoomAudioOptions {
  /** Whose audio: a participant identity. Default: every remote participant, mixed. */
  identity?: string;
  /** Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  channels?: number;
  /** Each track's LiveKitSource bound, ms. Default 200. */
  maxBufferMs?: number;
  clock?: Clock;
}

export interface RoomAudioStats {
  /** Tracks followed so far (a republish counts again). */
  tracks: number;
  framesOut: number;
  /** Mixing: frames skipped to catch up a track that fell behind. */
  skippedFrames: number;
  interruptions: number;
}

const MAX_LAG_FRAMES = 3;

export class RoomAudio extends Readable implements HoldsAudio {
  readonly sampleRate: number;
  readonly channels: number;
  readonly identity: string | undefined;
  readonly #room: Room;
  readonly #clock: Clock;
  readonly #maxBufferMs: number;
  readonly #frameMs: number;
  readonly #members = new Map<unknown, { source: LiveKitSource; identity: string }>();
  #tick: TimerHandle | undefined;
  #nextTick = 0;
  readonly #stats: RoomAudioStats = { tracks: 0, framesOut: 0, skippedFrames: 0, interruptions: 0 };

  constructor(room: Room, opts: RoomAudioOptions = {}) {
    super({ objectMode: true, highWaterMark: 1 });
    this.sampleRate = opts.sampleRate ?? 48000;
    this.channels = opts.channels ?? 1;
    this.identity = opts.identity;
    this.#room = room;
    this.#clock = opts.clock ?? realClock;
    this.#maxBufferMs = opts.maxBufferMs ?? DEFAULT_MAX_BUFFER_MS;
    if (!Number.isInteger(this.sampleRate) || this.sampleRate < 1000 || this.sampleRate > 768000) {
      throw new ConfigError(
        'ERR_SOURCE_OPTIONS',
        `sampleRate must be an integer in 1000..768000, got ${this.sampleRate}`,
      );
    }
    this.#frameMs = 10;
    while ((this.sampleRate * this.#frameMs) % 1000 !== 0) this.#frameMs += 10;
    room.on(RoomEvent.TrackSubscribed, this.#subscribed);
    room.on(RoomEvent.TrackUnsubscribed, this.#unsubscribed);
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) if (pub.track) this.#subscribed(pub.track, pub, p);
    }
  }

  get stats(): RoomAudioStats {
    return { ...this.#stats };
  }

  get bufferedMs(): number {
    let held = 0;
    for (const m of this.#members.values()) held = Math.max(held, m.source.bufferedMs);
    return held + readableQueuedMs(this);
  }

  /** Barge-in: drop what every track holds for the caller. */
  clear(): number {
    let ms = 0;
    for (const m of this.#members.values()) ms = Math.max(ms, m.source.clear());
    return ms;
  }

  override _read(): void {
    if (this.identity !== undefined) for (const m of this.#members.values()) this.#passThrough(m.source);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#room.off(RoomEvent.TrackSubscribed, this.#subscribed);
    this.#room.off(RoomEvent.TrackUnsubscribed, this.#unsubscribed);
    if (this.#tick) this.#clock.clearTimeout(this.#tick);
    for (const m of this.#members.values()) m.source.destroy();
    this.#members.clear();
    cb(err);
  }

  /** Room events and the mixing tick: a failure ends this stream with its error, never the process. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  readonly #subscribed = (track: RemoteTrack, pub: unknown, participant: RemoteParticipant): void =>
    this.#guard(() => this.#follow(track, pub, participant));

  #follow(track: RemoteTrack, _pub: unknown, participant: RemoteParticipant): void {
    const key = keyOf(track);
    if (this.destroyed || track.kind !== TrackKind.KIND_AUDIO || this.#members.has(key)) return;
    if (this.identity !== undefined && participant.identity !== this.identity) return;
    const source = new LiveKitSource(track, {
      sampleRate: this.sampleRate,
      channels: this.channels,
      frameMs: this.#frameMs,
      maxBufferMs: this.#maxBufferMs,
    });
    source.on('error', () => this.#drop(key));
    source.on('end', () => this.#drop(key));
    this.#members.set(key, { source, identity: participant.identity });
    this.#stats.tracks++;
    if (this.identity !== undefined) source.on('readable', () => this.#passThrough(source));
    else this.#startMixing();
  }

  readonly #unsubscribed = (track: RemoteTrack): void => {
    this.#drop(keyOf(track));
  };

  #drop(key: unknown): void {
    const m = this.#members.get(key);
    if (!m) return;
    this.#members.delete(key);
    m.source.destroy();
    if (!this.destroyed && this.identity !== undefined) {
      // the followed participant's audio stopped mid-sentence: what the caller still holds is stale
      this.#stats.interruptions++;
      this.emit('interrupted');
    }
  }

  #passThrough(source: LiveKitSource): void {
    let frame: AudioFrame | null;
    while (!this.destroyed && (frame = source.read() as AudioFrame | null) !== null) {
      this.#stats.framesOut++;
      if (!this.push(frame)) return;
    }
  }

  #startMixing(): void {
    if (this.#tick) return;
    this.#nextTick = this.#clock.now();
    this.#mix();
  }

  readonly #mix = (): void => this.#guard(() => this.#mixOnce());

  #mixOnce(): void {
    this.#tick = undefined;
    if (this.destroyed || this.#members.size === 0) return;
    const n = ((this.sampleRate * this.#frameMs) / 1000) * this.channels;
    const sum = new Int32Array(n);
    let any = false;
    for (const m of this.#members.values()) {
      // a track that fell behind (a stall) skips ahead: the caller hears the room as it is now
      while (m.source.bufferedMs > MAX_LAG_FRAMES * this.#frameMs && m.source.read() !== null) {
        this.#stats.skippedFrames++;
      }
      const frame = m.source.read() as AudioFrame | null;
      if (!frame) continue;
      any = true;
      for (let i = 0; i < n; i++) sum[i]! += frame.data[i]!;
    }
    // a consumer that is not reading gets nothing more than the bound: the rest is skipped, not queued
    if (any && this.readableLength * this.#frameMs >= this.#maxBufferMs) this.#stats.skippedFrames++;
    else if (any) {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.max(-32768, Math.min(32767, sum[i]!));
      this.#stats.framesOut++;
      this.push(createFrame(out, this.sampleRate, this.channels));
    }
    this.#nextTick += this.#frameMs;
    const now = this.#clock.now();
    if (this.#nextTick < now - this.#frameMs * MAX_LAG_FRAMES) this.#nextTick = now; // after a stall, no burst
    this.#tick = this.#clock.setTimeout(this.#mix, this.#nextTick - now);
  }
}

/** Tracks by identity of the object: rtc-node hands the same instance to subscribed and unsubscribed (sids may repeat). */
function keyOf(track: RemoteTrack): unknown {
  return track;
}
