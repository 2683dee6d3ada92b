/**
 * What the gateway tells a WebSocket client when it refuses its stream: a close code (RFC 6455 §7.4.1) and a
 * short reason. Parsers throw ProtocolError; the connection turns it into `ws.close(code, reason)`.
 */
import { AudioPipelineError, type ErrorCode } from '../../lib/errors.js';

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
