/**
 * The loopback command's wait for the last samples (bin/commands/receiveAll.ts), against a stand-in recorder
 * whose frames arrive when the test says: it stops as soon as all are in, and at the deadline it says how many
 * are missing. (The real recorder under a loaded event loop: test/realtime/loopbackLoad.test.ts.)
 */
import t from 'tap';
import { receiveAll, receiveDeadlineMs, samplesToAwait } from '../../bin/commands/receiveAll.js';

/** A recorder with LoopbackRecorder's counters and waitFor contract; `push` delivers a frame. */
interface Fake {
  samplesReceived: number;
  firstSoundSample: number | null;
  push(samples: number, silent?: boolean): void;
  waitFor(predicate: (x: Fake) => boolean, timeoutMs: number): Promise<void>;
}

function fakeRecorder(): Fake {
  const waiters: (() => void)[] = [];
  const r: Fake = {
    samplesReceived: 0,
    firstSoundSample: null as number | null,
    push(samples: number, silent = false) {
      if (!silent) r.firstSoundSample ??= r.samplesReceived;
      r.samplesReceived += samples;
      for (const w of [...waiters]) w();
    },
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(r)) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`loopback: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
  return r;
}

t.test('receiveDeadlineMs: 2 s plus 10 % of the audio', async (t) => {
  t.equal(receiveDeadlineMs(0), 2000);
  t.equal(receiveDeadlineMs(4000), 2400);
  t.equal(receiveDeadlineMs(30_000), 5000);
  t.equal(receiveDeadlineMs(3_600_000), 362_000);
});

t.test('samplesToAwait: leading all-zero 10 ms frames of what was sent arrive before the first sound', async (t) => {
  const sent = new Int16Array(4800); // 100 ms mono at 48 kHz
  t.equal(samplesToAwait(sent, 1, 480), 4800, 'all silence: all of it');
  sent[1000] = 1; // in the third frame: two silent frames before it
  t.equal(samplesToAwait(sent, 1, 480), 4800 - 960);
  sent[0] = 5;
  t.equal(samplesToAwait(sent, 1, 480), 4800);
  const stereo = new Int16Array(2 * 4800);
  stereo[2 * 1500 + 1] = -3; // right channel, sample 1500: 3 silent frames
  t.equal(samplesToAwait(stereo, 2, 480), 4800 - 1440);
});

t.test('receiveAll stops as soon as every sample is in', async (t) => {
  const r = fakeRecorder();
  r.push(480, true); // the loopback's leading silence
  r.push(480);
  const waiting = receiveAll(r, 2400, false, 2000);
  const timers = [1, 2, 3].map((i) => setTimeout(() => r.push(i === 3 ? 960 : 480), 20 * i));
  const got = await waiting;
  timers.forEach(clearTimeout);
  t.equal(got.complete, true);
  t.equal(got.receivedSamples, 2400);
  t.equal(got.missingSamples, 0);
  t.equal(got.deadlineMs, 2000);
  t.ok(got.waitedMs >= 50 && got.waitedMs < 1000, `done after the last frame, not at the deadline: ${got.waitedMs} ms`);
});

t.test('receiveAll at the deadline: how many samples per channel are missing', async (t) => {
  const r = fakeRecorder();
  r.push(960, true);
  r.push(4800 - 1680);
  const got = await receiveAll(r, 4800, false, 80);
  t.equal(got.complete, false);
  t.equal(got.receivedSamples, 3120);
  t.equal(got.missingSamples, 1680);
  t.ok(got.waitedMs >= 75 && got.waitedMs < 1000, `waited for the deadline: ${got.waitedMs} ms`);
});

t.test('receiveAll: nothing received at all, and an all-silent input counted from the start', async (t) => {
  const none = await receiveAll(fakeRecorder(), 480, false, 30);
  t.match(none, { complete: false, receivedSamples: 0, missingSamples: 480 });
  const r = fakeRecorder();
  r.push(480, true);
  r.push(480, true);
  t.match(await receiveAll(r, 960, true, 30), { complete: true, receivedSamples: 960, missingSamples: 0 });
  t.match(await receiveAll(r, 960, false, 30), { complete: false, missingSamples: 960 }, 'no first sound yet');
});
