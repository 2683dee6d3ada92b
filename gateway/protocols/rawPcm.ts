/**
 * Raw PCM over WebSocket: binary messages of interleaved samples, any size (a sample may straddle two messages).
 * The format is declared once, either in the URL query
 *
 *   ws://host:port/pcm?rate=16000&channels=1&encoding=s16le
 *
 * or in a first JSON text message: {"sampleRate":16000,"channels":1,"encoding":"s16le"} ("rate" is accepted
 * for "sampleRate"). channels defaults to 1 and encoding to s16le. After the format, only binary messages.
 */
import {
  CloseCode,
  numberFrom,
  outboundFrameMs,
  parseJson,
  ProtocolError,
  shown,
  type CallEvent,
  type CallProtocol,
  type Outbound,
  type PcmFormat,
} from './protocol.js';
import { isSampleEncoding, SAMPLE_ENCODINGS } from '../../lib/formats.js';

export type { PcmFormat };

export const PCM_RATE_RANGE = [8000, 192000] as const;
export const PCM_MAX_CHANNELS = 8;

/** The format in a URL query, or undefined when it declares none (no rate/sampleRate). Throws ProtocolError. */
export function pcmFormatFromQuery(query: URLSearchParams): PcmFormat | undefined {
  const rate = query.get('rate') ?? query.get('sampleRate');
  if (rate === null) return undefined;
  return pcmFormat({
    sampleRate: rate,
    channels: query.get('channels') ?? undefined,
    encoding: query.get('encoding') ?? undefined,
  });
}

/** Validate a declared format; numbers may be strings (from a query). Throws ProtocolError. */
export function pcmFormat(decl: {
  sampleRate?: unknown;
  rate?: unknown;
  channels?: unknown;
  encoding?: unknown;
}): PcmFormat {
  if (typeof decl !== 'object' || decl === null || Array.isArray(decl)) {
    throw new ProtocolError(CloseCode.POLICY_VIOLATION, 'ERR_PCM_FORMAT', 'the format must be a JSON object');
  }
  const sampleRate = numberFrom(decl.sampleRate ?? decl.rate);
  const channels = decl.channels === undefined ? 1 : numberFrom(decl.channels);
  const encoding = decl.encoding ?? 's16le';
  if (!Number.isInteger(sampleRate) || sampleRate < PCM_RATE_RANGE[0] || sampleRate > PCM_RATE_RANGE[1]) {
    const got = shown(decl.sampleRate ?? decl.rate);
    throw unsupported(`sampleRate must be an integer in ${PCM_RATE_RANGE.join('..')} Hz, got ${got}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > PCM_MAX_CHANNELS) {
    throw unsupported(`channels must be 1..${PCM_MAX_CHANNELS}, got ${shown(decl.channels)}`);
  }
  if (!isSampleEncoding(encoding)) {
    throw unsupported(`encoding must be one of ${SAMPLE_ENCODINGS.join(' ')}, got ${shown(encoding, 20)}`);
  }
  return { encoding, sampleRate, channels };
}

export type RawPcmEvent = { kind: 'format'; format: PcmFormat } | { kind: 'audio'; bytes: Buffer };

/** One raw-PCM connection's message validation. */
export class RawPcmParser {
  #format: PcmFormat | undefined;

  constructor(format?: PcmFormat) {
    this.#format = format;
  }

  get format(): PcmFormat | undefined {
    return this.#format;
  }

  /** Validate one WebSocket message. Throws ProtocolError. */
  handleMessage(data: Buffer, isBinary: boolean): RawPcmEvent {
    if (!isBinary) {
      if (this.#format !== undefined) {
        throw new ProtocolError(
          CloseCode.UNSUPPORTED_DATA,
          'ERR_PCM_TEXT',
          'text message after the format was declared: send audio as binary messages',
        );
      }
      return this.handleObject(parseJson(data.toString('utf8'), 'ERR_PCM_JSON'));
    }
    if (this.#format === undefined) {
      throw new ProtocolError(
        CloseCode.POLICY_VIOLATION,
        'ERR_PCM_NO_FORMAT',
        'audio before any format: use ?rate=&channels=&encoding= or a first JSON message',
      );
    }
    return { kind: 'audio', bytes: data };
  }

  /** Take an already-parsed format declaration (the first text message). */
  handleObject(msg: unknown): RawPcmEvent {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      throw new ProtocolError(CloseCode.POLICY_VIOLATION, 'ERR_PCM_FORMAT', 'the format message must be a JSON object');
    }
    this.#format = pcmFormat(msg as Record<string, unknown>);
    return { kind: 'format', format: this.#format };
  }
}

/**
 * A raw PCM call both ways. Outbound: binary messages in the client's own format, 20 ms each (40 ms where 20 ms
 * is not a whole number of samples); `{"event":"clear"}` (text) when the room side was interrupted, and
 * `{"event":"mark","name":"…"}` (text) that a client may send back as it is, once played, to measure its delay.
 */
export class RawPcmCall implements CallProtocol {
  readonly name = 'pcm';
  readonly parser: RawPcmParser;
  #outbound: Outbound | undefined;
  #marks = 0;

  constructor(format?: PcmFormat) {
    this.parser = new RawPcmParser(format);
    if (format) this.#outbound = pcmOutbound(format);
  }

  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  receive(data: Buffer, isBinary: boolean): CallEvent {
    if (!isBinary && this.parser.format !== undefined) {
      const name = echoedMark(data);
      if (name !== undefined) {
        this.#marks++;
        return { kind: 'played', name };
      }
    }
    return this.#event(this.parser.handleMessage(data, isBinary));
  }

  /** An already-parsed first message (the gateway's protocol detection). */
  receiveObject(msg: unknown): CallEvent {
    return this.#event(this.parser.handleObject(msg));
  }

  record(): Record<string, unknown> {
    return this.#marks > 0 ? { pcm: { marks: this.#marks } } : {};
  }

  #event(ev: RawPcmEvent): CallEvent {
    if (ev.kind === 'format') {
      this.#outbound = pcmOutbound(ev.format);
      return { kind: 'start', format: ev.format };
    }
    return ev.bytes.length > 0 ? { kind: 'audio', bytes: ev.bytes } : { kind: 'none' };
  }
}

/** A mark echoed by the client, or undefined when the text is anything else (which stays an error). */
function echoedMark(data: Buffer): string | undefined {
  if (data.length > 200) return undefined;
  try {
    const msg = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof msg !== 'object' || msg === null) return undefined;
    const { event, name } = msg as { event?: unknown; name?: unknown };
    return event === 'mark' && typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function pcmOutbound(format: PcmFormat): Outbound {
  return {
    format,
    frameMs: outboundFrameMs(format.sampleRate),
    media: (bytes) => bytes,
    clear: () => JSON.stringify({ event: 'clear' }),
    mark: (name) => JSON.stringify({ event: 'mark', name }),
  };
}

function unsupported(message: string): ProtocolError {
  return new ProtocolError(CloseCode.UNSUPPORTED_DATA, 'ERR_PCM_FORMAT', message);
}
