/**
 * The playout FIFO: interleaved int16 audio at the output rate, kept as the chunks it arrived in (no ring copy),
 * with the media position of every sample so the simulator can measure latency sample-exactly.
 * All counts are sample frames (samples per channel).
 */
interface Chunk {
  data: Int16Array;
  /** frames already consumed from the front of `data` */
  head: number;
  frames: number;
  /** media position (producer sample index) of data's first frame; NaN for synthesized audio */
  pos0: number;
  /** media samples per output frame (the varispeed ratio the chunk was made with) */
  step: number;
}

export class SampleQueue {
  readonly channels: number;
  #chunks: Chunk[] = [];
  #first = 0;
  #frames = 0;

  constructor(channels: number) {
    this.channels = channels;
  }

  /** Samples per channel held. */
  get samples(): number {
    return this.#frames;
  }

  /** Media position of the next frame to be read (NaN when it is synthesized or the queue is empty). */
  get headPosition(): number {
    const c = this.#chunks[this.#first];
    return c === undefined ? NaN : c.pos0 + c.head * c.step;
  }

  /** Append audio the queue now owns (it may be modified in place by fades). */
  append(data: Int16Array, pos0 = NaN, step = 1): void {
    const frames = data.length / this.channels;
    if (frames === 0) return;
    this.#chunks.push({ data, head: 0, frames, pos0, step });
    this.#frames += frames;
  }

  /** Move `n` frames (n ≤ frames) from the front into `out` at frame offset `at`. */
  readInto(out: Int16Array, at: number, n: number): void {
    const ch = this.channels;
    let done = 0;
    while (done < n) {
      const c = this.#chunks[this.#first]!;
      const take = Math.min(n - done, c.frames - c.head);
      out.set(c.data.subarray(c.head * ch, (c.head + take) * ch), (at + done) * ch);
      this.#consume(c, take);
      done += take;
    }
  }

  /** Discard `n` frames (n ≤ frames) from the front. */
  skip(n: number): void {
    let done = 0;
    while (done < n) {
      const c = this.#chunks[this.#first]!;
      const take = Math.min(n - done, c.frames - c.head);
      this.#consume(c, take);
      done += take;
    }
  }

  /** A copy of the first `n` frames (n ≤ frames), left in place. */
  peek(n: number): Int16Array {
    const ch = this.channels;
    const out = new Int16Array(n * ch);
    let done = 0;
    for (let i = this.#first; done < n; i++) {
      const c = this.#chunks[i]!;
      const take = Math.min(n - done, c.frames - c.head);
      out.set(c.data.subarray(c.head * ch, (c.head + take) * ch), done * ch);
      done += take;
    }
    return out;
  }

  /** A copy of the last `n` frames (n ≤ frames). */
  tail(n: number): Int16Array {
    const ch = this.channels;
    const out = new Int16Array(n * ch);
    let left = n;
    for (let i = this.#chunks.length - 1; left > 0; i--) {
      const c = this.#chunks[i]!;
      const take = Math.min(left, c.frames - c.head);
      left -= take;
      out.set(c.data.subarray((c.frames - take) * ch, c.frames * ch), left * ch);
    }
    return out;
  }

  /**
   * Rewrite the first `n` frames in place: sample k of frame i becomes `fn(i, value, k)`.
   * Used for fades at the head (the queue owns its chunks).
   */
  mapHead(n: number, fn: (frame: number, value: number, channel: number) => number): void {
    const ch = this.channels;
    let done = 0;
    for (let i = this.#first; done < n; i++) {
      const c = this.#chunks[i]!;
      const take = Math.min(n - done, c.frames - c.head);
      for (let f = 0; f < take; f++) {
        const base = (c.head + f) * ch;
        for (let k = 0; k < ch; k++) c.data[base + k] = fn(done + f, c.data[base + k]!, k);
      }
      done += take;
    }
  }

  #consume(c: Chunk, n: number): void {
    c.head += n;
    this.#frames -= n;
    if (c.head === c.frames) {
      this.#chunks[this.#first] = undefined as unknown as Chunk;
      this.#first++;
      // compact now and then so the array does not grow without bound
      if (this.#first > 64 && this.#first * 2 > this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#first);
        this.#first = 0;
      }
    }
  }
}
