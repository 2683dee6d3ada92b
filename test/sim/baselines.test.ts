/**
 * The two things users do instead of a jitter buffer, on drift.test.ts's runs (one hour per skew): an unbounded
 * queue compounds delay at the producer's skew (3.6 s/h at +1000 ppm) or runs dry; a bounded one drops (or runs
 * dry) periodically — every drop or underrun a glitch.
 */
import t from 'tap';
import { simulate, type SimResult } from './simulate.js';
import { HOUR, PPMS, SINK_QUEUE_MS, STEADY_NET, bounded, producerSpec, unbounded } from './scenarios.js';

const row = (r: SimResult) =>
  `${r.name.padEnd(16)} p50 ${r.p50.toFixed(1).padStart(7)} ms  p99−p50 ${(r.p99 - r.p50).toFixed(1).padStart(6)} ms  ` +
  `slope ${r.slopeMsPerHour.toFixed(1).padStart(8)} ms/h  glitches ${r.glitches}`;

for (const ppm of PPMS) {
  t.test(`${ppm > 0 ? '+' : ''}${ppm} ppm, 1 h`, async (t) => {
    const spec = producerSpec(ppm, HOUR, STEADY_NET, 100 + ppm);
    const u = simulate(spec, unbounded(), { sinkQueueMs: SINK_QUEUE_MS });
    const b = simulate(spec, bounded(), { sinkQueueMs: SINK_QUEUE_MS });
    t.comment(row(u));
    t.comment(row(b));
    if (ppm >= 100) t.ok(u.slopeMsPerHour >= ppm * 3.6 * 0.5, 'the unbounded queue compounds delay');
    if (ppm === 1000) t.ok(b.glitches >= 100, 'the bounded queue drops, audibly');
    if (ppm === -1000) t.ok(u.glitches >= 100 && b.glitches >= 100, 'both baselines run dry, audibly');
    if (ppm === 0) t.ok(u.glitches === 0 && b.glitches === 0, 'with no skew and bounded jitter, both are fine');
  });
}
