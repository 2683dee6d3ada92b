/**
 * One WebSocket connection of the gateway: its protocol state, its audio pipelines both ways and its stats.
 *
 *   ws message ─► CallProtocol.receive ─► decodePcm ─► jitterBuffer ─► [resample ─► rechunk(10 ms)]
 *                                                 ─► sink (a published track, or the loopback)
 *   ws.send ◄── CallPlayback (paced, the protocol's framing) ◄── the sink's return audio (room or echo)
 *
 * (the chain and why the jitter buffer runs at the caller's rate: chain.ts; the way back: playback.ts)
 *
 * The producer is realtime: messages are written into the decoder as they come and never wait; the jitter
 * buffer is where the producer's clock meets the sink's. A client that breaks the protocol gets a close
 * frame with a code and reason (ProtocolError); the audio it sent until then still plays out. When the socket
 * closes and the pipeline has drained, `done` resolves with one stats record.
 *
 * Deadlines (CallDeadlines): the first audio must come within `firstAudioMs`, a call silent for `idleMs` is
 * closed, and none lasts longer than `maxDurationMs` — each a 1008 close with its own code. Every entry point
 * from the network or a timer is guarded: a defect that throws closes this call with 1011, never the process.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { realClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { bytesPerSample, toInt16 } from '../lib/formats.js';
import { createFrame } from '../lib/frames.js';
import { totalBufferedMs } from '../lib/stats.js';
import { InvalidAudioError, toError, UnsupportedFormatError } from '../lib/errors.js';
import type { JitterBufferOptions, JitterStats } from '../transforms/jitterBuffer.js';
import { callChain, trackRate, type CallChain } from './chain.js';
import { CloseCode, closeReason, ProtocolError, type CallEvent, type CallProtocol } from './protocols/protocol.js';
import type { PcmFormat } from './protocols/rawPcm.js';
import { detectProtocol, PROTOCOLS, type GatewayProtocol, type ProtocolEntry } from './protocols/registry.js';
import { CallPlayback, type PlaybackOptions, type PlaybackStats } from './playback.js';

export type { GatewayProtocol };

/** What a connection's audio goes into. `close` runs once the pipeline has finished or failed. */
export interface ConnectionSink {
  sink: Writable & { readonly stats?: unknown; readonly bufferedMs?: number };
  /**
   * The way back: AudioFrames for the caller at `info.outbound`'s rate and channels (a LiveKitSource, say). It
   * may have `clear()` (called on barge-in) and may emit 'interrupted' (playback.ts INTERRUPTED) to clear the
   * caller's buffer. The connection destroys it when the call ends. Default: none (one-way).
   */
  returnAudio?: Readable & { clear?(): number };
  close(): Promise<void>;
}

export interface ConnectionInfo {
  id: string;
  protocol: GatewayProtocol;
  /** The format the client sends. */
  format: PcmFormat;
  /** The format of the frames the sink gets. */
  sampleRate: number;
  channels: number;
  /** What the caller hears, if its protocol carries audio back: frames of returnAudio must have this format. */
  outbound?: { format: PcmFormat; frameMs: number };
  /** The client's custom parameters from its start message (Twilio customParameters…), unchecked. */
  params: Record<string, unknown>;
}

export type SinkFactory = (info: ConnectionInfo) => Promise<ConnectionSink>;

/** How long a call may take to start, stay silent, and last (ms). */
export interface CallDeadlines {
  firstAudioMs: number;
  idleMs: number;
  maxDurationMs: number;
}

export interface ConnectionOptions {
  id: string;
  /** 'auto' decides on the first message: JSON with an "event" is Twilio, anything else raw PCM. */
  mode: GatewayProtocol | 'auto';
  /** Raw PCM format from the URL query, if it declared one. */
  format?: PcmFormat;
  sink: SinkFactory;
  /** The published track's rate: a number, or 'caller' (trackRate() of the caller's format). */
  sampleRate: number | 'caller';
  channels: number;
  jitter?: Partial<JitterBufferOptions>;
  /**
   * Set when the client showed no secret at the upgrade: only a Twilio stream whose `start` passes this check
   * may stream, and it must send that `start` within `authDeadlineMs` (default 5000).
   */
  authorizeStart?: (params: Record<string, unknown>) => boolean;
  authDeadlineMs?: number;
  /** Default: none (a call may stay as long as it likes). */
  deadlines?: CallDeadlines;
  /** The way back's pacing and marks (playback.ts). */
  playback?: Pick<PlaybackOptions, 'maxAheadFrames' | 'markEveryMs' | 'maxLagMs'>;
  /** Told about a defect that closed this call with 1011 (the gateway counts and logs it). */
  onUnexpectedError?: (err: unknown) => void;
  clock?: Clock;
}

/** The stats line logged when a connection ends. */
export interface ConnectionRecord {
  event: 'gateway.connection';
  id: string;
  remote: string;
  path: string;
  protocol: GatewayProtocol | null;
  format: PcmFormat | null;
  streamSid?: string;
  callSid?: string;
  openedAt: string;
  durationMs: number;
  messages: number;
  bytes: number;
  /** Audio received, from the bytes that reached the decoder and the declared format. */
  audioMs: number;
  /** Audio the jitter buffer received, in whole 10 ms. */
  frames: number;
  close: { code: number; reason: string; by: 'client' | 'gateway' };
  error: { code: string; message: string } | null;
  twilio?: Record<string, unknown>;
  jitter: JitterStats | null;
  sink: unknown;
  /** The way back (null when the call had none). */
  playback: PlaybackStats | null;
}

export class GatewayConnection {
  readonly id: string;
  readonly done: Promise<ConnectionRecord>;
  readonly #ws: WebSocket;
  readonly #opts: ConnectionOptions;
  readonly #clock: Clock;
  readonly #openedAt = new Date();
  readonly #t0: number;
  #proto: CallProtocol | undefined;
  #playback: CallPlayback | undefined;
  #format: PcmFormat | null = null;
  #chain: CallChain | undefined;
  #jitterStats: JitterStats | undefined;
  #sink: ConnectionSink | undefined;
  #pipeline: Promise<void> = Promise.resolve();
  #messages = 0;
  #bytes = 0;
  #audioBytes = 0;
  #close: ConnectionRecord['close'] | undefined;
  #error: ConnectionRecord['error'] = null;
  #refusing = false;
  #remote: string;
  #path: string;
  #authTimer: TimerHandle | undefined;
  #deadlineTimer: TimerHandle | undefined;
  #lastMessageAt: number;
  #audioStarted = false;

  constructor(ws: WebSocket, req: IncomingMessage, opts: ConnectionOptions) {
    this.id = opts.id;
    this.#ws = ws;
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#t0 = this.#clock.now();
    this.#lastMessageAt = this.#t0;
    this.#remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    this.#path = (req.url ?? '/').split('?')[0]!.slice(0, 200);
    const closed = new Promise<void>((resolve) => {
      ws.on('close', (code, reason) => {
        this.#close ??= { code, reason: reason.toString('utf8'), by: 'client' };
        this.#clearTimers();
        this.#playback?.stop();
        this.#guard(() => this.#endInput());
        resolve();
      });
    });
    ws.on('message', (data, isBinary) => this.#guard(() => this.#onMessage(data, isBinary)));
    // 'error' precedes 'close' (e.g. a message over maxPayload: ws closes with 1009 itself)
    ws.on('error', (err) => {
      const code = (err as { code?: string }).code ?? 'ERR_WEBSOCKET';
      this.#error ??= { code, message: err.message };
      this.#close ??= { code: wsErrorCloseCode(err), reason: err.message, by: 'gateway' };
    });
    this.done = closed.then(() => this.#pipeline).then(() => this.#record());
    this.#guard(() => {
      if (opts.authorizeStart) {
        this.#authTimer = this.#clock.setTimeout(
          () =>
            this.#guard(() => this.#refuse(unauthorized('no Twilio "start" with the secret in its customParameters'))),
          opts.authDeadlineMs ?? 5000,
        );
      }
      if (opts.deadlines) this.#armDeadline(Math.min(opts.deadlines.firstAudioMs, opts.deadlines.idleMs));
      if (opts.mode !== 'auto') this.#use(PROTOCOLS[opts.mode].create(opts.format));
      else if (opts.format) this.#use(PROTOCOLS.pcm.create(opts.format));
      if (opts.format) this.#onEvent({ kind: 'start', format: opts.format });
    });
  }

  /** Run one entry point from the network or a timer: a protocol error refuses, a defect closes with 1011. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        if (err instanceof ProtocolError) this.#refuse(err);
        else {
          this.#opts.onUnexpectedError?.(err);
          this.#fail(err, CloseCode.INTERNAL_ERROR);
        }
      } catch {
        this.#ws.terminate();
      }
    }
  }

  /** One timer for every deadline: it fires at the nearest and re-arms for the next. */
  #armDeadline(inMs: number): void {
    this.#deadlineTimer = this.#clock.setTimeout(() => this.#guard(() => this.#checkDeadlines()), Math.max(1, inMs));
  }

  #checkDeadlines(): void {
    const d = this.#opts.deadlines!;
    const now = this.#clock.now();
    const age = now - this.#t0;
    if (age >= d.maxDurationMs) {
      throw new ProtocolError(
        CloseCode.POLICY_VIOLATION,
        'ERR_GATEWAY_MAX_DURATION',
        `call longer than ${d.maxDurationMs} ms`,
      );
    }
    if (!this.#audioStarted && age >= d.firstAudioMs) {
      throw new ProtocolError(
        CloseCode.POLICY_VIOLATION,
        'ERR_GATEWAY_NO_AUDIO',
        `no audio within ${d.firstAudioMs} ms`,
      );
    }
    const silent = now - this.#lastMessageAt;
    if (silent >= d.idleMs) {
      throw new ProtocolError(CloseCode.POLICY_VIOLATION, 'ERR_GATEWAY_IDLE', `nothing received for ${d.idleMs} ms`);
    }
    const next = Math.min(
      d.maxDurationMs - age,
      d.idleMs - silent,
      this.#audioStarted ? Infinity : d.firstAudioMs - age,
    );
    this.#armDeadline(next);
  }

  #clearTimers(): void {
    if (this.#authTimer) this.#clock.clearTimeout(this.#authTimer);
    if (this.#deadlineTimer) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#authTimer = this.#deadlineTimer = undefined;
  }

  get protocol(): GatewayProtocol | null {
    return (this.#proto?.name as GatewayProtocol | undefined) ?? null;
  }

  /** Milliseconds of audio this connection holds between the socket and the sink. */
  get bufferedMs(): number {
    return totalBufferedMs([...(this.#chain?.stages ?? []), this.#sink?.sink]);
  }

  /**
   * Barge-in: drop the audio queued for the caller and tell the caller (the protocol's clear message) to drop
   * what it has buffered. No-op for a one-way call.
   */
  clear(): void {
    this.#guard(() => this.#playback?.clear());
  }

  /** Close from the gateway's side (1001, shutdown): the received audio still drains. */
  shutdown(): void {
    this.#closeWith(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#refusing) return;
    const buf = data as Buffer; // binaryType 'nodebuffer' (the default): always one Buffer, fragments joined
    this.#messages++;
    this.#bytes += buf.length;
    this.#lastMessageAt = this.#clock.now();
    if (this.#proto) this.#onEvent(this.#proto.receive(buf, isBinary));
    else {
      const { protocol, event } = detectProtocol(buf, isBinary);
      this.#use(protocol);
      this.#onEvent(event);
    }
  }

  #use(protocol: CallProtocol): void {
    const entry = PROTOCOLS[protocol.name as GatewayProtocol] as ProtocolEntry | undefined;
    if (this.#opts.authorizeStart && !entry?.secretInStart) {
      throw unauthorized(`${entry?.label ?? protocol.name} must present the secret when it connects`);
    }
    this.#proto = protocol;
  }

  #onEvent(ev: CallEvent): void {
    switch (ev.kind) {
      case 'start':
        if (this.#opts.authorizeStart) {
          if (!this.#opts.authorizeStart(ev.params ?? {}))
            throw unauthorized('missing or wrong secret in customParameters');
          this.#clock.clearTimeout(this.#authTimer!);
        }
        this.#start(ev.format, ev.params ?? {});
        break;
      case 'audio':
        if (ev.seq !== undefined || ev.timestamp !== undefined) this.#writePacket(ev.bytes, ev.seq, ev.timestamp);
        else this.#write(ev.bytes);
        break;
      case 'played':
        this.#playback?.played(ev.name);
        break;
      case 'stop':
        this.#closeWith(CloseCode.NORMAL, 'stream stopped');
        break;
    }
  }

  #write(bytes: Buffer): void {
    this.#audioStarted = true;
    this.#audioBytes += bytes.length;
    this.#chain!.decoder.write(bytes);
  }

  /**
   * A numbered packet (RTP-like protocols): decoded here and handed to the jitter buffer with its sequence number
   * and timestamp, which reorders it. Where the jitter buffer runs after a resampler (a rate with no whole 10 ms),
   * the numbers cannot follow the audio and packets go through the decoder in arrival order.
   */
  #writePacket(bytes: Buffer, seq: number | undefined, timestamp: number | undefined): void {
    const chain = this.#chain!;
    const f = this.#format!;
    const bps = bytesPerSample(f.encoding) * f.channels;
    if (chain.feeding.length > 0 || bytes.length % bps !== 0 || chain.decoder.writableLength > 0) {
      this.#write(bytes);
      return;
    }
    this.#audioStarted = true;
    this.#audioBytes += bytes.length;
    const data = new Int16Array((bytes.length / bps) * f.channels);
    toInt16(f.encoding, bytes, data);
    chain.jitter.write({ frame: createFrame(data, f.sampleRate, f.channels), seq, timestamp });
  }

  #framesReceived(): number {
    const chain = this.#chain;
    const stats = this.#jitterStats ?? chain?.jitter.stats;
    if (!chain || !stats) return 0;
    return Math.floor(stats.samplesIn / (chain.jitterRate / 100));
  }

  #bytesPerMs(): number {
    const f = this.#format!;
    return (f.sampleRate * f.channels * bytesPerSample(f.encoding)) / 1000;
  }

  /**
   * The format is known: build the pipeline. The feeding half (decoder → jitter buffer) runs at once, so the
   * jitter buffer sees arrivals when they happen, even while the sink is still being set up (publishing takes
   * a server round trip); the playing half starts when the sink is ready.
   */
  #start(format: PcmFormat, params: Record<string, unknown>): void {
    this.#format = format;
    const { channels, clock } = this.#opts;
    const sampleRate = this.#opts.sampleRate === 'caller' ? trackRate(format) : this.#opts.sampleRate;
    const chain = callChain({ format, sampleRate, channels, jitter: this.#opts.jitter, clock: clock ?? realClock });
    const { decoder, jitter } = chain;
    this.#chain = chain;
    // the core's counters are gone once the stream is destroyed (autoDestroy right after 'end'): keep them
    jitter.once('end', () => (this.#jitterStats = jitter.stats));
    const out = this.#proto?.outbound;
    const info: ConnectionInfo = {
      id: this.id,
      protocol: this.protocol!,
      format,
      sampleRate,
      channels,
      ...(out && { outbound: { format: out.format, frameMs: out.frameMs } }),
      params,
    };
    const feeding = pipeline([decoder, ...chain.feeding, jitter]);
    const playing = this.#opts.sink(info).then(
      async (sink) => {
        this.#sink = sink;
        if (sink.returnAudio) this.#startPlayback(sink.returnAudio);
        try {
          await pipeline([jitter, ...chain.playing, sink.sink]);
        } finally {
          await sink.close();
        }
      },
      (err: unknown) => {
        jitter.destroy(toError(err));
        throw err;
      },
    );
    this.#pipeline = Promise.allSettled([feeding, playing]).then(([f, p]) => {
      // a failure in one half shows in the other as a premature close: report the cause
      const causes = [f, p].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      const cause = causes.find((e) => (e as { code?: string })?.code !== 'ERR_STREAM_PREMATURE_CLOSE') ?? causes[0];
      if (cause !== undefined) this.#fail(cause);
    });
  }

  #startPlayback(audio: Readable & { clear?(): number }): void {
    const outbound = this.#proto?.outbound;
    if (!outbound || this.#refusing || this.#ws.readyState !== this.#ws.OPEN) {
      audio.destroy();
      return;
    }
    this.#playback = new CallPlayback({
      ...this.#opts.playback,
      audio,
      outbound,
      clock: this.#clock,
      send: (m) => this.#ws.send(m),
      unsentBytes: () => this.#ws.bufferedAmount,
      onError: (err) => this.#opts.onUnexpectedError?.(err),
    });
  }

  #endInput(): void {
    const decoder = this.#chain?.decoder;
    if (decoder && !decoder.writableEnded && !decoder.destroyed) decoder.end();
  }

  #refuse(err: unknown): void {
    if (!(err instanceof ProtocolError)) {
      this.#fail(err);
      return;
    }
    this.#error ??= { code: err.code, message: err.message };
    this.#closeWith(err.closeCode, err.message);
  }

  /** The gateway failed this connection (pipeline, sink): 1007 for undecodable audio, else 1011. */
  #fail(err: unknown, forced?: number): void {
    const e = toError(err);
    const code = (e as { code?: string }).code ?? 'ERR_GATEWAY';
    this.#error ??= { code, message: e.message };
    const closeCode =
      forced ??
      (err instanceof ProtocolError
        ? err.closeCode
        : err instanceof InvalidAudioError || err instanceof UnsupportedFormatError
          ? CloseCode.INVALID_PAYLOAD
          : CloseCode.INTERNAL_ERROR);
    this.#closeWith(closeCode, forced === undefined ? e.message : 'gateway error');
  }

  #closeWith(code: number, reason: string): void {
    this.#refusing = true;
    this.#clearTimers();
    const r = closeReason(reason);
    this.#close ??= { code, reason: r, by: 'gateway' };
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) this.#ws.close(code, r);
    this.#endInput();
  }

  #record(): ConnectionRecord {
    const f = this.#format;
    return {
      event: 'gateway.connection',
      id: this.id,
      remote: this.#remote,
      path: this.#path,
      protocol: this.protocol,
      format: f,
      ...this.#proto?.record(),
      openedAt: this.#openedAt.toISOString(),
      durationMs: Math.round(this.#clock.now() - this.#t0),
      messages: this.#messages,
      bytes: this.#bytes,
      audioMs: f ? Math.round(this.#audioBytes / this.#bytesPerMs()) : 0,
      frames: this.#framesReceived(),
      close: this.#close ?? { code: CloseCode.NORMAL, reason: '', by: 'client' },
      error: this.#error,
      jitter: this.#jitterStats ?? this.#chain?.jitter.stats ?? null,
      sink: this.#sink?.sink.stats ?? null,
      playback: this.#playback?.stats ?? null,
    };
  }
}

function unauthorized(message: string): ProtocolError {
  return new ProtocolError(CloseCode.POLICY_VIOLATION, 'ERR_GATEWAY_SECRET', message);
}

function wsErrorCloseCode(err: Error): number {
  switch ((err as { code?: string }).code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return CloseCode.MESSAGE_TOO_BIG;
    case 'WS_ERR_INVALID_UTF8':
      return CloseCode.INVALID_PAYLOAD;
    default:
      return 1002; // protocol error (bad framing), as ws closes with
  }
}
