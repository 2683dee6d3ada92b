/**
 * rtc-node logs with its own pino logger at level debug unless NODE_ENV=production, on stdout — so an app's
 * stdout gets rtc-node's debug JSON ("Connect callback received" on every room connect). Its logger is not exported;
 * it lives in rtc-node's CommonJS module `dist/log.cjs`, which Node's shared module cache holds once rtc-node is
 * loaded. quietRtcNodeDebugLog() raises that logger to info, unless the app asked for debug (LOG_LEVEL=debug). If
 * rtc-node's layout changes it finds nothing and does nothing.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const LOG_MODULE = path.join('@livekit', 'rtc-node', 'dist', 'log.cjs');

export function quietRtcNodeDebugLog(env: NodeJS.ProcessEnv = process.env): number {
  if (env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace') return 0;
  let quieted = 0;
  // the CommonJS module cache is one object per process, whichever file's require reads it
  const cache = createRequire(path.join(process.cwd(), 'noop.js')).cache;
  for (const [file, mod] of Object.entries(cache)) {
    if (!file.endsWith(LOG_MODULE)) continue;
    const log = (mod?.exports as { log?: { level?: string } } | undefined)?.log;
    if (log && (log.level === 'debug' || log.level === 'trace')) {
      log.level = 'info';
      quieted++;
    }
  }
  return quieted;
}
