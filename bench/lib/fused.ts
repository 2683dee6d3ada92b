/**
 * PROTOTYPE (measured here, proposed for gateway/connection.ts): a realtime call without Node streams.
 *
 * The gateway's chain is five object-mode streams; at 100 frames a second per call their plumbing costs about
 * half as much main-thread time as the audio work itself. Here the same components run as plain calls:
 *
 *   socket message ─► µ-law table decode ─► JitterCore.push (8 kHz)        (the producer's clock)
 *   shared Pacer tick ─► JitterCore.pull (10 ms) ─► resampler 8k→48k ─► lib/ffiCapture.ts (direct mode)
 *                                                                            (the sink's clock)
 *
 * One capture in flight per call: a tick that finds the previous capture still pending is owed, and paid as
 * soon as that capture resolves (like LiveKitSink's slots); a tick still owed at the next tick is a missed tick.
 */
import { AudioSource } from '@livekit/rtc-node';
import { AudioFrame } from '../../lib/frames.js';
import { MULAW_TO_INT16 } from '../../lib/formats.js';
import { sharedPacer } from '../../lib/pacer.js';
import { createResampler } from '../../lib/resampler.js';
import { JitterCore, type JitterStats } from '../../transforms/jitterBuffer.js';
import { captureFrame } from '../../lib/ffiCapture.js';

const OUT = 480; // 10 ms at 48 kHz

export class FusedCall {
  readonly source = new AudioSource(48000, 1, 0);
  readonly #core = new JitterCore({ sampleRate: 8000, channels: 1 });
  readonly #resampler = createResampler(1, 8000, 48000);
  /** 48 kHz samples made but not yet captured (the resampler's output is not always exactly 480). */
  #carry = new Int16Array(0);
  #inFlight = false;
  #owed = 0;
  #closed = false;
  readonly #unsubscribe: () => void;
  framesCaptured = 0;
  missedTicks = 0;
  errors = 0;

  constructor() {
    this.#resampler.skipZeros();
    this.#unsubscribe = sharedPacer().register((ticks) => {
      for (let t = 0; t < ticks; t++) this.#tick();
    });
  }

  /** A socket message: 8 kHz µ-law bytes. */
  write(bytes: Uint8Array): void {
    const pcm = new Int16Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) pcm[i] = MULAW_TO_INT16[bytes[i]!]!;
    this.#core.push(new AudioFrame(pcm, 8000, 1, pcm.length), performance.now());
  }

  get jitterStats(): JitterStats {
    return this.#core.stats;
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#inFlight) {
      if (this.#owed > 0) this.missedTicks++;
      else this.#owed = 1;
      return;
    }
    this.#capture();
  }

  #capture(): void {
    while (this.#carry.length < OUT) {
      const f = this.#core.pull(performance.now());
      if (f === null) return;
      const out = this.#resampler.process(f.data);
      const joined = new Int16Array(this.#carry.length + out.length);
      joined.set(this.#carry);
      joined.set(out, this.#carry.length);
      this.#carry = joined;
    }
    const data = this.#carry.length === OUT ? this.#carry : this.#carry.slice(0, OUT);
    this.#carry = this.#carry.length === OUT ? new Int16Array(0) : this.#carry.slice(OUT);
    this.#inFlight = true;
    captureFrame(this.source, new AudioFrame(data, 48000, 1, OUT)).then(
      () => this.#done(true),
      () => this.#done(false),
    );
  }

  #done(ok: boolean): void {
    this.#inFlight = false;
    if (ok) this.framesCaptured++;
    else this.errors++;
    if (this.#owed > 0 && !this.#closed) {
      this.#owed = 0;
      this.#capture();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#core.destroy();
    this.#resampler.destroy();
    await this.source.close();
  }
}
