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
import { CloseCode, numberFrom, ProtocolError, shown } from './protocol.js';
import type { ErrorCode } from '../../lib/errors.js';

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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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
    if (b64.length === 0 || !BASE64.test(b64)) {
      throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'ERR_TWILIO_BASE64', 'media.payload is not base64');
    }
    const chunk = media.chunk === undefined ? this.#lastChunk + 1 : count(media.chunk, 'media.chunk');
    const timestamp = media.timestamp === undefined ? 0 : count(media.timestamp, 'media.timestamp');
    const late = chunk <= this.#lastChunk;
    if (late) this.stats.lateChunks++;
    else {
      this.stats.missingChunks += chunk - this.#lastChunk - 1;
      this.#lastChunk = chunk;
    }
    const payload = Buffer.from(b64, 'base64');
    this.stats.media++;
    this.stats.payloadBytes += payload.length;
    const track = typeof media.track === 'string' ? media.track : 'inbound';
    return { event: 'media', payload, track, chunk, timestamp, late };
  }
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

/** JSON.parse with a protocol error (1007) instead of a SyntaxError. */
export function parseJson(text: string, code: ErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(CloseCode.INVALID_PAYLOAD, code, `malformed JSON: ${text.slice(0, 40)}`);
  }
}

function field(m: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = m[name];
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** Twilio counters are decimal strings ("12"); numbers are accepted too. */
function count(v: unknown, name: string): number {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw policy('ERR_TWILIO_MESSAGE', `${name} must be a non-negative integer, got ${shown(v)}`);
  }
  return n;
}

function policy(code: ErrorCode, message: string): ProtocolError {
  return new ProtocolError(CloseCode.POLICY_VIOLATION, code, message);
}
