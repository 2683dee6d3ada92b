/**
 * What the gateway tells a WebSocket client when it refuses its stream: a close code (RFC 6455 §7.4.1) and a
 * short reason. Parsers throw ProtocolError; the connection turns it into `ws.close(code, reason)`.
 */
import { AudioPipelineError, type ErrorCode } from '../../lib/errors.js';
import type { SampleEncoding } from '../../lib/formats.js';

/** A call's audio format on the wire (either way). */
export interface PcmFormat {
  /** Any decodePcm encoding: u8 s16le s16be s24le s32le f32le f64le mulaw alaw. */
  encoding: SampleEncoding;
  sampleRate: number;
  channels: number;
}

/** What one message from the client means for the call (CallProtocol.receive). */
export type CallEvent =
  | { kind: 'none' }
  /** The format is known: the call's audio chain starts. `params` are the client's custom parameters. */
  | { kind: 'start'; format: PcmFormat; params?: Record<string, unknown> }
  /** Audio in the start format. seq (16-bit wrap) / timestamp (samples) when the protocol numbers packets. */
  | { kind: 'audio'; bytes: Buffer; seq?: number; timestamp?: number }
  /** The client has played everything sent before the mark of this name. */
  | { kind: 'played'; name: string }
  /** The client ended the stream. */
  | { kind: 'stop' };

/** How audio goes back to the client, in the protocol's own framing. */
export interface Outbound {
  /** The format the client hears (usually the one it sends). */
  readonly format: PcmFormat;
  /** Audio per media message, ms (a whole number of samples at format.sampleRate). */
  readonly frameMs: number;
  /** One media message for exactly frameMs of audio in `format`. */
  media(bytes: Buffer): string | Buffer;
  /** The message that drops what the client has buffered but not played; undefined if the protocol has none. */
  clear(): string | Buffer | undefined;
  /** A message the client echoes (as a `played` event) once everything before it has played; or none. */
  mark?(name: string): string | Buffer;
}

/**
 * One call's protocol, both ways. Each protocol is one file (gateway/protocols/) with a class implementing this
 * and an entry in gateway/protocols/registry.ts; docs/protocols.md shows how to add one.
 */
export interface CallProtocol {
  readonly name: string;
  /** Validate one WebSocket message (as `ws` delivers it). Throws ProtocolError for anything off. */
  receive(data: Buffer, isBinary: boolean): CallEvent;
  /** The way back, once `start` has been received (undefined before, or if the protocol has none). */
  readonly outbound: Outbound | undefined;
  /** Ids and counters for the call's stats record (streamSid, callSid, message counts…). */
  record(): Record<string, unknown>;
}

export const CloseCode = {
  /** The stream ended as agreed (Twilio `stop`, or the client closed). */
  NORMAL: 1000,
  /** The gateway is shutting down. */
  GOING_AWAY: 1001,
  /** Data of a kind this endpoint does not take: binary on a Twilio stream, an unsupported audio format. */
  UNSUPPORTED_DATA: 1003,
  /** The message is not what its type promises: malformed JSON, bad base64, undecodable audio. */
  INVALID_PAYLOAD: 1007,
  /** The message is well-formed but breaks the protocol: unknown event, wrong order, missing fields. */
  POLICY_VIOLATION: 1008,
  /** A message over --max-message-bytes (sent by `ws` itself via maxPayload). */
  MESSAGE_TOO_BIG: 1009,
  /** The gateway failed (publishing, the audio pipeline): not the client's fault. */
  INTERNAL_ERROR: 1011,
} as const;

/** A client broke the protocol; `closeCode` and `message` become the WebSocket close frame. */
export class ProtocolError extends AudioPipelineError {
  readonly closeCode: number;
  constructor(closeCode: number, code: ErrorCode, message: string) {
    super(code, message);
    this.closeCode = closeCode;
  }
}

/** A close reason fits in 123 bytes of UTF-8 (a control frame carries ≤ 125 bytes, 2 of them the code). */
export function closeReason(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= 123) return message;
  // cut on a character boundary: decoding a truncated sequence would add U+FFFD (3 bytes)
  let s = bytes.subarray(0, 120).toString('utf8');
  while (Buffer.byteLength(s) > 120) s = s.slice(0, -1);
  return s + '...';
}

/**
 * A client's value, safe to put in a message: JSON text, cut short. Never String(v): a parsed object with a
 * "toString" or "valueOf" key makes String() and Number() throw.
 */
export function shown(v: unknown, max = 40): string {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(typeof v));
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** A client's number: a JSON number or a decimal string ("8000"); NaN for anything else (objects included). */
export function numberFrom(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return NaN;
}

/** JSON.parse with a protocol error (1007) instead of a SyntaxError. */
export function parseJson(text: string, code: ErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(CloseCode.INVALID_PAYLOAD, code, `malformed JSON: ${text.slice(0, 40)}`);
  }
}

/** A parsed JSON object's field that is itself an object, or undefined. */
export function objectField(m: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = m[name];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The duration of one outbound media message: `preferredMs` (20 ms, a telephony packet) or the next multiple of
 * it that holds a whole number of samples at `sampleRate` (40 ms at 11025 Hz).
 */
export function outboundFrameMs(sampleRate: number, preferredMs = 20): number {
  let ms = preferredMs;
  while ((sampleRate * ms) % 1000 !== 0) ms += preferredMs;
  return ms;
}

/** A protocol breach (1008) with its error code. */
export function policy(code: ErrorCode, message: string): ProtocolError {
  return new ProtocolError(CloseCode.POLICY_VIOLATION, code, message);
}

/** A counter sent as a decimal string ("12") or a number; anything else is a 1008 with `code`. */
export function decimalCount(v: unknown, name: string, code: ErrorCode): number {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw policy(code, `${name} must be a non-negative integer, got ${shown(v)}`);
  }
  return n;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of strict base64 (Node's decoder silently skips bad characters), or a 1007 with `code`. */
export function base64Payload(b64: string, code: ErrorCode): Buffer {
  if (b64.length === 0 || !BASE64.test(b64)) {
    throw new ProtocolError(CloseCode.INVALID_PAYLOAD, code, 'media.payload is not base64');
  }
  return Buffer.from(b64, 'base64');
}

/** The providers whose messages are JSON text with an "event" (their error codes share these suffixes). */
export type JsonProtocolCode = 'TELNYX' | 'PLIVO' | 'EXOTEL';

/** A JSON-text protocol's message: binary is 1003, bad JSON 1007 (ERR_<P>_BINARY, ERR_<P>_JSON). */
export function jsonText(data: Buffer, isBinary: boolean, p: JsonProtocolCode, what: string): unknown {
  if (isBinary) {
    throw new ProtocolError(
      CloseCode.UNSUPPORTED_DATA,
      `ERR_${p}_BINARY`,
      `binary message on ${what} (media is base64 JSON text)`,
    );
  }
  return parseJson(data.toString('utf8'), `ERR_${p}_JSON`);
}

/** A parsed message that must be an object with an "event" string (else 1008 ERR_<P>_MESSAGE). */
export function eventObject(msg: unknown, p: JsonProtocolCode): Record<string, unknown> & { event: string } {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw policy(`ERR_${p}_MESSAGE`, 'message is not a JSON object');
  }
  const m = msg as Record<string, unknown>;
  if (typeof m.event !== 'string') throw policy(`ERR_${p}_MESSAGE`, 'message without an "event" string');
  return m as Record<string, unknown> & { event: string };
}

/** `obj[key]` when absent or a string; anything else is a 1008 with `code` naming `where.key`. */
export function optionalString(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  code: ErrorCode,
): string | undefined {
  const v = obj[key];
  if (v !== undefined && typeof v !== 'string') throw policy(code, `${where}.${key} must be a string, got ${shown(v)}`);
  return v;
}

/** `obj[key]` when it is an object, {} when absent; anything else is a 1008 with `code` naming `where.key`. */
export function optionalObject(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  code: ErrorCode,
): Record<string, unknown> {
  const v = obj[key];
  if (v === undefined) return {};
  const o = objectField(obj, key);
  if (o === undefined) throw policy(code, `${where}.${key} must be an object, got ${shown(v)}`);
  return o;
}
