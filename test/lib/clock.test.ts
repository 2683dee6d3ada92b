import t from 'tap';
import { VirtualClock, realClock } from '../../lib/clock.js';

t.test('virtual timers fire in deadline order, ties in creation order', async (t) => {
  const c = new VirtualClock(100);
  const log: string[] = [];
  c.setTimeout(() => log.push(`b@${c.now()}`), 20);
  c.setTimeout(() => log.push(`a@${c.now()}`), 10);
  c.setTimeout(() => log.push(`c@${c.now()}`), 20);
  const gone = c.setTimeout(() => log.push('never'), 15);
  c.clearTimeout(gone);
  c.advance(15);
  t.same(log, ['a@110']);
  t.equal(c.now(), 115);
  c.advance(100);
  t.same(log, ['a@110', 'b@120', 'c@120']);
  t.equal(c.pending, 0);
});

t.test('timers scheduled by timers run within the same advance', async (t) => {
  const c = new VirtualClock();
  const at: number[] = [];
  const tick = () => {
    at.push(c.now());
    if (at.length < 5) c.setTimeout(tick, 10);
  };
  c.setTimeout(tick, 10);
  await c.advanceAsync(100);
  t.same(at, [10, 20, 30, 40, 50]);
});

t.test('real clock is monotonic and its timers can be cancelled', async (t) => {
  const a = realClock.now();
  let fired = false;
  const h = realClock.setTimeout(() => (fired = true), 5);
  realClock.clearTimeout(h);
  await new Promise((r) => realClock.setTimeout(() => r(undefined), 20));
  t.ok(realClock.now() - a >= 19, 'at least 20 ms passed');
  t.equal(fired, false);
});
