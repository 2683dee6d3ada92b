/**
 * Vonage Voice API WebSockets (NCCO `connect` to an endpoint of type `websocket`): one text message of metadata,
 * then binary audio both ways, with JSON text messages for events and commands.
 *
 * Docs: https://developer.vonage.com/en/voice/voice-api/concepts/websockets,
 *       https://developer.vonage.com/en/voice/voice-api/ncco-reference (connect → websocket endpoint),
 *       https://developer.vonage.com/en/tutorials/play-audio-into-a-websocket (writing audio back)
 *
 *   {"event":"websocket:connected","content-type":"audio/l16;rate=16000","caller":"…", …the NCCO's headers}
 *   <binary: 16-bit linear PCM, mono, 20 ms a message — 640 bytes at 16 kHz>
 *   {"event":"websocket:dtmf","digit":"5","duration":260}
 *   {"event":"websocket:notify","payload":{"name":"m1"}}        (our notify, reached in playback)
 *   {"event":"websocket:cleared"}                                 (our clear, done)
 *
 * What the docs say and what is assumed here:
 * - The first message is text: `content-type` gives the rate (audio/l16;rate=8000 or 16000; 24000 is accepted
 *   as the newer docs list it). Every other field is one of the NCCO's custom `headers`: they are the params.
 * - The audio is 16-bit signed linear PCM, little-endian (the docs' "16-bit linear PCM"; every Vonage sample
 *   and SDK treats it as little-endian) → `s16le`. Messages are 20 ms; other sizes of whole samples are
 *   accepted, an odd byte count is refused.
 * - Client → Vonage: binary 20 ms messages of the same format (Vonage buffers ~3072 of them);
 *   {"action":"clear"} drops what is buffered; {"action":"notify","payload":{…}} comes back as
 *   `websocket:notify` with the same payload once the audio before it has played.
 * - Other text events (Vonage adds some over time) are counted, not refused. The call ends when Vonage closes
 *   the socket: there is no stop message.
 */
import {
  CloseCode,
  objectField as field,
  parseJson,
  policy,
  ProtocolError,
  shown,
  type CallEvent,
  type CallProtocol,
  type Outbound,
  type PcmFormat,
} from './protocol.js';

/** The one message length Vonage sends and expects: 20 ms. */
export const VONAGE_FRAME_MS = 20;
const CONTENT_TYPE = /^audio\/l16;\s*rate=(8000|16000|24000)$/i;

export interface VonageStats {
  messages: number;
  audioMessages: number;
  audioBytes: number;
  /** Audio messages that were not 20 ms long (accepted). */
  oddSizes: number;
  dtmf: number;
  notifies: number;
  cleared: number;
  /** Text events this adapter does not know (counted, not refused). */
  unknownEvents: number;
}

export class VonageCall implements CallProtocol {
  readonly name = 'vonage';
  readonly stats: VonageStats = {
    messages: 0,
    audioMessages: 0,
    audioBytes: 0,
    oddSizes: 0,
    dtmf: 0,
    notifies: 0,
    cleared: 0,
    unknownEvents: 0,
  };
  #format: PcmFormat | undefined;
  #outbound: Outbound | undefined;

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    this.stats.messages++;
    if (isBinary) return this.#audio(data);
    return this.receiveObject(parseJson(data.toString('utf8'), 'ERR_VONAGE_JSON'));
  }

  /** One already-parsed text message. Throws ProtocolError. */
  receiveObject(msg: unknown): CallEvent {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      throw policy('ERR_VONAGE_MESSAGE', 'text message is not a JSON object');
    }
    const m = msg as Record<string, unknown>;
    if (typeof m.event !== 'string') throw policy('ERR_VONAGE_MESSAGE', 'text message without an "event" string');
    if (this.#format === undefined) {
      if (m.event !== 'websocket:connected') {
        throw policy('ERR_VONAGE_ORDER', `"${shown(m.event)}" before "websocket:connected"`);
      }
      return this.#connected(m);
    }
    switch (m.event) {
      case 'websocket:connected':
        throw policy('ERR_VONAGE_ORDER', 'a second "websocket:connected"');
      case 'websocket:dtmf':
        if (typeof m.digit !== 'string' && typeof field(m, 'dtmf')?.digit !== 'string') {
          throw policy('ERR_VONAGE_MESSAGE', '"websocket:dtmf" without a digit string');
        }
        this.stats.dtmf++;
        return { kind: 'none' };
      case 'websocket:notify': {
        const payload = field(m, 'payload');
        if (payload === undefined) throw policy('ERR_VONAGE_MESSAGE', '"websocket:notify" without a payload object');
        this.stats.notifies++;
        // a notify with no name of ours (another application's) is not a mark
        return typeof payload.name === 'string' ? { kind: 'played', name: payload.name } : { kind: 'none' };
      }
      case 'websocket:cleared':
        this.stats.cleared++;
        return { kind: 'none' };
      default:
        this.stats.unknownEvents++;
        return { kind: 'none' };
    }
  }

  record(): Record<string, unknown> {
    return { vonage: { ...this.stats } };
  }

  #connected(m: Record<string, unknown>): CallEvent {
    const type = m['content-type'];
    const rate = typeof type === 'string' ? CONTENT_TYPE.exec(type.trim())?.[1] : undefined;
    if (rate === undefined) {
      throw new ProtocolError(
        CloseCode.UNSUPPORTED_DATA,
        'ERR_VONAGE_FORMAT',
        `content-type must be audio/l16;rate=8000|16000|24000, got ${shown(type ?? null)}`,
      );
    }
    this.#format = { encoding: 's16le', sampleRate: Number(rate), channels: 1 };
    this.#outbound = vonageOutbound(this.#format);
    // fromEntries defines own properties: a "__proto__" header stays a plain key
    const params = Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'event' && k !== 'content-type'));
    return { kind: 'start', format: { ...this.#format }, params };
  }

  #audio(data: Buffer): CallEvent {
    if (this.#format === undefined) {
      throw policy('ERR_VONAGE_ORDER', 'audio before the "websocket:connected" text message');
    }
    if (data.length % 2 !== 0) {
      throw new ProtocolError(
        CloseCode.INVALID_PAYLOAD,
        'ERR_VONAGE_AUDIO',
        `an audio message of ${data.length} bytes is not a whole number of 16-bit samples`,
      );
    }
    if (data.length === 0) return { kind: 'none' };
    this.stats.audioMessages++;
    this.stats.audioBytes += data.length;
    if (data.length !== (this.#format.sampleRate / 1000) * VONAGE_FRAME_MS * 2) this.stats.oddSizes++;
    return { kind: 'audio', bytes: data };
  }
}

function vonageOutbound(format: PcmFormat): Outbound {
  return {
    format: { ...format },
    frameMs: VONAGE_FRAME_MS,
    media: (bytes) => bytes,
    clear: () => JSON.stringify({ action: 'clear' }),
    mark: (name) => JSON.stringify({ action: 'notify', payload: { name } }),
  };
}
