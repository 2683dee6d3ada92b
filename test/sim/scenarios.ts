/**
 * The scenarios the tests assert on and bench/latency-plot.ts reports, in one place so both say the same thing.
 *
 * Audio: an 8 kHz tone (a µ-law phone line's rate) in 20 ms packets — the jitter buffer runs at any rate, and
 * 8 kHz keeps an hour of varispeed resampling to about a second of CPU. The sink is a buffered-mode native
 * queue of 50 ms (the gateway-era setting these scenarios were tuned on; test/sim/defaults.test.ts models direct mode).
 */
import type { JitterOptions } from '../../lib/jitter/core.js';
import type { NetworkModel, ProducerSpec } from './producer.js';
import { OursStrategy, QueueBaseline, type Strategy } from './strategies.js';

export const SIM_RATE = 8000;
export const SINK_QUEUE_MS = 50;
export const HOUR = 3_600_000;
export const PPMS = [-1000, -100, 0, 100, 1000] as const;

/** What users do without a jitter buffer: prebuffer 60 ms (ours starts at 60 too); the bounded one caps at 120. */
export const BASELINE = { prebufferMs: 60, capMs: 120 };

/** TCP-like (WebSocket) delivery, exponential jitter with an 8 ms mean, never more than 40 ms late. */
export const STEADY_NET: NetworkModel = { jitter: { meanMs: 8, capMs: 40 }, inOrder: true };

/** A measured WebSocket producer: late by p99 ≈ 45 ms, max 100 ms (exponential, 10 ms mean, capped). */
export const FIELD_NET: NetworkModel = { jitter: { meanMs: 10, capMs: 100 }, inOrder: true };

export function producerSpec(ppm: number, durationMs: number, network: NetworkModel, seed = 1): ProducerSpec {
  return { sampleRate: SIM_RATE, chunkMs: 20, ppm, durationMs, toneHz: 440, amplitude: 8000, network, seed };
}

/**
 * The harsh trace: steady jitter plus random spikes (one packet in 1000 held 40–120 ms), a 150 ms stall every
 * minute (the backlog then arrives at once), and one 5 s burst of clumped delivery (everything held and released
 * every 200 ms). The producer runs 300 ppm fast.
 */
export function harshSpec(durationMs: number, seed = 11): ProducerSpec {
  const stalls = [];
  for (let at = 45_000; at < durationMs; at += 60_000) stalls.push({ atMs: at, durationMs: 150 });
  const burstAt = Math.min(300_000, Math.floor(durationMs / 2 / 1000) * 1000);
  return producerSpec(
    300,
    durationMs,
    {
      ...STEADY_NET,
      spikes: { probability: 0.001, minMs: 40, maxMs: 120 },
      stalls,
      bursts: [{ atMs: burstAt, durationMs: 5000, clumpMs: 200 }],
    },
    seed,
  );
}

export function ours(opts: JitterOptions = {}): OursStrategy {
  return new OursStrategy({ sampleRate: SIM_RATE, ...opts });
}

export function unbounded(): Strategy {
  return new QueueBaseline({ sampleRate: SIM_RATE, prebufferMs: BASELINE.prebufferMs });
}

export function bounded(): Strategy {
  return new QueueBaseline({ sampleRate: SIM_RATE, ...BASELINE });
}
