/**
 * Exotel AgentStream: the Voicebot applet (bidirectional stream) over WebSocket, JSON text messages both ways.
 *
 * Docs: https://developer.exotel.com/docs/agentstream/websocket-protocol,
 *       https://developer.exotel.com/docs/agentstream/stream-voicebot-applet (format, chunk sizes, sample rates),
 *       https://support.exotel.com/support/solutions/articles/3000108630-working-with-the-stream-and-voicebot-applet
 *
 *   {"event":"connected"}
 *   {"event":"start","sequence_number":"1","stream_sid":"MZ…","start":{"stream_sid":"MZ…","call_sid":"CA…",
 *     "account_sid":"AC…","from":"+91…","to":"+91…","custom_parameters":{"key1":"value1"},
 *     "media_format":{"encoding":"audio/x-raw","sample_rate":"8000","bit_rate":"16"}}}
 *   {"event":"media","sequence_number":"3","stream_sid":"MZ…",
 *     "media":{"chunk":"2","timestamp":"200","payload":"<base64 16-bit little-endian PCM>"}}
 *   {"event":"dtmf","sequence_number":"7","stream_sid":"MZ…","dtmf":{"digit":"5","duration":"100"}}
 *   {"event":"mark","sequence_number":"15","stream_sid":"MZ…","mark":{"name":"m1"}}   (our mark, played)
 *   {"event":"stop","sequence_number":"…","stream_sid":"MZ…","stop":{"call_sid":"CA…","reason":"callended"}}
 *
 * What the docs say and what is assumed here:
 * - Audio is raw/slin: 16-bit mono PCM, little-endian, base64 → `s16le`, at 8000 (default), 16000 or 24000 Hz
 *   (`?sample-rate=` on the URL). Encoding names seen in the docs' examples: "audio/x-raw", "raw", "slin" and
 *   the older "base64"; all mean this PCM. Media arrive every ~100 ms; chunk repeats are dropped as for Twilio.
 * - Client → Exotel: {"event":"media","stream_sid":…,"media":{"payload":…}} in chunks of 3.2 KB (100 ms at
 *   8 kHz) to 100 KB, a multiple of 320 bytes — smaller ones risk gaps. So one outbound message here is the
 *   smallest multiple of 20 ms giving ≥ 3200 bytes: 200 ms at 8 kHz, 100 ms at 16 kHz, 80 ms at 24 kHz.
 *   {"event":"mark","stream_sid":…,"mark":{"name":…}} comes back as `mark` once played;
 *   {"event":"clear","stream_sid":…} drops what Exotel holds. A `clear` echoed back is accepted (counted).
 * - Custom parameters come in the URL query and in start.custom_parameters (the params).
 */
import {
  base64Payload,
  CloseCode,
  decimalCount,
  eventObject,
  jsonText,
  numberFrom,
  objectField as field,
  optionalObject,
  optionalString,
  policy,
  ProtocolError,
  shown,
  type CallEvent,
  type CallProtocol,
  type Outbound,
  type PcmFormat,
} from './protocol.js';

const ENCODINGS = new Set(['audio/x-raw', 'raw', 'slin', 'base64']);
const RATES = [8000, 16000, 24000];
/** Exotel's smallest outbound chunk and the unit chunks come in, bytes. */
export const EXOTEL_MIN_CHUNK = 3200;
export const EXOTEL_CHUNK_UNIT = 320;

export interface ExotelStats {
  messages: number;
  media: number;
  payloadBytes: number;
  marks: number;
  dtmf: number;
  clears: number;
  missingChunks: number;
  lateChunks: number;
  sequenceGaps: number;
}

type Start = { streamSid: string; callSid?: string; format: PcmFormat; params: Record<string, unknown> };

export class ExotelCall implements CallProtocol {
  readonly name = 'exotel';
  readonly stats: ExotelStats = {
    messages: 0,
    media: 0,
    payloadBytes: 0,
    marks: 0,
    dtmf: 0,
    clears: 0,
    missingChunks: 0,
    lateChunks: 0,
    sequenceGaps: 0,
  };
  #state: 'new' | 'started' | 'stopped' = 'new';
  #start: Start | undefined;
  #outbound: Outbound | undefined;
  #lastSeq = -1;
  #lastChunk = -1;

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    return this.receiveObject(jsonText(data, isBinary, 'EXOTEL', 'an Exotel stream'));
  }

  /** One already-parsed message. Throws ProtocolError. */
  receiveObject(msg: unknown): CallEvent {
    this.stats.messages++;
    const m = eventObject(msg, 'EXOTEL');
    const event = m.event;
    if (this.#state === 'stopped') throw policy('ERR_EXOTEL_ORDER', `"${shown(event)}" after "stop"`);
    this.#checkSequence(m.sequence_number);
    switch (event) {
      case 'connected':
        if (this.#state !== 'new') throw policy('ERR_EXOTEL_ORDER', '"connected" after "start"');
        return { kind: 'none' };
      case 'start':
        if (this.#state !== 'new') throw policy('ERR_EXOTEL_ORDER', 'a second "start"');
        this.#start = parseStart(m);
        this.#state = 'started';
        this.#outbound = exotelOutbound(this.#start.streamSid, this.#start.format);
        return { kind: 'start', format: { ...this.#start.format }, params: this.#start.params };
      case 'media':
        this.#checkStarted(m, event);
        return this.#media(m);
      case 'mark': {
        this.#checkStarted(m, event);
        const name = field(m, 'mark')?.name;
        if (typeof name !== 'string') throw policy('ERR_EXOTEL_MESSAGE', '"mark" without a mark.name string');
        this.stats.marks++;
        return { kind: 'played', name };
      }
      case 'dtmf':
        this.#checkStarted(m, event);
        if (typeof field(m, 'dtmf')?.digit !== 'string') {
          throw policy('ERR_EXOTEL_MESSAGE', '"dtmf" without a dtmf.digit string');
        }
        this.stats.dtmf++;
        return { kind: 'none' };
      case 'clear':
        this.#checkStarted(m, event);
        this.stats.clears++;
        return { kind: 'none' };
      case 'stop':
        this.#checkStarted(m, event);
        this.#state = 'stopped';
        return { kind: 'stop' };
      default:
        throw policy('ERR_EXOTEL_EVENT', `unknown event "${shown(event)}"`);
    }
  }

  record(): Record<string, unknown> {
    const s = this.#start;
    return { ...(s && { streamSid: s.streamSid, callSid: s.callSid }), exotel: { ...this.stats } };
  }

  #checkSequence(seq: unknown): void {
    if (seq === undefined) return;
    const n = count(seq, 'sequence_number');
    if (this.#lastSeq >= 0 && n !== this.#lastSeq + 1) this.stats.sequenceGaps++;
    this.#lastSeq = n;
  }

  #checkStarted(m: Record<string, unknown>, event: string): void {
    if (this.#state !== 'started') throw policy('ERR_EXOTEL_ORDER', `"${event}" before "start"`);
    if (m.stream_sid !== undefined && m.stream_sid !== this.#start!.streamSid) {
      throw policy('ERR_EXOTEL_STREAM', `stream_sid ${shown(m.stream_sid)} is not this stream's`);
    }
  }

  #media(m: Record<string, unknown>): CallEvent {
    const media = field(m, 'media');
    if (media === undefined || typeof media.payload !== 'string') {
      throw policy('ERR_EXOTEL_MESSAGE', '"media" without media.payload');
    }
    const chunk = media.chunk === undefined ? this.#lastChunk + 1 : count(media.chunk, 'media.chunk');
    if (media.timestamp !== undefined) count(media.timestamp, 'media.timestamp');
    const b64 = media.payload;
    const payload = base64Payload(b64, 'ERR_EXOTEL_BASE64');
    if (payload.length % 2 !== 0) {
      throw new ProtocolError(
        CloseCode.INVALID_PAYLOAD,
        'ERR_EXOTEL_PAYLOAD',
        `media.payload of ${payload.length} bytes is not a whole number of 16-bit samples`,
      );
    }
    if (chunk <= this.#lastChunk) {
      this.stats.lateChunks++;
      return { kind: 'none' };
    }
    if (this.#lastChunk >= 0) this.stats.missingChunks += chunk - this.#lastChunk - 1;
    this.#lastChunk = chunk;
    this.stats.media++;
    this.stats.payloadBytes += payload.length;
    return { kind: 'audio', bytes: payload };
  }
}

function parseStart(m: Record<string, unknown>): Start {
  const start = field(m, 'start');
  if (start === undefined) throw policy('ERR_EXOTEL_MESSAGE', '"start" without a start object');
  const streamSid = start.stream_sid ?? m.stream_sid;
  if (typeof streamSid !== 'string' || streamSid === '') {
    throw policy('ERR_EXOTEL_MESSAGE', '"start" without a stream_sid');
  }
  return {
    streamSid,
    callSid: optionalString(start, 'call_sid', 'start', 'ERR_EXOTEL_MESSAGE'),
    format: mediaFormat(field(start, 'media_format')),
    params: optionalObject(start, 'custom_parameters', 'start', 'ERR_EXOTEL_MESSAGE'),
  };
}

function mediaFormat(f: Record<string, unknown> | undefined): PcmFormat {
  const enc = f?.encoding;
  const rate = numberFrom(f?.sample_rate);
  if (typeof enc !== 'string' || !ENCODINGS.has(enc.toLowerCase()) || !RATES.includes(rate)) {
    throw new ProtocolError(
      CloseCode.UNSUPPORTED_DATA,
      'ERR_EXOTEL_FORMAT',
      `media_format must be raw/slin 16-bit PCM at ${RATES.join('/')} Hz, got ${shown(f ?? null, 80)}`,
    );
  }
  return { encoding: 's16le', sampleRate: rate, channels: 1 };
}

/** The smallest multiple of 20 ms that makes an Exotel chunk: ≥ 3200 bytes of 16-bit mono, whole 320-byte units. */
export function exotelFrameMs(sampleRate: number): number {
  for (let ms = 20; ms <= 2000; ms += 20) {
    const bytes = (sampleRate * ms * 2) / 1000;
    if (Number.isInteger(bytes) && bytes >= EXOTEL_MIN_CHUNK && bytes % EXOTEL_CHUNK_UNIT === 0) return ms;
  }
  throw new RangeError(`no Exotel chunk size at ${sampleRate} Hz`); // unreachable for the rates start accepts
}

function exotelOutbound(streamSid: string, format: PcmFormat): Outbound {
  return {
    format: { ...format },
    frameMs: exotelFrameMs(format.sampleRate),
    media: (bytes) =>
      JSON.stringify({ event: 'media', stream_sid: streamSid, media: { payload: bytes.toString('base64') } }),
    clear: () => JSON.stringify({ event: 'clear', stream_sid: streamSid }),
    mark: (name) => JSON.stringify({ event: 'mark', stream_sid: streamSid, mark: { name } }),
  };
}

/** Exotel counters are decimal strings ("12"); numbers are accepted too. */
function count(v: unknown, name: string): number {
  return decimalCount(v, name, 'ERR_EXOTEL_MESSAGE');
}
