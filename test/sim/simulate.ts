/**
 * The simulation loop, on virtual time: producer arrivals (test/sim/producer.ts) are pushed into a strategy,
 * and the sink — rtc-node's buffered native queue as modelled by NativeQueueModel, ticking every 10 ms — pulls
 * from it exactly as LiveKitSink does (one capture in flight: a burst until the queue is full, then one pull per
 * tick). Every played frame is fed to the glitch detector and, when it carries media, its latency is
 * recorded: play time − the time the producer emitted that sample. An hour takes about a second.
 */
import { NativeQueueModel } from './VirtualSink.js';
import { quantile } from '../../lib/stats.js';
import { GlitchDetector, type GlitchEvent } from './glitchDetector.js';
import { arrivals, sendTimeMs, type ProducerSpec } from './producer.js';
import type { Strategy } from './strategies.js';

export interface SimOptions {
  /** the sink's native queue (queueSizeMs). Default 50. */
  sinkQueueMs?: number;
  /** latency statistics ignore the first this-many ms. Default 30 000. */
  convergeMs?: number;
  /** called every 10 ms tick after the pulls (for probes) */
  onTick?: (tMs: number) => void;
}

export interface SimResult {
  name: string;
  /** latency of the frame played at each tick (NaN: nothing with media played), ms */
  latency: Float32Array;
  p50: number;
  p99: number;
  min: number;
  max: number;
  /** least-squares slope of latency after convergence, ms per hour */
  slopeMsPerHour: number;
  glitches: number;
  glitchEvents: GlitchEvent[];
  /** ticks the sink had nothing to play (after the first audio) */
  sinkUnderrunTicks: number;
  /** glitch detector's largest clean residual / threshold (how close to flagging the clean parts came) */
  maxCleanResidual: number;
  /** interruptions of arrival: gaps between consecutive arrivals of at least two packet intervals */
  gaps: { atMs: number; gapMs: number }[];
}

export function simulate(spec: ProducerSpec, strategy: Strategy, opts: SimOptions = {}): SimResult {
  const ch = spec.channels ?? 1;
  const sink = new NativeQueueModel<number>(spec.sampleRate, ch, opts.sinkQueueMs ?? 50);
  const detector = new GlitchDetector({
    sampleRate: spec.sampleRate,
    frequency: spec.toneHz,
    amplitude: spec.amplitude,
  });
  const ticks = Math.floor(spec.durationMs / 10);
  const latency = new Float32Array(ticks).fill(NaN);
  const src = arrivals(spec);
  let next = src.next();
  let pending = false;
  let sinkUnderrunTicks = 0;
  let played = false;
  let lastArrival = NaN;
  const gaps: SimResult['gaps'] = [];

  const fill = (t: number) => {
    while (!pending) {
      const frame = strategy.pull(t);
      if (frame === null) return;
      const r = sink.offer(frame.data, strategy.lastPosition);
      if (r === 'refused') throw new Error('sink refused a frame: one capture in flight is violated');
      pending = r === 'pending';
    }
  };

  fill(0);
  for (let k = 0; k < ticks; k++) {
    const t = (k + 1) * 10;
    while (!next.done && next.value.arriveMs <= t) {
      const at = next.value.arriveMs;
      if (at - lastArrival >= 2 * spec.chunkMs) gaps.push({ atMs: lastArrival, gapMs: at - lastArrival });
      lastArrival = at;
      strategy.push(next.value.input, at);
      next = src.next();
    }
    const r = sink.tick();
    if (r.data === null) {
      detector.feedSilence(sink.frameSize);
      if (played) sinkUnderrunTicks++;
    } else {
      played = true;
      detector.feed(r.data, ch);
      const pos = r.meta! + r.offset;
      if (!Number.isNaN(pos)) latency[k] = t - sendTimeMs(spec, pos);
    }
    if (r.completed) pending = false;
    fill(t);
    opts.onTick?.(t);
  }

  const from = Math.floor((opts.convergeMs ?? 30000) / 10);
  const settled: number[] = [];
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let k = from; k < ticks; k++) {
    const y = latency[k]!;
    if (Number.isNaN(y)) continue;
    const x = ((k + 1) * 10) / 3_600_000;
    settled.push(y);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const n = settled.length;
  const slope = n > 1 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : NaN;
  let min = Infinity;
  let max = -Infinity;
  for (const y of settled) {
    if (y < min) min = y;
    if (y > max) max = y;
  }
  return {
    name: strategy.name,
    latency,
    p50: quantile(settled, 0.5),
    p99: quantile(settled, 0.99),
    min,
    max,
    slopeMsPerHour: slope,
    glitches: detector.count,
    glitchEvents: detector.events,
    sinkUnderrunTicks,
    maxCleanResidual: detector.maxCleanResidual,
    gaps,
  };
}
