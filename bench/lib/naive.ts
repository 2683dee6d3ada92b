/**
 * The baselines: the way people first write it with rtc-node alone. Each figure of ours is measured next to
 * one of these, in the same run.
 *
 * - µ-law decoded sample by sample with the G.711 formula into a fresh array per chunk;
 * - rtc-node's `AudioResampler` (soxr via FFI, its default MEDIUM quality);
 * - a rechunker that concatenates bytes (`Buffer.concat`) and, offline, rtc-node's `combineAudioFrames`;
 * - per call, an unbounded array of 10 ms frames drained by `await source.captureFrame(frame)` on an
 *   `AudioSource` with rtc-node's default 1000 ms queue.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AudioFrame, AudioResampler, AudioSource, combineAudioFrames } from '@livekit/rtc-node';

/** G.711 µ-law to int16, the textbook way (no table). */
export function naiveMulawDecode(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const u = ~bytes[i]! & 0xff;
    const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
    out[i] = u & 0x80 ? 0x84 - t : t - 0x84;
  }
  return out;
}

/** Cuts 10 ms frames out of a growing Buffer. */
export class ByteRechunker {
  #pending = Buffer.alloc(0);
  readonly #bytes: number;
  constructor(
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    this.#bytes = (sampleRate / 100) * channels * 2;
  }

  push(frame: AudioFrame): AudioFrame[] {
    const d = frame.data;
    this.#pending = Buffer.concat([this.#pending, Buffer.from(d.buffer, d.byteOffset, d.byteLength)]);
    const out: AudioFrame[] = [];
    while (this.#pending.length >= this.#bytes) {
      const piece = this.#pending.subarray(0, this.#bytes);
      this.#pending = this.#pending.subarray(this.#bytes);
      const data = new Int16Array(piece.buffer.slice(piece.byteOffset, piece.byteOffset + this.#bytes));
      out.push(new AudioFrame(data, this.sampleRate, this.channels, data.length / this.channels));
    }
    return out;
  }
}

/** One realtime call the naive way: bytes of 8 kHz µ-law in, 48 kHz mono into its own AudioSource. */
export class NaiveCall {
  readonly source = new AudioSource(48000, 1); // rtc-node's default queue: 1000 ms
  readonly #resampler = new AudioResampler(8000, 48000, 1);
  readonly #rechunker = new ByteRechunker(48000, 1);
  readonly #queue: AudioFrame[] = [];
  #sending = false;
  #closed = false;
  framesCaptured = 0;
  errors = 0;

  write(bytes: Uint8Array): void {
    const pcm = naiveMulawDecode(bytes);
    for (const out of this.#resampler.push(new AudioFrame(pcm, 8000, 1, pcm.length))) {
      for (const f of this.#rechunker.push(out)) this.#queue.push(f);
    }
    if (!this.#sending) void this.#send();
  }

  /** ms of audio waiting in JavaScript (the unbounded queue). */
  get queuedMs(): number {
    return this.#queue.length * 10;
  }

  async #send(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0 && !this.#closed) {
      try {
        await this.source.captureFrame(this.#queue.shift()!);
        this.framesCaptured++;
      } catch {
        this.errors++;
      }
    }
    this.#sending = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#resampler.close();
    await this.source.close();
  }
}

/** Offline, as Node streams with default options: WAV bytes → stereo frames (canonical 44-byte header). */
export function naiveWavDecode(): Transform {
  let header = true;
  let carry = Buffer.alloc(0);
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      let buf = Buffer.concat([carry, chunk]);
      if (header) {
        buf = buf.subarray(44);
        header = false;
      }
      const whole = buf.length - (buf.length % 4);
      carry = buf.subarray(whole);
      if (whole > 0) {
        const data = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + whole));
        this.push(new AudioFrame(data, 44100, 2, data.length / 2));
      }
      cb();
    },
  });
}

/** Offline: stereo → mono (averaging into a fresh array), then rtc-node's AudioResampler to 48 kHz. */
export function naiveResample(): Transform {
  const resampler = new AudioResampler(44100, 48000, 1);
  return new Transform({
    objectMode: true,
    transform(frame: AudioFrame, _enc, cb: TransformCallback) {
      const mono = new Int16Array(frame.samplesPerChannel);
      for (let i = 0; i < mono.length; i++) mono[i] = (frame.data[2 * i]! + frame.data[2 * i + 1]!) >> 1;
      for (const out of resampler.push(new AudioFrame(mono, 44100, 1, mono.length))) this.push(out);
      cb();
    },
    flush(cb) {
      for (const out of resampler.flush()) this.push(out);
      resampler.close();
      cb();
    },
  });
}

/** Offline: collect frames until there is 10 ms, join them with combineAudioFrames, cut with ByteRechunker. */
export function naiveRechunk(): Transform {
  let held: AudioFrame[] = [];
  let heldSamples = 0;
  const cutter = new ByteRechunker(48000, 1);
  return new Transform({
    objectMode: true,
    transform(frame: AudioFrame, _enc, cb: TransformCallback) {
      held.push(frame);
      heldSamples += frame.samplesPerChannel;
      if (heldSamples >= 480) {
        for (const f of cutter.push(combineAudioFrames(held))) this.push(f);
        held = [];
        heldSamples = 0;
      }
      cb();
    },
  });
}
