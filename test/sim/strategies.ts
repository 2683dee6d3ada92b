/**
 * What the simulator can put between the producer and the sink: our jitter buffer (the synchronous core — the
 * same code the stream wraps) and the two things users do without one, for comparison:
 *   unbounded — a plain FIFO: every frame is kept, the sink takes 10 ms per tick. Skew makes delay compound.
 *   bounded   — a FIFO that drops the oldest audio above a cap. Skew makes it drop (or run dry) periodically.
 * Both baselines prebuffer like ours and play silence when they run dry (the native ticker's behaviour).
 */
import { AudioFrame } from '../../lib/frames.js';
import { JitterCore, type JitterInput, type JitterOptions } from '../../lib/jitter/core.js';
import { SampleQueue } from '../../lib/jitter/sampleQueue.js';

export interface Strategy {
  readonly name: string;
  push(input: JitterInput, nowMs: number): void;
  pull(nowMs: number): AudioFrame | null;
  /** media position of the first sample of the last pulled frame (NaN: synthesized) */
  readonly lastPosition: number;
  readonly depthMs: number;
  destroy(): void;
}

export class OursStrategy implements Strategy {
  readonly name = 'jitterBuffer';
  readonly core: JitterCore;
  constructor(opts: JitterOptions) {
    this.core = new JitterCore(opts);
  }
  push(input: JitterInput, nowMs: number): void {
    this.core.push(input, nowMs);
  }
  pull(nowMs: number): AudioFrame | null {
    return this.core.pull(nowMs);
  }
  get lastPosition(): number {
    return this.core.lastPosition;
  }
  get depthMs(): number {
    return this.core.depthMs;
  }
  destroy(): void {
    this.core.destroy();
  }
}

export interface QueueBaselineOptions {
  sampleRate: number;
  channels?: number;
  prebufferMs: number;
  /** drop the oldest audio above this depth; omit for an unbounded queue */
  capMs?: number;
}

export class QueueBaseline implements Strategy {
  readonly name: string;
  underrunTicks = 0;
  droppedSamples = 0;
  dropEvents = 0;
  #q: SampleQueue;
  #rate: number;
  #ch: number;
  #F: number;
  #prebuffer: number;
  #cap: number;
  #started = false;
  #pos = 0;
  #lastPosition = NaN;

  constructor(o: QueueBaselineOptions) {
    this.name = o.capMs === undefined ? 'unbounded queue' : 'bounded queue';
    this.#rate = o.sampleRate;
    this.#ch = o.channels ?? 1;
    this.#F = o.sampleRate / 100;
    this.#q = new SampleQueue(this.#ch);
    this.#prebuffer = Math.round((o.prebufferMs * o.sampleRate) / 1000);
    this.#cap = o.capMs === undefined ? Infinity : Math.round((o.capMs * o.sampleRate) / 1000);
  }

  push(input: JitterInput, _nowMs: number): void {
    const frame = input instanceof AudioFrame ? input : input.frame;
    this.#q.append(frame.data, this.#pos);
    this.#pos += frame.samplesPerChannel;
    if (this.#q.samples > this.#cap) {
      const excess = this.#q.samples - this.#cap;
      this.#q.skip(excess);
      this.droppedSamples += excess;
      this.dropEvents++;
    }
  }

  pull(_nowMs: number): AudioFrame {
    const out = new Int16Array(this.#F * this.#ch);
    if (!this.#started && this.#q.samples >= this.#prebuffer) this.#started = true;
    if (this.#started && this.#q.samples >= this.#F) {
      this.#lastPosition = this.#q.headPosition;
      this.#q.readInto(out, 0, this.#F);
    } else {
      if (this.#started) this.underrunTicks++;
      this.#lastPosition = NaN;
    }
    return new AudioFrame(out, this.#rate, this.#ch, this.#F);
  }

  get lastPosition(): number {
    return this.#lastPosition;
  }

  get depthMs(): number {
    return (this.#q.samples * 1000) / this.#rate;
  }

  destroy(): void {}
}
