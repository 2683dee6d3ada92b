/**
 * Plivo Audio Streams (the `<Stream bidirectional="true">` XML element): JSON text messages both ways.
 *
 * Docs: https://www.plivo.com/docs/voice/audio-streaming/audio-streaming (Stream Event Protocol),
 *       https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference,
 *       https://docs.plivo.com/docs/voice/xml/audiostream (contentType, extraHeaders),
 *       https://plivo.com/docs/voice/xml/the-stream-element/checkpoint-event
 *
 *   {"event":"start","sequenceNumber":1,"start":{"callId":"1234…","streamId":"8765…","accountId":"MA…",
 *     "tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},
 *     "extra_headers":"userId=12345;sessionId=abc-xyz"}
 *   {"event":"media","sequenceNumber":42,"streamId":"8765…",
 *     "media":{"track":"inbound","timestamp":"1705312200000","chunk":41,"payload":"<base64>"}}
 *   {"event":"dtmf","sequenceNumber":…,"streamId":"…","dtmf":{"track":"inbound","digit":"5","timestamp":"…"}}
 *   {"event":"playedStream","streamId":"…","name":"m1"}     (our checkpoint, played)
 *   {"event":"clearedAudio","streamId":"…"}                  (our clearAudio, done)
 *
 * What the docs say and what is assumed here:
 * - Formats (contentType): audio/x-mulaw at 8000 Hz, audio/x-l16 at 8000 or 16000 Hz, mono. The byte order of
 *   L16 is not stated; little-endian is assumed (`s16le`, what Plivo's own samples write back).
 * - `media.timestamp` is Unix time in ms (a wall clock, not media time), so packets are taken in arrival order;
 *   `media.chunk` repeats/late ones are dropped and gaps counted, as for Twilio.
 * - The protocol page lists no `stop` message (the stream ends when the socket closes); one is accepted anyway.
 *   The support FAQ names the checkpoint echo `played`, the protocol page `playedStream`: both are accepted.
 * - Client → Plivo: {"event":"playAudio","media":{"contentType":…,"sampleRate":…,"payload":…}},
 *   {"event":"clearAudio","streamId":…}, {"event":"checkpoint","streamId":…,"name":…}.
 * - params: the `extra_headers` string (`a=1;b=2` or `a=1,b=2`) as an object.
 */
import {
  base64Payload,
  CloseCode,
  decimalCount,
  eventObject,
  jsonText,
  numberFrom,
  objectField as field,
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

export interface PlivoStats {
  messages: number;
  media: number;
  payloadBytes: number;
  checkpoints: number;
  cleared: number;
  dtmf: number;
  otherTrack: number;
  /** Media chunks missing between two received ones. */
  missingChunks: number;
  /** Media chunks that came with a number ≤ the last one (dropped). */
  lateChunks: number;
}

type Start = { streamId: string; callId?: string; format: PcmFormat; params: Record<string, string> };

export class PlivoCall implements CallProtocol {
  readonly name = 'plivo';
  readonly stats: PlivoStats = {
    messages: 0,
    media: 0,
    payloadBytes: 0,
    checkpoints: 0,
    cleared: 0,
    dtmf: 0,
    otherTrack: 0,
    missingChunks: 0,
    lateChunks: 0,
  };
  #state: 'new' | 'started' | 'stopped' = 'new';
  #start: Start | undefined;
  #outbound: Outbound | undefined;
  #lastChunk = -1;

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    return this.receiveObject(jsonText(data, isBinary, 'PLIVO', 'a Plivo audio stream'));
  }

  /** One already-parsed message. Throws ProtocolError. */
  receiveObject(msg: unknown): CallEvent {
    this.stats.messages++;
    const m = eventObject(msg, 'PLIVO');
    const event = m.event;
    if (this.#state === 'stopped') throw policy('ERR_PLIVO_ORDER', `"${shown(event)}" after "stop"`);
    if (m.sequenceNumber !== undefined) count(m.sequenceNumber, 'sequenceNumber');
    if (event === 'start') {
      if (this.#state !== 'new') throw policy('ERR_PLIVO_ORDER', 'a second "start"');
      this.#start = parseStart(m);
      this.#state = 'started';
      this.#outbound = plivoOutbound(this.#start.streamId, this.#start.format);
      return { kind: 'start', format: { ...this.#start.format }, params: this.#start.params };
    }
    if (!KNOWN.has(event)) throw policy('ERR_PLIVO_EVENT', `unknown event "${shown(event)}"`);
    if (this.#state !== 'started') throw policy('ERR_PLIVO_ORDER', `"${event}" before "start"`);
    if (m.streamId !== undefined && m.streamId !== this.#start!.streamId) {
      throw policy('ERR_PLIVO_STREAM', `streamId ${shown(m.streamId)} is not this stream's`);
    }
    switch (event) {
      case 'media':
        return this.#media(m);
      case 'playedStream':
      case 'played':
        if (typeof m.name !== 'string') throw policy('ERR_PLIVO_MESSAGE', `"${event}" without a name string`);
        this.stats.checkpoints++;
        return { kind: 'played', name: m.name };
      case 'clearedAudio':
        this.stats.cleared++;
        return { kind: 'none' };
      case 'dtmf':
        if (typeof field(m, 'dtmf')?.digit !== 'string') {
          throw policy('ERR_PLIVO_MESSAGE', '"dtmf" without a dtmf.digit string');
        }
        this.stats.dtmf++;
        return { kind: 'none' };
      default: // 'stop'
        this.#state = 'stopped';
        return { kind: 'stop' };
    }
  }

  record(): Record<string, unknown> {
    const s = this.#start;
    return { ...(s && { streamSid: s.streamId, callSid: s.callId }), plivo: { ...this.stats } };
  }

  #media(m: Record<string, unknown>): CallEvent {
    const media = field(m, 'media');
    if (media === undefined || typeof media.payload !== 'string') {
      throw policy('ERR_PLIVO_MESSAGE', '"media" without media.payload');
    }
    if (media.track !== undefined && typeof media.track !== 'string') {
      throw policy('ERR_PLIVO_MESSAGE', `media.track must be a string, got ${shown(media.track)}`);
    }
    const chunk = media.chunk === undefined ? this.#lastChunk + 1 : count(media.chunk, 'media.chunk');
    if (media.timestamp !== undefined) count(media.timestamp, 'media.timestamp');
    const b64 = media.payload;
    const payload = base64Payload(b64, 'ERR_PLIVO_BASE64');
    if (payload.length % bytesPerSample(this.#start!.format.encoding) !== 0) {
      throw new ProtocolError(
        CloseCode.INVALID_PAYLOAD,
        'ERR_PLIVO_PAYLOAD',
        `media.payload of ${payload.length} bytes is not a whole number of L16 samples`,
      );
    }
    if (media.track !== undefined && media.track !== 'inbound') {
      this.stats.otherTrack++;
      return { kind: 'none' };
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

const KNOWN = new Set(['media', 'dtmf', 'playedStream', 'played', 'clearedAudio', 'stop']);

function parseStart(m: Record<string, unknown>): Start {
  const start = field(m, 'start');
  if (start === undefined) throw policy('ERR_PLIVO_MESSAGE', '"start" without a start object');
  const streamId = start.streamId ?? m.streamId;
  if (typeof streamId !== 'string' || streamId === '') throw policy('ERR_PLIVO_MESSAGE', '"start" without a streamId');
  const callId = start.callId;
  if (callId !== undefined && typeof callId !== 'string') {
    throw policy('ERR_PLIVO_MESSAGE', `start.callId must be a string, got ${shown(callId)}`);
  }
  const headers = m.extra_headers;
  if (headers !== undefined && typeof headers !== 'string') {
    throw policy('ERR_PLIVO_MESSAGE', `extra_headers must be a string, got ${shown(headers)}`);
  }
  return { streamId, callId, format: mediaFormat(field(start, 'mediaFormat')), params: extraHeaders(headers ?? '') };
}

function mediaFormat(f: Record<string, unknown> | undefined): PcmFormat {
  const rate = numberFrom(f?.sampleRate);
  if (f?.encoding === 'audio/x-mulaw' && rate === 8000) return { encoding: 'mulaw', sampleRate: 8000, channels: 1 };
  if (f?.encoding === 'audio/x-l16' && (rate === 8000 || rate === 16000)) {
    return { encoding: 's16le', sampleRate: rate, channels: 1 };
  }
  throw new ProtocolError(
    CloseCode.UNSUPPORTED_DATA,
    'ERR_PLIVO_FORMAT',
    `mediaFormat must be audio/x-mulaw 8000 Hz or audio/x-l16 8000/16000 Hz, got ${shown(f ?? null, 80)}`,
  );
}

/** "a=1;b=2" (or comma-separated) → { a: '1', b: '2' }; own properties only, whatever the keys. */
function extraHeaders(text: string): Record<string, string> {
  const pairs = text
    .split(/[;,]/)
    .map((p) => p.split('='))
    .filter((kv): kv is [string, string] => kv.length === 2 && kv[0]!.trim() !== '')
    .map(([k, v]) => [k.trim(), v.trim()] as const);
  return Object.fromEntries(pairs);
}

function plivoOutbound(streamId: string, format: PcmFormat): Outbound {
  const contentType = format.encoding === 'mulaw' ? 'audio/x-mulaw' : 'audio/x-l16';
  const { sampleRate } = format;
  return {
    format: { ...format },
    frameMs: outboundFrameMs(sampleRate),
    media: (bytes) =>
      JSON.stringify({ event: 'playAudio', media: { contentType, sampleRate, payload: bytes.toString('base64') } }),
    clear: () => JSON.stringify({ event: 'clearAudio', streamId }),
    mark: (name) => JSON.stringify({ event: 'checkpoint', streamId, name }),
  };
}

/** Plivo counters are numbers, sometimes decimal strings. */
function count(v: unknown, name: string): number {
  return decimalCount(v, name, 'ERR_PLIVO_MESSAGE');
}
