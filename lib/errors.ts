/**
 * Every failure the library reports is an AudioPipelineError with a stable `code`, delivered as a stream
 * 'error' (never thrown past pipeline()). Match on `code` or on the subclass.
 */
import type { ErrorCode } from './errorCodes.js';

export { ERROR_CODES, type ErrorCode } from './errorCodes.js';

export class AudioPipelineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The input bytes are not valid for the declared or detected format (truncated, inconsistent, garbage). */
export class InvalidAudioError extends AudioPipelineError {}

/** The input is well-formed but uses something this library does not handle (codec, bit depth, tag). */
export class UnsupportedFormatError extends AudioPipelineError {}

/** A frame does not match what a stage was configured for (rate, channels, frame size, buffer layout). */
export class FrameFormatError extends AudioPipelineError {}

/** Bad options passed to a constructor or factory. */
export class ConfigError extends AudioPipelineError {}

/** A bounded buffer hit its cap: the data rate is beyond what the stage was built to absorb. */
export class BufferOverflowError extends AudioPipelineError {}

/** Connecting to a LiveKit server failed (bad URL, bad token, unreachable). */
export class ConnectionError extends AudioPipelineError {}

/** Normalise anything thrown into an Error for a stream callback. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
