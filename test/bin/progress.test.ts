/** The CLI's progress line: the pure renderer, when it is wanted, and the ticker on virtual time. */
import t from 'tap';
import { VirtualClock } from '../../lib/clock.js';
import {
  durationFromFormat,
  PROGRESS_INTERVAL_MS,
  progressWanted,
  renderProgress,
  startProgress,
  type ProgressState,
} from '../../bin/commands/progress.js';

t.test('renderProgress: bar, percentage, seconds of the total, underruns', async (t) => {
  t.equal(
    renderProgress({ elapsedMs: 5000, totalMs: 30000, underruns: 2 }),
    '[#####-------------------------]  16% 5.0 s / 30.0 s  underruns 2',
  );
  t.equal(
    renderProgress({ elapsedMs: 0, totalMs: 4000, underruns: 0 }),
    '[------------------------------]   0% 0.0 s / 4.0 s  underruns 0',
  );
  t.equal(
    renderProgress({ elapsedMs: 15000, totalMs: 30000, underruns: 0 }),
    '[###############---------------]  50% 15.0 s / 30.0 s  underruns 0',
  );
  // the padded last 10 ms can take the sink past the header's duration: the line stops at 100 %
  t.equal(
    renderProgress({ elapsedMs: 4010, totalMs: 4000, underruns: 1 }),
    '[##############################] 100% 4.0 s / 4.0 s  underruns 1',
  );
  t.equal(renderProgress({ elapsedMs: 12345, totalMs: undefined, underruns: 3 }), '12.3 s  underruns 3', 'no total');
  t.equal(renderProgress({ elapsedMs: 100, totalMs: 0, underruns: 0 }), '0.1 s  underruns 0', 'a zero total');
});

t.test('progressWanted: --progress forces it, --quiet stops it, else a terminal decides', async (t) => {
  t.equal(progressWanted({ quiet: false, progress: false }, true), true);
  t.equal(progressWanted({ quiet: false, progress: false }, false), false);
  t.equal(progressWanted({ quiet: false, progress: false }, undefined), false);
  t.equal(progressWanted({ quiet: true, progress: false }, true), false);
  t.equal(progressWanted({ quiet: false, progress: true }, false), true);
  t.equal(progressWanted({ quiet: true, progress: true }, false), true, '--progress wins');
});

t.test('durationFromFormat: decodeFile says it, a WAV header has it as bytes, a WAV stream does not', async (t) => {
  t.equal(durationFromFormat({ sampleRate: 48000, durationMs: 1234 }), 1234);
  t.equal(durationFromFormat({ sampleRate: 44100, blockAlign: 4, dataBytes: 44100 * 4 * 30 }), 30000);
  t.equal(durationFromFormat({ sampleRate: 16000, blockAlign: 2, dataBytes: undefined }), undefined);
});

t.test('startProgress redraws every 250 ms of the clock with \\r, pads a shorter line, ends the line', async (t) => {
  const clock = new VirtualClock();
  const writes: string[] = [];
  let state: ProgressState = { elapsedMs: 0, totalMs: 2000, underruns: 0 };
  const ticker = startProgress({ read: () => state, write: (s) => writes.push(s), clock });
  t.equal(PROGRESS_INTERVAL_MS, 250);
  t.equal(writes.length, 0, 'nothing before the first interval');
  clock.advance(249);
  t.equal(writes.length, 0);
  clock.advance(1);
  t.same(writes, ['\r[------------------------------]   0% 0.0 s / 2.0 s  underruns 0']);
  state = { elapsedMs: 1000, totalMs: 2000, underruns: 1 };
  clock.advance(750);
  t.equal(writes.length, 4, '4 redraws in the first second of the clock');
  t.equal(writes[3], '\r[###############---------------]  50% 1.0 s / 2.0 s  underruns 1');
  clock.advance(10_000);
  t.equal(writes.length, 44, 'at most 4 a second: 40 more in 10 s');
  // a shorter line covers what is left of the longer one
  const long = writes.at(-1)!.length - 1;
  state = { elapsedMs: 1500, totalMs: undefined, underruns: 1 };
  clock.advance(250);
  t.equal(writes.at(-1), '\r' + '1.5 s  underruns 1'.padEnd(long));
  state = { elapsedMs: 2000, totalMs: 2000, underruns: 1 };
  ticker.stop();
  t.same(
    writes.slice(-2),
    ['\r[##############################] 100% 2.0 s / 2.0 s  underruns 1', '\n'],
    'the final state, then a newline',
  );
  t.equal(clock.pending, 0, 'no timer left');
  const n = writes.length;
  clock.advance(5000);
  ticker.stop();
  t.equal(writes.length, n, 'nothing after stop, and stop is idempotent');
});
