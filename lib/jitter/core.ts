/**
 * The jitter buffer's engine, synchronous and clock-free: `push(input, now)` when audio arrives, `pull(now)` once
 * per 10 ms output frame — the sink's pull is the playout clock. The stream wrapper (transforms/jitterBuffer.ts)
 * and the simulator both drive this class, so an hour of virtual time runs in seconds.
 *
 *   push ─► reorder (seq/timestamp) ─► varispeed (ratio from the drift loop) ─► playout FIFO ─► pull (10 ms)
 *              │ jitter estimate ─► target delay                     ▲ depth error ─► drift loop
 *
 * States: `idle` (prebuffering: silence until the start level is reached), `playing`, `concealing` (the FIFO ran
 * dry: faded-out silence until the start level is back; then stale audio beyond it is dropped and play
 * resumes with a fade-in, so an underrun never leaves extra latency behind), `ended`.
 */
import { AudioFrame, checkFrame, samplesIn } from '../frames.js';
import { AudioPipelineError, ConfigError, FrameFormatError } from '../errors.js';
import { SampleQueue } from './sampleQueue.js';
import { Reorderer, type Released } from './reorder.js';
import { DelayEstimator } from './delayEstimator.js';
import { DriftController } from './driftController.js';
import { Varispeed } from './varispeed.js';
import { crossfadeCut, fadeIn, fadeInHead, fadeOutTail } from './concealment.js';
import { findCut, type StretchSearch } from './timeStretch.js';

/** RTP-like input: a frame with optional sequence number (16-bit) and timestamp (samples, 32-bit). */
export interface JitterPacket {
  frame: AudioFrame;
  seq?: number;
  timestamp?: number;
}

export type JitterInput = AudioFrame | JitterPacket;

export interface JitterOptions {
  /** Input and output rate, Hz (a multiple of 100). Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  channels?: number;
  /** Starting target (prebuffer) delay, and the fixed target when `adaptive` is false. Default 60 ms. */
  targetDelayMs?: number;
  /** Bounds for the adaptive target. Defaults 20 and 400 ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Adapt the target to observed arrival jitter. Default true. */
  adaptive?: boolean;
  /** Hard cap on audio held; beyond it the oldest audio is dropped (counted). Default max(1000, 2 × maxDelayMs). */
  maxBufferMs?: number;
  /** Clamp on the varispeed correction (0.01 = ±1 %). Default 0.01. */
  maxCorrection?: number;
  /** speex quality of the varispeed resampler, 0–10. Default 3. */
  quality?: number;
}

export type ResolvedJitterOptions = Required<JitterOptions>;

/** Sample counts are per channel. Invariant (exact, asserted in tests):
 *  samplesIn + samplesInserted − samplesRemoved + concealedSamples + idleSamples − droppedSamples
 *    = samplesOut + heldSamples */
export interface JitterStats {
  state: 'idle' | 'playing' | 'concealing' | 'ended';
  /** audio held now (FIFO + packets waiting behind a gap), ms */
  currentDelayMs: number;
  targetDelayMs: number;
  /** arrival-jitter estimate (0.95 quantile of lateness), ms; NaN until measured */
  jitterMs: number;
  /** typical input packet duration, ms */
  packetMs: number;
  samplesIn: number;
  samplesOut: number;
  /** added by varispeed while slowing down (and the resampler tail at the end) */
  samplesInserted: number;
  /** removed by varispeed while speeding up, plus time-stretch cuts */
  samplesRemoved: number;
  /** the part of samplesRemoved cut by time-stretch (quiet or periodic stretches) */
  timeStretchSamples: number;
  /** synthesized for underruns and lost packets (fades and silence) */
  concealedSamples: number;
  /** concealedSamples as time, at the buffer's own rate (which need not be the producer's: see gateway/chain.ts) */
  concealedMs: number;
  concealmentEvents: number;
  /** silence before playout started: not a glitch */
  idleSamples: number;
  droppedSamples: number;
  /** dropped samples by reason */
  dropped: { late: number; duplicate: number; overflow: number; stale: number };
  /** packets that arrived after their slot (dropped) */
  late: number;
  duplicates: number;
  /** packets that arrived out of order but in time */
  reordered: number;
  lostPackets: number;
  resyncs: number;
  heldSamples: number;
  /** estimated producer clock skew relative to the sink, ppm */
  driftPpm: number;
  /** varispeed ratio in effect: input consumed per output sample (exactly 1 while bypassed) */
  ratio: number;
  /** share of the input that went through the varispeed filter; the rest was nominal and bypassed it (0–1) */
  varispeedShare: number;
}

const FADE_MS = 5;
const QUIET_RMS = 104; // −50 dBFS
/** The stats of a jitter buffer that has had no input yet (its format still unknown). */
export function idleJitterStats(targetDelayMs: number): JitterStats {
  return {
    state: 'idle',
    currentDelayMs: 0,
    targetDelayMs,
    jitterMs: NaN,
    packetMs: NaN,
    samplesIn: 0,
    samplesOut: 0,
    samplesInserted: 0,
    samplesRemoved: 0,
    timeStretchSamples: 0,
    concealedSamples: 0,
    concealedMs: 0,
    concealmentEvents: 0,
    idleSamples: 0,
    droppedSamples: 0,
    dropped: { late: 0, duplicate: 0, overflow: 0, stale: 0 },
    late: 0,
    duplicates: 0,
    reordered: 0,
    lostPackets: 0,
    resyncs: 0,
    heldSamples: 0,
    driftPpm: 0,
    ratio: 1,
    varispeedShare: 0,
  };
}

/** pulls without a time-stretch search after one that found no cut (30 ms: the search is the costliest step of a pull) */
const SEARCH_PAUSE = 3;
/** a gap between pulls longer than this means the sink itself stalled */
const SINK_HICCUP_MS = 30;
/** jitter-estimate samples (half-seconds) before the target may go below its starting value */
const TRUST_SAMPLES = 10;

export function resolveJitterOptions(o: JitterOptions = {}): ResolvedJitterOptions {
  if (o === null || typeof o !== 'object')
    throw new ConfigError('ERR_JITTER_OPTIONS', 'jitterBuffer options must be an object');
  const sampleRate = o.sampleRate ?? 48000;
  const channels = o.channels ?? 1;
  if (!Number.isInteger(sampleRate) || sampleRate < 100) bad(`sampleRate must be an integer ≥ 100, got ${sampleRate}`);
  samplesIn(sampleRate, 10); // 10 ms frames must be whole
  if (!Number.isInteger(channels) || channels < 1 || channels > 8)
    bad(`channels must be an integer 1–8, got ${channels}`);
  const minDelayMs = o.minDelayMs ?? 20;
  const maxDelayMs = o.maxDelayMs ?? 400;
  const targetDelayMs = o.targetDelayMs ?? Math.min(maxDelayMs, Math.max(minDelayMs, 60));
  for (const [k, v] of Object.entries({ minDelayMs, maxDelayMs, targetDelayMs })) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 10) bad(`${k} must be a number ≥ 10 ms, got ${v}`);
  }
  if (!(minDelayMs <= targetDelayMs && targetDelayMs <= maxDelayMs)) {
    bad(`need minDelayMs ≤ targetDelayMs ≤ maxDelayMs, got ${minDelayMs} / ${targetDelayMs} / ${maxDelayMs}`);
  }
  const maxBufferMs = o.maxBufferMs ?? Math.max(1000, 2 * maxDelayMs);
  if (typeof maxBufferMs !== 'number' || !(maxBufferMs >= maxDelayMs + 50)) {
    bad(`maxBufferMs must be at least maxDelayMs + 50 ms, got ${maxBufferMs}`);
  }
  const maxCorrection = o.maxCorrection ?? 0.01;
  if (typeof maxCorrection !== 'number' || !(maxCorrection > 0 && maxCorrection <= 0.05)) {
    bad(`maxCorrection must be in (0, 0.05], got ${maxCorrection}`);
  }
  const quality = o.quality ?? 3;
  if (!Number.isInteger(quality) || quality < 0 || quality > 10) bad(`quality must be an integer 0–10, got ${quality}`);
  const adaptive = o.adaptive ?? true;
  if (typeof adaptive !== 'boolean') bad(`adaptive must be a boolean, got ${String(adaptive)}`);
  return { sampleRate, channels, targetDelayMs, minDelayMs, maxDelayMs, adaptive, maxBufferMs, maxCorrection, quality };
}

function bad(msg: string): never {
  throw new ConfigError('ERR_JITTER_OPTIONS', `jitterBuffer: ${msg}`);
}

/** Split an input into frame and metadata; FrameFormatError for anything else. */
function unpack(input: unknown): JitterPacket {
  if (input instanceof AudioFrame) return { frame: input };
  if (input !== null && typeof input === 'object' && 'frame' in input) return input as JitterPacket;
  throw new FrameFormatError(
    'ERR_NOT_A_FRAME',
    `jitterBuffer expects AudioFrames or { frame, seq?, timestamp? } packets, got ${input === null ? 'null' : typeof input}`,
  );
}

export class JitterCore {
  readonly options: ResolvedJitterOptions;
  /** frames per 10 ms output frame */
  readonly frameSize: number;
  #ch: number;
  #rate: number;
  #queue: SampleQueue;
  #reorder: Reorderer;
  #estimator: DelayEstimator;
  #loop: DriftController;
  #vs: Varispeed;
  #fade: number;
  #stretch: StretchSearch;
  #capSamples: number;
  #state: JitterStats['state'] = 'idle';
  #ended = false;
  #targetMs: number;
  #packetMs = NaN;
  #lastOut: Int16Array;
  #released: Released[] = [];
  #fadeNext = false;
  /** the rest of a fade-out that did not fit in the frame where the audio ran out */
  #pendingTail: Int16Array | undefined;
  #lastPosition = NaN;
  // time-average of the depth between pulls (ms·ms), and when it was last brought up to date
  #area = 0;
  #areaSince = NaN;
  #lastPullAt = NaN;
  // counters (frames)
  #in = 0;
  #out = 0;
  #concealed = 0;
  #events = 0;
  #idle = 0;
  #stretched = 0;
  /** pulls to wait before the next time-stretch search (after one that found nothing) */
  #searchPause = 0;
  #dropped = { late: 0, duplicate: 0, overflow: 0, stale: 0 };

  /** Requires `await loadSpeex()` first (the varispeed engine). */
  constructor(options: JitterOptions = {}) {
    const o = resolveJitterOptions(options);
    this.options = o;
    this.#ch = o.channels;
    this.#rate = o.sampleRate;
    this.frameSize = o.sampleRate / 100;
    this.#queue = new SampleQueue(o.channels);
    this.#reorder = new Reorderer(this.#samplesIn(o.maxDelayMs));
    this.#estimator = new DelayEstimator({ maxMs: o.maxDelayMs });
    this.#loop = new DriftController({ frameMs: 10, maxCorrection: o.maxCorrection });
    this.#vs = new Varispeed(o.channels, o.sampleRate, o.quality);
    this.#fade = this.#samplesIn(FADE_MS);
    this.#stretch = {
      minLag: this.#samplesIn(2.5),
      maxLag: this.#samplesIn(15),
      window: this.#fade,
      quietRms: QUIET_RMS,
      minCorrelation: 0.9,
      decimation: Math.max(1, Math.floor(o.sampleRate / 8000)), // search at ~8 kHz, refine at the full rate
    };
    this.#capSamples = this.#samplesIn(o.maxBufferMs);
    this.#targetMs = o.targetDelayMs;
    this.#lastOut = new Int16Array(this.frameSize * o.channels);
  }

  /** Audio held now, ms. */
  get depthMs(): number {
    return (this.#depthSamples() * 1000) / this.#rate;
  }

  get targetMs(): number {
    return this.#targetMs;
  }

  /** Media position (producer sample index) of the first sample of the last pulled frame; NaN if synthesized. */
  get lastPosition(): number {
    return this.#lastPosition;
  }

  /** Take audio that just arrived. Throws FrameFormatError for bad input (the stream turns it into an error). */
  push(input: JitterInput, nowMs: number): void {
    if (this.#ended) throw new AudioPipelineError('ERR_JITTER_ENDED', 'jitterBuffer: push after end()');
    const { frame, seq, timestamp } = unpack(input);
    checkFrame(frame, this.#rate, this.#ch, 'jitterBuffer');
    const frames = frame.samplesPerChannel;
    if (frames === 0) return;
    this.#integrate(nowMs);
    const r = this.#reorder.accept({ data: frame.data, frames, seq, timestamp }, this.#released);
    this.#in += frames;
    const ms = (frames * 1000) / this.#rate;
    this.#packetMs = Number.isNaN(this.#packetMs) ? ms : this.#packetMs + 0.05 * (ms - this.#packetMs);
    this.#estimator.arrival(nowMs, (r.pos * 1000) / this.#rate);
    if (r.status === 'late') this.#dropped.late += frames;
    else if (r.status === 'duplicate') this.#dropped.duplicate += frames;
    this.#flushReleased();
    this.#enforceCap();
  }

  /** No more input: what is held still plays out, then pull() returns null. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    while (this.#reorder.hasHeld) this.#reorder.releaseGap(this.#released);
    this.#flushReleased();
    if (this.#in > 0) this.#queue.append(this.#vs.flush());
  }

  /** One 10 ms frame for the sink (the last one of an ended stream may be shorter), or null once ended and drained. */
  pull(nowMs: number): AudioFrame | null {
    const hiccup = nowMs - this.#lastPullAt > SINK_HICCUP_MS;
    let heldMs = this.#averageDepth(nowMs);
    this.#updateTarget();
    if (this.#state === 'ended') return null;
    if (this.#state === 'idle' || this.#state === 'concealing') {
      const waiting = this.#resume();
      if (waiting !== undefined) return waiting;
      // the average since the last pull mostly covers the gap: the loop restarts from what is held now
      heldMs = this.depthMs;
      this.#loop.reset(heldMs);
    }
    while (this.#queue.samples < this.frameSize && this.#reorder.hasHeld) {
      this.#reorder.releaseGap(this.#released);
      this.#flushReleased();
    }
    if (this.#queue.samples < this.frameSize) return this.#runDry();
    return this.#play(heldMs, hiccup);
  }

  /**
   * Idle or concealing: (re)start playout once the start level is in hand — returns undefined, playing — or
   * answer this pull with silence (or null at the end) while it is not.
   */
  #resume(): AudioFrame | null | undefined {
    // the target is a time-average; audio arrives in lumps, so playout (re)starts at the lump's peak
    const target = this.#samplesIn(this.#startLevelMs());
    const depth = this.#depthSamples();
    if (!(depth >= target || (this.#ended && depth > 0))) {
      if (!this.#ended) return this.#silence(this.#state === 'idle');
      this.#state = 'ended';
      return null;
    }
    while (this.#reorder.hasHeld) this.#reorder.releaseGap(this.#released);
    this.#flushReleased();
    if (this.#state === 'concealing') {
      // the audio that piled up during the gap is stale: keep only the start level (the fade-in hides the cut)
      const stale = Math.min(this.#queue.samples, depth - target);
      if (stale > 0) {
        this.#queue.skip(stale);
        this.#dropped.stale += stale;
      }
    }
    fadeInHead(this.#queue, this.#fade);
    const tail = this.#pendingTail;
    if (tail) {
      // resuming right after running dry: the fade-out still due overlaps the fade-in
      const ch = this.#ch;
      this.#queue.mapHead(Math.min(this.#queue.samples, tail.length / ch), (i, v, k) =>
        Math.max(-32768, Math.min(32767, v + tail[i * ch + k]!)),
      );
      this.#pendingTail = undefined;
    }
    this.#state = 'playing';
    return undefined;
  }

  /**
   * Less than a frame left. At the end of the stream: the stream ends on the input's last sample, in a frame as
   * short as what is left — nothing is concealed after the end (a faded tail there would be a sound the input
   * never had). Otherwise an underrun: what is left, then a fade-out reflected from the last audio (what does not
   * fit in this frame starts the next one), then silence until the start level is back.
   */
  #runDry(): AudioFrame | null {
    const F = this.frameSize;
    const r = this.#queue.samples;
    if (this.#ended) {
      this.#state = 'ended';
      if (r === 0) return null;
      const last = new Int16Array(r * this.#ch);
      this.#lastPosition = this.#queue.headPosition;
      this.#queue.readInto(last, 0, r);
      return this.#emit(last);
    }
    const out = new Int16Array(F * this.#ch);
    const tail = fadeOutTail(this.#recent(this.#fade), this.#ch, this.#fade);
    this.#lastPosition = this.#queue.headPosition;
    this.#queue.readInto(out, 0, r);
    const fits = Math.min(F - r, this.#fade) * this.#ch;
    out.set(tail.subarray(0, fits), r * this.#ch);
    this.#pendingTail = fits < tail.length ? tail.subarray(fits) : undefined;
    this.#concealed += F - r;
    this.#events++;
    this.#state = 'concealing';
    this.#loop.discardRecent();
    return this.#emit(out);
  }

  /** Playing with a frame in hand: steer the varispeed, shed a large excess by time-stretch, hand out 10 ms. */
  #play(heldMs: number, hiccup: boolean): AudioFrame {
    const F = this.frameSize;
    // the sink stopped pulling for a while (a blocked event loop): arrivals piled up meanwhile, and if its own
    // queue ran dry, the depth stays up by that much — a step, not drift: the model restarts from here
    if (hiccup) this.#loop.reset(heldMs);
    this.#vs.setRatio(1 + this.#loop.update(heldMs, this.#targetMs, this.#vs.ratio - 1));
    if (this.#searchPause > 0) this.#searchPause--;
    else if (
      this.depthMs - this.#targetMs > this.#accelerateAboveMs() &&
      this.#queue.samples >= this.#stretch.maxLag + this.#stretch.window + F
    ) {
      const cut = findCut(this.#queue.peek(this.#stretch.maxLag + this.#stretch.window), this.#ch, this.#stretch);
      // audio that is neither quiet nor periodic now rarely is 10 ms later: look again after SEARCH_PAUSE pulls
      if (cut === 0) this.#searchPause = SEARCH_PAUSE;
      if (cut > 0) {
        crossfadeCut(this.#queue, cut, this.#stretch.window);
        this.#stretched += cut;
        this.#loop.adjust((-cut * 1000) / this.#rate);
      }
    }
    const out = new Int16Array(F * this.#ch);
    this.#lastPosition = this.#queue.headPosition;
    this.#queue.readInto(out, 0, F);
    return this.#emit(out);
  }

  get stats(): JitterStats {
    const d = this.#dropped;
    return {
      state: this.#state,
      currentDelayMs: this.depthMs,
      targetDelayMs: this.#targetMs,
      jitterMs: this.#estimator.jitterMs ?? NaN,
      packetMs: this.#packetMs,
      samplesIn: this.#in,
      samplesOut: this.#out,
      samplesInserted: this.#vs.inserted,
      samplesRemoved: this.#vs.removed + this.#stretched,
      timeStretchSamples: this.#stretched,
      concealedSamples: this.#concealed,
      concealedMs: (this.#concealed * 1000) / this.#rate,
      concealmentEvents: this.#events,
      idleSamples: this.#idle,
      droppedSamples: d.late + d.duplicate + d.overflow + d.stale,
      dropped: { ...d },
      late: this.#reorder.late,
      duplicates: this.#reorder.duplicates,
      reordered: this.#reorder.reordered,
      lostPackets: this.#reorder.lost,
      resyncs: this.#reorder.resyncs,
      heldSamples: this.#queue.samples + this.#reorder.heldSamples,
      driftPpm: this.#loop.driftPpm,
      ratio: this.#vs.ratio,
      varispeedShare: this.#vs.activeSamples / Math.max(1, this.#vs.activeSamples + this.#vs.bypassedSamples),
    };
  }

  /** Free the resampler. */
  destroy(): void {
    this.#vs.destroy();
  }

  #samplesIn(ms: number): number {
    return Math.round((ms * this.#rate) / 1000);
  }

  #integrate(nowMs: number): void {
    if (!Number.isNaN(this.#areaSince) && nowMs > this.#areaSince)
      this.#area += this.depthMs * (nowMs - this.#areaSince);
    this.#areaSince = nowMs;
  }

  /**
   * The depth averaged over time since the last pull — what the drift loop controls. Sampling it at the pulls
   * instead would alias the packet sawtooth against the pull clock: with 20 ms packets and 10 ms pulls the
   * sampled mean moves by up to 10 ms as their phases slide past each other, which reads as drift.
   */
  #averageDepth(nowMs: number): number {
    this.#integrate(nowMs);
    const span = nowMs - this.#lastPullAt;
    const avg = span > 0 ? this.#area / span : this.depthMs;
    this.#area = 0;
    this.#lastPullAt = nowMs;
    return avg;
  }

  #depthSamples(): number {
    return this.#queue.samples + this.#reorder.heldSamples + this.#reorder.gapSamples;
  }

  #updateTarget(): void {
    const o = this.options;
    const jitter = this.#estimator.jitterMs;
    if (!o.adaptive || jitter === undefined) return;
    // the time-averaged depth must cover the lateness quantile plus half a packet (the sawtooth the packets
    // draw) plus half an output frame (the pulls' own sawtooth), plus half a frame of margin
    let want = jitter + this.#packetMs / 2 + 10;
    // the first few estimates rest on a handful of half-seconds: they may raise the target, not lower it yet
    if (this.#estimator.samples < TRUST_SAMPLES) want = Math.max(want, o.targetDelayMs);
    this.#targetMs = Math.min(o.maxDelayMs, Math.max(o.minDelayMs, want));
  }

  /**
   * The depth at which playout starts or resumes: the target (a time-average) plus half the sawtooth that
   * arrival draws on the depth — half a packet, or half the lateness when packets come in clumps.
   */
  #startLevelMs(): number {
    const lumpMs = Math.max(Number.isNaN(this.#packetMs) ? 0 : this.#packetMs, this.#estimator.jitterMs ?? 0);
    return this.#targetMs + lumpMs / 2;
  }

  #accelerateAboveMs(): number {
    return 20 + Math.max(0, this.#packetMs - 10) / 2;
  }

  #flushReleased(): void {
    const items = this.#released;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if ('gap' in it) {
        const data = new Int16Array(it.gap * this.#ch);
        data.set(fadeOutTail(this.#recent(this.#fade), this.#ch, Math.min(this.#fade, it.gap)));
        this.#queue.append(data);
        this.#concealed += it.gap;
        this.#events++;
        this.#fadeNext = true;
      } else {
        const out = this.#vs.process(it.data);
        const frames = out.length / this.#ch;
        if (this.#fadeNext) {
          fadeIn(out, this.#ch, this.#fade);
          this.#fadeNext = false;
        }
        this.#queue.append(out, it.pos - this.#vs.latency, frames > 0 ? it.frames / frames : 1);
      }
    }
    items.length = 0;
  }

  #enforceCap(): void {
    let excess = this.#depthSamples() - this.#capSamples;
    if (excess <= 0) return;
    while (this.#reorder.hasHeld && this.#queue.samples < excess + this.#fade) {
      this.#reorder.releaseGap(this.#released);
      this.#flushReleased();
    }
    excess = Math.min(this.#queue.samples, this.#depthSamples() - this.#capSamples);
    if (excess <= 0) return;
    if (this.#state === 'playing' && this.#queue.samples >= excess + this.#fade)
      crossfadeCut(this.#queue, excess, this.#fade);
    else this.#queue.skip(excess);
    this.#dropped.overflow += excess;
    this.#loop.adjust((-excess * 1000) / this.#rate);
  }

  /** The last `n` frames heard or about to be heard: the tail of the last output frame, then the FIFO. */
  #recent(n: number): Int16Array {
    const q = this.#queue.samples;
    if (q >= n) return this.#queue.tail(n);
    const ch = this.#ch;
    const out = new Int16Array(n * ch);
    out.set(this.#lastOut.subarray(this.#lastOut.length - (n - q) * ch));
    if (q > 0) out.set(this.#queue.tail(q), (n - q) * ch);
    return out;
  }

  #silence(idle: boolean): AudioFrame {
    if (idle) this.#idle += this.frameSize;
    else this.#concealed += this.frameSize;
    this.#lastPosition = NaN;
    const out = new Int16Array(this.frameSize * this.#ch);
    if (this.#pendingTail) out.set(this.#pendingTail);
    this.#pendingTail = undefined;
    return this.#emit(out);
  }

  #emit(data: Int16Array): AudioFrame {
    const n = data.length / this.#ch; // 10 ms, except the last frame of a stream
    this.#out += n;
    this.#lastOut = data;
    return new AudioFrame(data, this.#rate, this.#ch, n);
  }
}
