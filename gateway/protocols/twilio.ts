/**
 * Twilio Media Streams, the inbound side: JSON text messages
 *
 *   {"event":"connected","protocol":"Call","version":"1.0.0"}
 *   {"event":"start","sequenceNumber":"1","streamSid":"MZ…","start":{"streamSid":"MZ…","callSid":"CA…",
 *     "tracks":["inbound"],"customParameters":{},
 *     "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}
 *   {"event":"media","sequenceNumber":"2","streamSid":"MZ…",
 *     "media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"<base64 µ-law>"}}
 *   {"event":"mark","sequenceNumber":"…","streamSid":"MZ…","mark":{"name":"…"}}
 *   {"event":"dtmf","sequenceNumber":"…","streamSid":"MZ…","dtmf":{"track":"inbound_track","digit":"1"}}
 *   {"event":"stop","sequenceNumber":"…","streamSid":"MZ…","stop":{…}}
 *
 * Numbers arrive as decimal strings. Media is 20 ms of 8 kHz mono µ-law (160 bytes) per message.
 * `TwilioParser` validates one connection's messages in order and throws ProtocolError for anything off;
 * sequence gaps and repeats are counted, not fatal (Twilio may drop media under load).
 */
import {
  base64Payload,
  CloseCode,
  decimalCount,
  numberFrom,
  objectField as field,
  parseJson,
  policy,
  ProtocolError,
  shown,
  type CallEvent,
  type CallProtocol,
  type Outbound,
} from './protocol.js';

export { parseJson };

export interface TwilioStart {
  streamSid: string;
  callSid?: string;
  accountSid?: string;
  tracks: string[];
  customParameters: Record<string, unknown>;
}

export type TwilioEvent =
  | { event: 'connected' }
  | { event: 'start'; start: TwilioStart }
  | {
      event: 'media';
      /** Decoded µ-law bytes (a pooled Buffer view: decode it, never hand it to native code as is). */
      payload: Buffer;
      track: string;
      chunk: number;
      timestamp: number;
      /** chunk ≤ the last one seen: a repeat or reordering. The gateway skips these. */
      late: boolean;
    }
  | { event: 'mark'; name: string }
  | { event: 'dtmf'; digit: string }
  | { event: 'stop' };

export interface TwilioStats {
  messages: number;
  media: number;
  payloadBytes: number;
  marks: number;
  dtmf: number;
  /** Media chunks missing between two received ones (chunk numbers skipped). */
  missingChunks: number;
  /** Media chunks that arrived with a number ≤ the last one (skipped). */
  lateChunks: number;
  /** sequenceNumber did not follow the previous one. */
  sequenceGaps: number;
}

/** The one media format Twilio Media Streams sends. */
export const TWILIO_FORMAT = { encoding: 'mulaw', sampleRate: 8000, channels: 1 } as const;

export class TwilioParser {
  readonly stats: TwilioStats = {
    messages: 0,
    media: 0,
    payloadBytes: 0,
    marks: 0,
    dtmf: 0,
    missingChunks: 0,
    lateChunks: 0,
    sequenceGaps: 0,
  };
  #state: 'new' | 'started' | 'stopped' = 'new';
  #start: TwilioStart | undefined;
  #lastSeq = 0;
  #lastChunk = 0;

  /** The `start` message's content once it has arrived. */
  get start(): TwilioStart | undefined {
    return this.#start;
  }

  get state(): 'new' | 'started' | 'stopped' {
    return this.#state;
  }

  /** Validate one WebSocket message (as `ws` delivers it). Throws ProtocolError. */
  handleMessage(data: Buffer | string, isBinary: boolean): TwilioEvent {
    if (isBinary) {
      throw new ProtocolError(
        CloseCode.UNSUPPORTED_DATA,
        'ERR_TWILIO_BINARY',
        'binary message on a Twilio Media Stream (media is base64 JSON text)',
      );
    }
    return this.handleObject(parseJson(typeof data === 'string' ? data : data.toString('utf8'), 'ERR_TWILIO_JSON'));
  }

  /** Validate one already-parsed message. Throws ProtocolError. */
  handleObject(msg: unknown): TwilioEvent {
    this.stats.messages++;
    if (typeof msg !== 'object' || msg === null || typeof (msg as { event?: unknown }).event !== 'string') {
      throw policy('ERR_TWILIO_MESSAGE', 'message is not an object with an "event" string');
    }
    const m = msg as Record<string, unknown> & { event: string };
    if (this.#state === 'stopped') throw policy('ERR_TWILIO_ORDER', `"${m.event}" after "stop"`);
    this.#checkSequence(m.sequenceNumber);
    switch (m.event) {
      case 'connected':
        if (this.#state !== 'new') throw policy('ERR_TWILIO_ORDER', '"connected" after "start"');
        return { event: 'connected' };
      case 'start':
        if (this.#state !== 'new') throw policy('ERR_TWILIO_ORDER', 'a second "start"');
        this.#start = parseStart(m);
        this.#state = 'started';
        return { event: 'start', start: this.#start };
      case 'media':
        this.#checkStarted(m);
        return this.#media(m);
      case 'mark': {
        this.#checkStarted(m);
        this.stats.marks++;
        const name = field(m, 'mark')?.name;
        return { event: 'mark', name: typeof name === 'string' ? name : '' };
      }
      case 'dtmf': {
        this.#checkStarted(m);
        this.stats.dtmf++;
        const digit = field(m, 'dtmf')?.digit;
        return { event: 'dtmf', digit: typeof digit === 'string' ? digit : '' };
      }
      case 'stop':
        this.#checkStarted(m);
        this.#state = 'stopped';
        return { event: 'stop' };
      default:
        throw policy('ERR_TWILIO_EVENT', `unknown event "${m.event.slice(0, 40)}"`);
    }
  }

  #checkSequence(seq: unknown): void {
    if (seq === undefined) return;
    const n = count(seq, 'sequenceNumber');
    if (this.#lastSeq !== 0 && n !== this.#lastSeq + 1) this.stats.sequenceGaps++;
    this.#lastSeq = n;
  }

  #checkStarted(m: Record<string, unknown> & { event: string }): void {
    if (this.#state !== 'started') throw policy('ERR_TWILIO_ORDER', `"${m.event}" before "start"`);
    if (m.streamSid !== undefined && m.streamSid !== this.#start!.streamSid) {
      throw policy('ERR_TWILIO_STREAM', `streamSid ${shown(m.streamSid)} is not this stream's`);
    }
  }

  #media(m: Record<string, unknown>): TwilioEvent {
    const media = field(m, 'media');
    if (media === undefined || typeof media.payload !== 'string') {
      throw policy('ERR_TWILIO_MESSAGE', '"media" without media.payload');
    }
    const b64 = media.payload;
    const chunk = media.chunk === undefined ? this.#lastChunk + 1 : count(media.chunk, 'media.chunk');
    const timestamp = media.timestamp === undefined ? 0 : count(media.timestamp, 'media.timestamp');
    const late = chunk <= this.#lastChunk;
    if (late) this.stats.lateChunks++;
    else {
      this.stats.missingChunks += chunk - this.#lastChunk - 1;
      this.#lastChunk = chunk;
    }
    const payload = base64Payload(b64, 'ERR_TWILIO_BASE64');
    this.stats.media++;
    this.stats.payloadBytes += payload.length;
    const track = typeof media.track === 'string' ? media.track : 'inbound';
    return { event: 'media', payload, track, chunk, timestamp, late };
  }
}

/**
 * A Twilio call both ways. Outbound (bidirectional streams): `media` with base64 µ-law, 20 ms (160 bytes) each;
 * `clear` drops what Twilio has buffered; `mark` comes back (as a `mark` event) once played.
 */
export class TwilioCall implements CallProtocol {
  readonly name = 'twilio';
  readonly parser = new TwilioParser();
  #outbound: Outbound | undefined;
  #otherTrack = 0;

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    return this.#event(this.parser.handleMessage(data, isBinary));
  }

  /** An already-parsed first message (the gateway's protocol detection). */
  receiveObject(msg: unknown): CallEvent {
    return this.#event(this.parser.handleObject(msg));
  }

  record(): Record<string, unknown> {
    const start = this.parser.start;
    return {
      ...(start && { streamSid: start.streamSid, callSid: start.callSid }),
      twilio: { ...this.parser.stats, otherTrack: this.#otherTrack },
    };
  }

  #event(ev: TwilioEvent): CallEvent {
    switch (ev.event) {
      case 'start':
        this.#outbound = twilioOutbound(ev.start.streamSid);
        return { kind: 'start', format: { ...TWILIO_FORMAT }, params: ev.start.customParameters };
      case 'media':
        if (ev.track !== 'inbound') this.#otherTrack++;
        else if (!ev.late) return { kind: 'audio', bytes: ev.payload };
        return { kind: 'none' };
      case 'mark':
        return { kind: 'played', name: ev.name };
      case 'stop':
        return { kind: 'stop' };
      default:
        return { kind: 'none' };
    }
  }
}

function twilioOutbound(streamSid: string): Outbound {
  return {
    format: { ...TWILIO_FORMAT },
    frameMs: 20,
    media: (bytes) => JSON.stringify({ event: 'media', streamSid, media: { payload: bytes.toString('base64') } }),
    clear: () => JSON.stringify({ event: 'clear', streamSid }),
    mark: (name) => JSON.stringify({ event: 'mark', streamSid, mark: { name } }),
  };
}

function parseStart(m: Record<string, unknown>): TwilioStart {
  const start = field(m, 'start');
  if (start === undefined) throw policy('ERR_TWILIO_MESSAGE', '"start" without a start object');
  const streamSid = start.streamSid ?? m.streamSid;
  if (typeof streamSid !== 'string' || streamSid === '') {
    throw policy('ERR_TWILIO_MESSAGE', '"start" without a streamSid');
  }
  const fmt = start.mediaFormat as Record<string, unknown> | undefined;
  if (
    typeof fmt !== 'object' ||
    fmt === null ||
    fmt.encoding !== 'audio/x-mulaw' ||
    numberFrom(fmt.sampleRate) !== TWILIO_FORMAT.sampleRate ||
    numberFrom(fmt.channels) !== TWILIO_FORMAT.channels
  ) {
    throw new ProtocolError(
      CloseCode.UNSUPPORTED_DATA,
      'ERR_TWILIO_FORMAT',
      `mediaFormat must be audio/x-mulaw 8000 Hz 1 ch, got ${JSON.stringify(fmt ?? null).slice(0, 60)}`,
    );
  }
  return {
    streamSid,
    callSid: typeof start.callSid === 'string' ? start.callSid : undefined,
    accountSid: typeof start.accountSid === 'string' ? start.accountSid : undefined,
    tracks: Array.isArray(start.tracks) ? start.tracks.filter((t): t is string => typeof t === 'string') : ['inbound'],
    customParameters:
      typeof start.customParameters === 'object' && start.customParameters !== null
        ? (start.customParameters as Record<string, unknown>)
        : {},
  };
}

/** Twilio counters are decimal strings ("12"); numbers are accepted too. */
function count(v: unknown, name: string): number {
  return decimalCount(v, name, 'ERR_TWILIO_MESSAGE');
}
