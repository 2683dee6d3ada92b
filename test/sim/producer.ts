/**
 * The simulated producer and network: a tone cut into fixed-size packets by a clock that runs `ppm` fast or
 * slow, delivered through a network model. Yields arrivals in arrival order; everything is seeded.
 *
 * Network model (all optional, applied in this order to each packet's send time):
 *   jitter   exponential delay with a mean, optionally capped (cap = the worst case the path ever adds)
 *   spikes   with some probability a packet is delayed by an extra uniform [minMs, maxMs]
 *   stalls   the path delivers nothing during [at, at + duration); what was due comes out at the end (TCP)
 *   bursts   during [at, at + duration) delivery is clumped: held and released every `clumpMs`
 *   inOrder  TCP-like: nothing overtakes (a late packet delays the ones behind it); otherwise UDP-like
 *   loss     probability a packet never arrives (UDP)
 *   reorder  probability a packet is held back behind its successor (UDP)
 */
import { AudioFrame } from '../../lib/frames.js';
import type { JitterInput } from '../../lib/jitter/core.js';
import { prng as rng } from '../helpers/prng.js';

export interface NetworkModel {
  jitter?: { meanMs: number; capMs?: number };
  spikes?: { probability: number; minMs: number; maxMs: number };
  stalls?: { atMs: number; durationMs: number }[];
  bursts?: { atMs: number; durationMs: number; clumpMs: number }[];
  inOrder?: boolean;
  loss?: number;
  reorder?: number;
}

export interface ProducerSpec {
  sampleRate: number;
  channels?: number;
  chunkMs: number;
  /** producer clock error: +1000 means it produces 1000 ppm more samples per real second than nominal */
  ppm: number;
  durationMs: number;
  toneHz: number;
  amplitude: number;
  /** what metadata packets carry: none (plain frames), seq, seq + timestamp, or timestamp only */
  metadata?: 'none' | 'seq' | 'seq+ts' | 'ts';
  network: NetworkModel;
  seed: number;
}

export interface Arrival {
  arriveMs: number;
  /** media position of the packet's first sample (producer samples) */
  pos: number;
  input: JitterInput;
}

/** mulberry32: small, fast, seedable (the tests' one PRNG). */
export { rng };

/** Real time (ms) at which the producer emits media position `pos`. */
export function sendTimeMs(spec: ProducerSpec, pos: number): number {
  return (pos * 1000) / spec.sampleRate / (1 + spec.ppm * 1e-6);
}

/** One period-exact table of the tone, so a packet is a copy, not thousands of Math.sin calls. */
function toneTable(spec: ProducerSpec): Int16Array {
  const g = gcd(Math.round(spec.toneHz), spec.sampleRate);
  const period = spec.sampleRate / g;
  const t = new Int16Array(period);
  for (let i = 0; i < period; i++)
    t[i] = Math.round(spec.amplitude * Math.sin((2 * Math.PI * spec.toneHz * i) / spec.sampleRate));
  return t;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function* arrivals(spec: ProducerSpec): Generator<Arrival> {
  const ch = spec.channels ?? 1;
  const N = Math.round((spec.chunkMs * spec.sampleRate) / 1000);
  const table = toneTable(spec);
  const rand = rng(spec.seed);
  const net = spec.network;
  const meta = spec.metadata ?? 'none';
  // a min-heap on arrival time for UDP-like delivery (packets may overtake each other)
  const heap: Arrival[] = [];
  let prevArrive = 0;
  for (let i = 0; ; i++) {
    const pos = i * N;
    const send = sendTimeMs(spec, pos);
    if (send > spec.durationMs) break;
    let at = send;
    if (net.jitter) {
      const j = -net.jitter.meanMs * Math.log(1 - rand());
      at += net.jitter.capMs === undefined ? j : Math.min(net.jitter.capMs, j);
    }
    if (net.spikes && rand() < net.spikes.probability) {
      at += net.spikes.minMs + rand() * (net.spikes.maxMs - net.spikes.minMs);
    }
    if (!net.inOrder && net.reorder && rand() < net.reorder) at += spec.chunkMs + 1;
    for (const s of net.stalls ?? []) if (at >= s.atMs && at < s.atMs + s.durationMs) at = s.atMs + s.durationMs;
    for (const b of net.bursts ?? []) {
      if (at >= b.atMs && at < b.atMs + b.durationMs) at = b.atMs + Math.ceil((at - b.atMs) / b.clumpMs) * b.clumpMs;
    }
    if (net.inOrder) at = Math.max(at, prevArrive);
    prevArrive = at;
    const lost = !net.inOrder && net.loss !== undefined && rand() < net.loss;

    while (heap.length > 0 && heap[0]!.arriveMs <= send) yield pop(heap);
    if (lost) continue;
    const data = new Int16Array(N * ch);
    for (let k = 0, j = pos % table.length; k < N; k++, j = j + 1 === table.length ? 0 : j + 1) {
      const v = table[j]!;
      for (let c = 0; c < ch; c++) data[k * ch + c] = v;
    }
    const frame = new AudioFrame(data, spec.sampleRate, ch, N);
    const input: JitterInput =
      meta === 'none'
        ? frame
        : meta === 'seq'
          ? { frame, seq: i & 0xffff }
          : meta === 'ts'
            ? { frame, timestamp: pos % 4294967296 }
            : { frame, seq: i & 0xffff, timestamp: pos % 4294967296 };
    push(heap, { arriveMs: at, pos, input });
  }
  while (heap.length > 0) yield pop(heap);
}

function less(a: Arrival, b: Arrival): boolean {
  return a.arriveMs < b.arriveMs || (a.arriveMs === b.arriveMs && a.pos < b.pos);
}

function push(h: Arrival[], a: Arrival): void {
  let i = h.push(a) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(a, h[p]!)) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = a;
}

function pop(h: Arrival[]): Arrival {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    let m = -1;
    let best = last;
    if (l < h.length && less(h[l]!, best)) best = h[(m = l)]!;
    if (l + 1 < h.length && less(h[l + 1]!, best)) m = l + 1;
    if (m < 0) break;
    h[i] = h[m]!;
    i = m;
  }
  h[i] = last;
  return top;
}
