/**
 * Telnyx media streaming (Call Control `stream_url`, bidirectional mode `rtp`): JSON text messages both ways.
 *
 * Docs: https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket (AsyncAPI),
 *       https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming,
 *       https://developers.telnyx.com/api-reference/call-commands/streaming-start (codecs, sampling rates)
 *
 *   {"event":"connected","version":"1.0.0"}
 *   {"event":"start","sequence_number":"1","stream_id":"32DE…","start":{"call_control_id":"v2:…",
 *     "custom_parameters":{"customer_id":"c1"},"media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}
 *   {"event":"media","sequence_number":"4","stream_id":"32DE…",
 *     "media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"<base64 RTP payload, no RTP header>"}}
 *   {"event":"mark","sequence_number":"…","stream_id":"…","mark":{"name":"m1"}}   (our mark, played)
 *   {"event":"dtmf","sequence_number":"…","stream_id":"…","dtmf":{"digit":"1"}}
 *   {"event":"error","stream_id":"…","payload":{"code":100002,"title":"unknown_error","detail":"…"}}
 *   {"event":"stop","sequence_number":"…","stream_id":"…","stop":{"call_control_id":"…"}}
 *
 * What the docs say and what is assumed here:
 * - "Media frame order is not guaranteed. Use media.chunk, media.timestamp, and sequence_number to order frames":
 *   media become numbered packets for the jitter buffer, which reorders them. `sequence_number` counts every
 *   message (marks, dtmf…), so a gap in it is not a lost packet: the packet number is `media.chunk` (mod 2^16).
 *   `media.timestamp` is taken to be milliseconds (the docs' example is "5", as in Twilio's format) and becomes
 *   samples at the call's rate (mod 2^32, RTP-like).
 * - Encodings PCMU and PCMA (8 kHz) and L16. The payload is an RTP payload, and RTP's L16 is big-endian
 *   (network byte order, RFC 3551 §4.5.11) → `s16be`. L16 rates: 8, 16, 24 and 48 kHz (an assumption: the
 *   sampling-rate option lists more, but only whole samples per millisecond keep timestamps exact).
 * - Client → Telnyx: {"event":"media","media":{"payload":…}} (RTP payload in the call's codec, 20 ms to 30 s a
 *   frame), {"event":"clear"}, {"event":"mark","mark":{"name":…}} — returned as `mark` once the media before
 *   it has played (also when cleared).
 * - `error` frames report problems with what we sent; they are counted (record), not fatal.
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
  outboundFrameMs,
  policy,
  ProtocolError,
  shown,
  type CallEvent,
  type CallProtocol,
  type Outbound,
  type PcmFormat,
} from './protocol.js';
import { bytesPerSample } from '../../lib/formats.js';

const ENCODINGS = { PCMU: 'mulaw', PCMA: 'alaw', L16: 's16be' } as const;
const L16_RATES = [8000, 16000, 24000, 48000];
const TS_MOD = 2 ** 32;

export interface TelnyxStats {
  messages: number;
  media: number;
  payloadBytes: number;
  marks: number;
  dtmf: number;
  errors: number;
  /** Media of another track (outbound, with both_tracks): not the caller's audio, skipped. */
  otherTrack: number;
  /** sequence_number did not follow the previous one (it counts every message). */
  sequenceGaps: number;
  /** The last `error` frame's code and title. */
  lastError?: string;
}

type Start = { streamId: string; callControlId?: string; format: PcmFormat; params: Record<string, unknown> };

export class TelnyxCall implements CallProtocol {
  readonly name = 'telnyx';
  readonly stats: TelnyxStats = {
    messages: 0,
    media: 0,
    payloadBytes: 0,
    marks: 0,
    dtmf: 0,
    errors: 0,
    otherTrack: 0,
    sequenceGaps: 0,
  };
  #state: 'new' | 'started' | 'stopped' = 'new';
  #start: Start | undefined;
  #outbound: Outbound | undefined;
  #lastSeq = -1;
  /** Which numbers the first media frame carried: every later one must carry them too (the jitter buffer's rule). */
  #numbered: { chunk: boolean; timestamp: boolean } | undefined;

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    return this.receiveObject(jsonText(data, isBinary, 'TELNYX', 'a Telnyx media stream'));
  }

  /** One already-parsed message. Throws ProtocolError. */
  receiveObject(msg: unknown): CallEvent {
    this.stats.messages++;
    const m = eventObject(msg, 'TELNYX');
    const event = m.event;
    if (this.#state === 'stopped') throw policy('ERR_TELNYX_ORDER', `"${shown(event)}" after "stop"`);
    this.#checkSequence(m.sequence_number);
    switch (event) {
      case 'connected':
        if (this.#state !== 'new') throw policy('ERR_TELNYX_ORDER', '"connected" after "start"');
        return { kind: 'none' };
      case 'start':
        if (this.#state !== 'new') throw policy('ERR_TELNYX_ORDER', 'a second "start"');
        this.#start = parseStart(m);
        this.#state = 'started';
        this.#outbound = telnyxOutbound(this.#start.format);
        return { kind: 'start', format: { ...this.#start.format }, params: this.#start.params };
      case 'media':
        this.#checkStarted(m, event);
        return this.#media(m);
      case 'mark': {
        this.#checkStarted(m, event);
        const name = field(m, 'mark')?.name;
        if (typeof name !== 'string') throw policy('ERR_TELNYX_MESSAGE', '"mark" without a mark.name string');
        this.stats.marks++;
        return { kind: 'played', name };
      }
      case 'dtmf': {
        this.#checkStarted(m, event);
        if (typeof field(m, 'dtmf')?.digit !== 'string') {
          throw policy('ERR_TELNYX_MESSAGE', '"dtmf" without a dtmf.digit string');
        }
        this.stats.dtmf++;
        return { kind: 'none' };
      }
      case 'error': {
        const p = field(m, 'payload');
        this.stats.errors++;
        this.stats.lastError = `${shown(p?.code ?? null, 20)} ${shown(p?.title ?? '', 60)}`.trim();
        return { kind: 'none' };
      }
      case 'stop':
        this.#checkStarted(m, event);
        this.#state = 'stopped';
        return { kind: 'stop' };
      default:
        throw policy('ERR_TELNYX_EVENT', `unknown event "${shown(event)}"`);
    }
  }

  record(): Record<string, unknown> {
    const s = this.#start;
    return {
      ...(s && { streamSid: s.streamId, callSid: s.callControlId }),
      telnyx: { ...this.stats },
    };
  }

  #checkSequence(seq: unknown): void {
    if (seq === undefined) return;
    const n = count(seq, 'sequence_number');
    if (this.#lastSeq >= 0 && n !== this.#lastSeq + 1) this.stats.sequenceGaps++;
    this.#lastSeq = n;
  }

  #checkStarted(m: Record<string, unknown>, event: string): void {
    if (this.#state !== 'started') throw policy('ERR_TELNYX_ORDER', `"${event}" before "start"`);
    if (m.stream_id !== undefined && m.stream_id !== this.#start!.streamId) {
      throw policy('ERR_TELNYX_STREAM', `stream_id ${shown(m.stream_id)} is not this stream's`);
    }
  }

  #media(m: Record<string, unknown>): CallEvent {
    const media = field(m, 'media');
    if (media === undefined || typeof media.payload !== 'string') {
      throw policy('ERR_TELNYX_MESSAGE', '"media" without media.payload');
    }
    if (media.track !== undefined && typeof media.track !== 'string') {
      throw policy('ERR_TELNYX_MESSAGE', `media.track must be a string, got ${shown(media.track)}`);
    }
    const chunk = media.chunk === undefined ? undefined : count(media.chunk, 'media.chunk');
    const ms = media.timestamp === undefined ? undefined : count(media.timestamp, 'media.timestamp');
    const b64 = media.payload;
    const format = this.#start!.format;
    const payload = base64Payload(b64, 'ERR_TELNYX_BASE64');
    if (payload.length % bytesPerSample(format.encoding) !== 0) {
      throw new ProtocolError(
        CloseCode.INVALID_PAYLOAD,
        'ERR_TELNYX_PAYLOAD',
        `media.payload of ${payload.length} bytes is not a whole number of L16 samples`,
      );
    }
    if (media.track !== undefined && media.track !== 'inbound' && media.track !== 'inbound_track') {
      this.stats.otherTrack++;
      return { kind: 'none' };
    }
    this.#numbered ??= { chunk: chunk !== undefined, timestamp: ms !== undefined };
    if ((this.#numbered.chunk && chunk === undefined) || (this.#numbered.timestamp && ms === undefined)) {
      throw policy('ERR_TELNYX_MESSAGE', 'media without the chunk/timestamp the stream started with');
    }
    this.stats.media++;
    this.stats.payloadBytes += payload.length;
    return {
      kind: 'audio',
      bytes: payload,
      ...(this.#numbered.chunk && { seq: chunk! % 65536 }),
      ...(this.#numbered.timestamp && { timestamp: ((ms! % TS_MOD) * (format.sampleRate / 1000)) % TS_MOD }),
    };
  }
}

function parseStart(m: Record<string, unknown>): Start {
  const start = field(m, 'start');
  if (start === undefined) throw policy('ERR_TELNYX_MESSAGE', '"start" without a start object');
  const streamId = m.stream_id ?? start.stream_id;
  if (typeof streamId !== 'string' || streamId === '') {
    throw policy('ERR_TELNYX_MESSAGE', '"start" without a stream_id');
  }
  return {
    streamId,
    callControlId: optionalString(start, 'call_control_id', 'start', 'ERR_TELNYX_MESSAGE'),
    format: mediaFormat(field(start, 'media_format')),
    params: optionalObject(start, 'custom_parameters', 'start', 'ERR_TELNYX_MESSAGE'),
  };
}

function mediaFormat(f: Record<string, unknown> | undefined): PcmFormat {
  const enc = f?.encoding;
  const rate = numberFrom(f?.sample_rate);
  const channels = f?.channels === undefined ? 1 : numberFrom(f.channels);
  const encoding = typeof enc === 'string' && Object.hasOwn(ENCODINGS, enc) ? ENCODINGS[enc as 'L16'] : undefined;
  const rateOk = encoding === 's16be' ? L16_RATES.includes(rate) : rate === 8000;
  if (encoding === undefined || !rateOk || channels !== 1) {
    throw new ProtocolError(
      CloseCode.UNSUPPORTED_DATA,
      'ERR_TELNYX_FORMAT',
      `media_format must be PCMU/PCMA 8000 Hz or L16 ${L16_RATES.join('/')} Hz, 1 channel; got ${shown(f ?? null, 80)}`,
    );
  }
  return { encoding, sampleRate: rate, channels: 1 };
}

function telnyxOutbound(format: PcmFormat): Outbound {
  return {
    format: { ...format },
    frameMs: outboundFrameMs(format.sampleRate),
    media: (bytes) => JSON.stringify({ event: 'media', media: { payload: bytes.toString('base64') } }),
    clear: () => JSON.stringify({ event: 'clear' }),
    mark: (name) => JSON.stringify({ event: 'mark', mark: { name } }),
  };
}

/** Telnyx counters are decimal strings ("12"); numbers are accepted too. */
function count(v: unknown, name: string): number {
  return decimalCount(v, name, 'ERR_TELNYX_MESSAGE');
}
