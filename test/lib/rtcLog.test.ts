/**
 * rtc-node's own logger (level debug outside NODE_ENV=production, on stdout) is raised to info by
 * quietRtcNodeDebugLog(), unless the app asked for debug.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import path from 'node:path';
import '@livekit/rtc-node';
import { quietRtcNodeDebugLog } from '../../lib/rtcLog.js';

const rtcLog = () => {
  const cache = createRequire(path.join(process.cwd(), 'x.js')).cache;
  const file = Object.keys(cache).find((f) => f.endsWith(path.join('@livekit', 'rtc-node', 'dist', 'log.cjs')));
  return (cache[file!]!.exports as { log: { level: string } }).log;
};

t.test('debug → info, once; LOG_LEVEL=debug keeps it', (t) => {
  const log = rtcLog();
  log.level = 'debug';
  t.equal(quietRtcNodeDebugLog({ LOG_LEVEL: 'debug' }), 0, 'the app asked for debug');
  t.equal(log.level, 'debug');
  t.equal(quietRtcNodeDebugLog({}), 1);
  t.equal(log.level, 'info');
  t.equal(quietRtcNodeDebugLog({}), 0, 'nothing left to do');
  log.level = 'warn';
  t.equal(quietRtcNodeDebugLog({}), 0, 'a level the app chose is left alone');
  t.equal(log.level, 'warn');
  t.end();
});
