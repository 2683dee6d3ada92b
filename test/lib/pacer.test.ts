import t from 'tap';
import { VirtualClock, realClock, type Clock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/errors.js';
import { Pacer, sharedPacer } from '../../lib/pacer.js';

/** A virtual clock whose timers fire `lateMs(dueAt)` after they are due, like a loaded event loop. */
function lateClock(base: VirtualClock, lateMs: (dueAt: number) => number): Clock {
  return {
    now: () => base.now(),
    setTimeout: (fn, ms) => base.setTimeout(fn, ms + lateMs(base.now() + ms)),
    clearTimeout: (h) => base.clearTimeout(h),
  };
}

t.test('ticks land on absolute deadlines: no drift over one virtual hour', async (t) => {
  const clock = new VirtualClock(1000.25);
  const pacer = new Pacer({ clock });
  const times: number[] = [];
  let total = 0;
  pacer.register((n) => {
    total += n;
    if (times.length < 5) times.push(clock.now());
  });
  clock.advance(3600_000);
  t.equal(total, 360_000, 'exactly one tick per 10 ms for an hour');
  t.same(times, [1010.25, 1020.25, 1030.25, 1040.25, 1050.25]);
  t.equal(pacer.stats.ticks, 360_000);
  t.equal(pacer.stats.catchUpTicks, 0);
  t.equal(pacer.stats.maxLateMs, 0);
});

t.test('late timers do not accumulate: deadlines stay on the grid (unlike now + 10)', async (t) => {
  const base = new VirtualClock(0);
  // every timer fires 0.9 ms late (within the catch-up-free zone): re-arming with now+10 would drift 9 % slow
  const pacer = new Pacer({ clock: lateClock(base, () => 0.9) });
  let ticks = 0;
  const lateness: number[] = [];
  pacer.register((n) => {
    ticks += n;
    lateness.push(base.now() - Math.floor(base.now() / 10) * 10);
  });
  base.advance(3600_000);
  t.ok(Math.abs(ticks - 360_000) <= 1, `ticks after one hour: ${ticks}`);
  t.ok(Math.max(...lateness.slice(-1000)) <= 0.9 + 1e-6, 'each tick fires at most 0.9 ms after its deadline');
  t.ok(pacer.stats.maxLateMs <= 0.9 + 1e-6);
});

t.test('jittery timers (0–8 ms late, seeded) still give exactly one tick per period over an hour', async (t) => {
  const base = new VirtualClock(0);
  let s = 7;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 8;
  const pacer = new Pacer({ clock: lateClock(base, rand) });
  let ticks = 0;
  pacer.register((n) => (ticks += n));
  base.advance(3600_000);
  // at most one period can be pending at the end
  t.ok(ticks >= 359_999 && ticks <= 360_000, `ticks: ${ticks}`);
  t.equal(pacer.stats.reanchors, 0);
});

t.test('a stall is caught up to maxCatchUpTicks, then the grid re-anchors and the rest is counted', async (t) => {
  // a blocked event loop, emulated by timers that fire late: the one due at 40 runs at 65, the one due at 70 at 140
  const base = new VirtualClock(0);
  const late: Record<number, number> = { 40: 25, 70: 70 };
  const p2 = new Pacer({ clock: lateClock(base, (due) => late[Math.round(due)] ?? 0), maxCatchUpTicks: 3 });
  const got: [number, number][] = [];
  const dropped: number[] = [];
  p2.register((n, skipped) => {
    got.push([base.now(), n]);
    dropped.push(skipped);
  });
  // 40, 50, 60 due at 65 → 3 (2 caught up); 70..140 due at 140 = 8 → 1 + 3 delivered, 4 skipped, re-anchored
  base.advance(160);
  t.same(got, [
    [10, 1],
    [20, 1],
    [30, 1],
    [65, 3],
    [140, 4],
    [150, 1],
    [160, 1],
  ]);
  t.same(dropped, [0, 0, 0, 0, 4, 0, 0], 'subscribers learn how many ticks a re-anchor dropped');
  const s = p2.stats;
  t.equal(s.ticks, 12);
  t.equal(s.catchUpTicks, 2 + 3);
  t.equal(s.reanchors, 1);
  t.equal(s.skippedTicks, 4);
  t.equal(s.maxLateMs, 70);
  t.equal(s.lastLateMs, 0);
});

t.test('maxCatchUpTicks 0: every stall re-anchors, nothing is burst', async (t) => {
  const base = new VirtualClock(0);
  const pacer = new Pacer({ clock: lateClock(base, (due) => (due === 10 ? 30 : 0)), maxCatchUpTicks: 0 });
  const got: number[] = [];
  pacer.register((n) => got.push(n));
  base.advance(45); // the timer due at 10 fires at 40: 4 due → 1 delivered, 3 skipped; next at 50
  t.same(got, [1]);
  t.equal(pacer.stats.skippedTicks, 3);
  t.equal(pacer.stats.reanchors, 1);
});

t.test('one timer drives many subscribers; the timer stops when the last leaves', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock });
  const counts = new Array<number>(100).fill(0);
  const offs = counts.map((_, i) => pacer.register((n) => (counts[i]! += n)));
  t.equal(pacer.subscribers, 100);
  t.equal(clock.pending, 1, 'a single timer for 100 subscribers');
  clock.advance(1000);
  t.ok(
    counts.every((c) => c === 100),
    'each got 100 ticks in 1 s',
  );
  t.equal(pacer.stats.fires, 100, 'one timer fire per tick, not per subscriber');
  for (const off of offs.slice(0, 50)) off();
  clock.advance(100);
  t.equal(counts[0], 100, 'unsubscribed: no more ticks');
  t.equal(counts[99], 110);
  for (const off of offs.slice(50)) off();
  offs[0]!(); // idempotent
  t.equal(pacer.subscribers, 0);
  t.equal(clock.pending, 0, 'no timer left: nothing keeps the process alive');
  clock.advance(100);
  t.equal(counts[99], 110);
});

t.test('a subscriber joining later shares the running grid; a restart re-anchors', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock });
  const a: number[] = [];
  const b: number[] = [];
  const offA = pacer.register(() => a.push(clock.now()));
  clock.advance(15);
  const offB = pacer.register(() => b.push(clock.now()));
  clock.advance(20);
  t.same(a, [10, 20, 30]);
  t.same(b, [20, 30], 'B ticks on the same grid as A');
  offA();
  offB();
  clock.advance(3);
  const c: number[] = [];
  pacer.register(() => c.push(clock.now()));
  clock.advance(25);
  t.same(c, [48, 58], 'a fresh start anchors at the time of the first subscription');
});

t.test('subscribing and unsubscribing from inside a tick', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock });
  const log: string[] = [];
  let offB: (() => void) | undefined;
  const offA = pacer.register(() => {
    log.push(`a${clock.now()}`);
    offA();
    offB = pacer.register(() => log.push(`b${clock.now()}`));
  });
  clock.advance(30);
  t.same(log, ['a10', 'b20', 'b30'], 'the last subscriber leaving and a new one joining keep one timer');
  t.equal(clock.pending, 1);
  offB!();
  t.equal(clock.pending, 0);
});

t.test('a throwing subscriber is dropped and reported; the others keep ticking', async (t) => {
  const clock = new VirtualClock(0);
  const errors: unknown[] = [];
  const pacer = new Pacer({ clock, onError: (e) => errors.push(e) });
  let good = 0;
  pacer.register(() => {
    throw new Error('boom');
  });
  pacer.register((n) => (good += n));
  clock.advance(50);
  t.equal(good, 5);
  t.equal(errors.length, 1);
  t.match((errors[0] as Error).message, 'boom');
  t.equal(pacer.subscribers, 1);
});

t.test('without onError a subscriber error surfaces as an uncaught exception', async (t) => {
  const clock = new VirtualClock(0);
  const pacer = new Pacer({ clock });
  pacer.register(() => {
    throw new Error('surfaced');
  });
  const original = globalThis.queueMicrotask;
  const thrown: unknown[] = [];
  globalThis.queueMicrotask = (fn) => {
    try {
      fn();
    } catch (e) {
      thrown.push(e);
    }
  };
  try {
    clock.advance(10);
  } finally {
    globalThis.queueMicrotask = original;
  }
  t.equal(thrown.length, 1);
  t.match((thrown[0] as Error).message, 'surfaced');
});

t.test('timers that fire early (real Node timers round) do not tick early', async (t) => {
  const base = new VirtualClock(0);
  // fire 3 ms early once: the pacer must wait for the deadline, not tick
  let early = 3;
  const clock: Clock = {
    now: () => base.now(),
    setTimeout: (fn, ms) => {
      const h = base.setTimeout(fn, Math.max(0, ms - early));
      early = 0;
      return h;
    },
    clearTimeout: (h) => base.clearTimeout(h),
  };
  const pacer = new Pacer({ clock });
  const at: number[] = [];
  pacer.register(() => at.push(base.now()));
  base.advance(25);
  t.same(at, [10, 20]);
});

t.test('bad options are ConfigErrors', async (t) => {
  t.throws(() => new Pacer({ periodMs: 0 }), ConfigError);
  t.throws(() => new Pacer({ periodMs: Infinity }), ConfigError);
  t.throws(() => new Pacer({ maxCatchUpTicks: -1 }), ConfigError);
  t.throws(() => new Pacer({ maxCatchUpTicks: 1.5 }), { code: 'ERR_PACER_OPTIONS' });
  t.throws(() => new Pacer({ sliceMs: 0 }), { code: 'ERR_PACER_OPTIONS' });
  t.throws(() => new Pacer({ sliceMs: NaN }), { code: 'ERR_PACER_OPTIONS' });
});

/**
 * A hand-driven clock whose time moves only when the code under test says so (a handler's own work, `t += …`)
 * or when a timer is run: the pacer's slicing reads the time its subscribers take.
 */
class StepClock implements Clock {
  t = 0;
  #seq = 0;
  timers: { id: number; at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.#seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(h: { id: number }): void {
    this.timers = this.timers.filter((x) => x.id !== h.id);
  }
  /** Run the earliest timer (or, with `latest`, the last-due one: a timer that fires out of turn). */
  run(latest = false): void {
    const sorted = [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id);
    const timer = latest ? sorted[sorted.length - 1]! : sorted[0]!;
    this.clearTimeout(timer);
    this.t = Math.max(this.t, timer.at);
    timer.fn();
  }
}

t.test(
  'a long fire yields the event loop every sliceMs; each subscriber still gets every tick, in order',
  async (t) => {
    const clock = new StepClock();
    const pacer = new Pacer({ clock, sliceMs: 2 });
    // 10 subscribers of 0.5 ms each: a 5 ms fire, cut once 2 ms are spent
    const calls: number[] = [];
    const ticks = new Array<number>(10).fill(0);
    for (let i = 0; i < 10; i++) {
      pacer.register((n) => {
        clock.t += 0.5;
        calls.push(i);
        ticks[i]! += n;
      });
    }
    clock.run(); // the fire due at 10
    t.same(calls, [0, 1, 2, 3], 'the first slice stops once 2 ms are spent');
    t.equal(pacer.stats.yields, 1);
    t.same(
      clock.timers.map((x) => x.at).sort((a, b) => a - b),
      [12, 20],
      'the rest waits on a 0 ms timer, before the next period',
    );
    clock.run();
    clock.run();
    t.same(calls, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'three slices (4 + 4 + 2), in subscription order');
    t.equal(pacer.stats.yields, 2);
    t.equal(clock.t, 15);
    for (let k = 0; k < 9; k++) clock.run(); // three more fires, three slices each
    t.same(ticks, new Array<number>(10).fill(4), 'every subscriber ticked in every fire, no tick lost to slicing');
    t.equal(pacer.stats.ticks, 4);
  },
);

t.test(
  'a fire still in slices is finished before the next fire; a subscriber that leaves meanwhile is skipped',
  async (t) => {
    const clock = new StepClock();
    const pacer = new Pacer({ clock, sliceMs: 1 });
    const log: string[] = [];
    const offs = ['a', 'b', 'c'].map((name) =>
      pacer.register(() => {
        clock.t += 1;
        log.push(`${name}${pacer.stats.fires}`);
      }),
    );
    clock.run(); // fire 1 at 10: a, then yield
    t.same(log, ['a1'], 'one subscriber per 1 ms slice');
    offs[1]!(); // b leaves before its slice
    clock.run(true); // the next period's timer comes before the slice timer (a loaded loop)
    t.same(log, ['a1', 'c1', 'a2'], 'fire 1 finished first (b skipped), then fire 2 began');
    t.equal(clock.timers.length, 2, 'fire 2 yielded again, one slice timer at a time');
    offs[0]!();
    offs[2]!();
    t.equal(clock.timers.length, 0, 'no timer left once everyone has gone, slice timers included');
  },
);

t.test('sliceMs Infinity: a fire runs in one piece', async (t) => {
  const clock = new StepClock();
  const pacer = new Pacer({ clock, sliceMs: Infinity });
  let n = 0;
  for (let i = 0; i < 20; i++) pacer.register(() => ((clock.t += 1), n++));
  clock.run();
  t.equal(n, 20);
  t.equal(pacer.stats.yields, 0);
  t.equal(clock.timers.length, 1, 'only the period timer');
});

t.test('sharedPacer is one real-clock pacer per process, 10 ms period', async (t) => {
  const p = sharedPacer();
  t.equal(p, sharedPacer());
  t.equal(p.clock, realClock);
  t.equal(p.periodMs, 10);
});

t.test('on the real clock: 300 ms of ticks within a sane tolerance', async (t) => {
  const pacer = new Pacer();
  let ticks = 0;
  const start = performance.now();
  const off = pacer.register((n) => (ticks += n));
  await new Promise((r) => setTimeout(r, 305));
  off();
  const elapsed = performance.now() - start;
  const expected = Math.floor(elapsed / 10);
  // every period is either delivered or (after a stall beyond the catch-up bound) counted as skipped
  const accounted = ticks + pacer.stats.skippedTicks;
  t.ok(
    Math.abs(accounted - expected) <= 2,
    `${ticks} ticks (+${pacer.stats.skippedTicks} skipped) in ${elapsed.toFixed(1)} ms`,
  );
});
