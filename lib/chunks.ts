/**
 * Byte chunks written into the decoders: the one check every decoder makes on what it is given, and the count
 * of bytes waiting in a Writable's buffer (for `bufferedMs`).
 */
import type { Writable } from 'node:stream';
import type { ErrorCode } from './errorCodes.js';
import { InvalidAudioError } from './errors.js';

/** The chunk as a Buffer view (no copy), or an InvalidAudioError `code` naming what it was instead. */
export function bytesOf(chunk: unknown, where: string, code: ErrorCode): Buffer | InvalidAudioError {
  if (chunk instanceof Uint8Array) {
    return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  const what =
    chunk === null ? 'null' : typeof chunk === 'object' ? (chunk.constructor?.name ?? 'object') : typeof chunk;
  return new InvalidAudioError(code, `${where} expects Buffer/Uint8Array chunks, got ${what}`);
}

/** Bytes waiting in a writable's buffer (Node's `writableBuffer` holds `{ chunk, encoding, callback }` entries). */
export function writableQueuedBytes(w: Writable): number {
  let n = 0;
  for (const e of (w as unknown as { writableBuffer: Array<{ chunk: unknown }> }).writableBuffer) {
    if (e.chunk instanceof Uint8Array) n += e.chunk.byteLength;
  }
  return n;
}
