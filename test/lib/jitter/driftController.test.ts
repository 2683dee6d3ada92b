/**
 * DriftController on its own, against the model it assumes (depth' = skew − correction): it learns a constant skew,
 * removes a depth error, is not wound up by a target step, and — told what was actually applied — keeps its
 * estimate right when the correction is not applied (varispeed bypassed).
 */
import t from 'tap';
import { DriftController } from '../../../lib/jitter/driftController.js';

/** 10 ms steps of a buffer whose depth grows by skew − applied correction; returns the controller. */
function run(opts: { skewPpm: number; seconds: number; target: (s: number) => number; apply?: (u: number) => number }) {
  const c = new DriftController({ frameMs: 10, maxCorrection: 0.01 });
  let depth = 60;
  let applied = 0;
  let u = 0;
  for (let k = 0; k < opts.seconds * 100; k++) {
    u = c.update(depth, opts.target(k / 100), applied);
    applied = opts.apply ? opts.apply(u) : u;
    depth += (opts.skewPpm * 1e-6 - applied) * 10;
  }
  return { c, depth };
}

t.test('a constant skew is learned and the depth held at the target', async (t) => {
  for (const skewPpm of [-3000, -100, 0, 300, 3000]) {
    const { c, depth } = run({ skewPpm, seconds: 120, target: () => 50 });
    t.ok(Math.abs(c.driftPpm - skewPpm) < 20, `${skewPpm} ppm: estimated ${c.driftPpm.toFixed(1)}`);
    t.ok(Math.abs(depth - 50) < 0.5, `depth ${depth.toFixed(2)} ms at a 50 ms target`);
  }
});

t.test('a target step does not wind up the skew estimate', async (t) => {
  const { c, depth } = run({ skewPpm: 200, seconds: 120, target: (s) => (s < 60 ? 50 : 90) });
  t.ok(Math.abs(c.driftPpm - 200) < 20, `after a 40 ms step: ${c.driftPpm.toFixed(1)} ppm`);
  t.ok(Math.abs(depth - 90) < 1, `depth follows the target: ${depth.toFixed(2)} ms`);
});

t.test(
  'told the applied correction, a dead band (no correction below 300 ppm) does not bias the estimate',
  async (t) => {
    const apply = (u: number) => (Math.abs(u) <= 300e-6 ? 0 : u);
    const { c, depth } = run({ skewPpm: 100, seconds: 300, target: () => 50, apply });
    t.ok(Math.abs(c.driftPpm - 100) < 25, `estimated ${c.driftPpm.toFixed(1)} ppm (true 100)`);
    t.ok(Math.abs(depth - 50) < 2, `depth stays within the dead band's reach: ${depth.toFixed(2)} ms`);
  },
);

t.test('the correction is clamped to maxCorrection', async (t) => {
  const c = new DriftController({ frameMs: 10, maxCorrection: 0.01 });
  t.equal(c.update(60, 60), 0);
  for (let k = 0; k < 10; k++) t.ok(Math.abs(c.update(5000, 60)) <= 0.01);
});
