/**
 * The gateway's structured log: one line per call opened and closed and per refused upgrade, with its reason.
 * Any pino-compatible logger can be injected (`logger` option: pino, a pino child, or anything with info/warn/
 * error taking `(object, message)`); the default is pino writing JSON lines to stdout. pino is what
 * @livekit/rtc-node logs with already, so it costs an app nothing more.
 */
import { pino } from 'pino';

export interface GatewayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** JSON lines on stdout, level info (LOG_LEVEL overrides), named livekit-audio-gateway. */
export function defaultLogger(): GatewayLogger {
  return pino({ name: 'livekit-audio-gateway', level: process.env.LOG_LEVEL ?? 'info' });
}
