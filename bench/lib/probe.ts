/**
 * The probe: one of the N calls carries a 440 Hz sine and its AudioSource is looped back (LocalAudioTrack →
 * AudioStream). What comes back is checked for
 * - glitches: a pure sine obeys x[n] = 2cos(ω)·x[n−1] − x[n−2]; a gap, a dropped or repeated frame or a click
 *   breaks it. Samples whose residual exceeds GLITCH_THRESHOLD are glitches (merged within 10 ms into one event).
 *   µ-law quantisation leaves a residual far below it (the clean maximum is reported as `cleanResidualMax`);
 * - dropouts: 10 ms frames with less than half the sine's RMS after the sound started (underrun silence);
 * - latency: the producer's signal dips smoothly to 0.6 of its level once a second, 10 ms into the cycle's first
 *   chunk (signals.ts). A received dip belongs to the cycle whose latency (arrival − the time the producer wrote
 *   that chunk − 10 ms) is closest to the previous one (the first: the latest cycle written before it arrived),
 *   so the figure holds to ±10 ms (one frame) whatever the jitter buffer stretched or dropped in between, as long
 *   as latency moves by less than half a second between two dips. A dip that touches silence (a fade into or out
 *   of concealment) is not a marker. Flat latency means no queue is growing between the socket and the track.
 */
import { AudioStream, LocalAudioTrack, type AudioFrame, type AudioSource } from '@livekit/rtc-node';
import { LoopbackRecorder } from '../../room/loopback.js';
import { median, round } from './measure.js';
import { MARKER_LEVEL, PROBE_AMPLITUDE, PROBE_HZ } from './signals.js';

export const GLITCH_THRESHOLD = 0.1 * PROBE_AMPLITUDE;
const RATE = 48000;
const SINE_RMS = PROBE_AMPLITUDE / Math.SQRT2;
/** Below this a frame is a dropout (underrun silence). */
const DROPOUT_RMS = 0.5 * SINE_RMS;
/** Below this (and above DROPOUT_RMS) a frame overlaps the once-a-second marker dip. */
const DIP_RMS = ((1 + MARKER_LEVEL) / 2 + 0.05) * SINE_RMS;
const CHUNKS_PER_CYCLE = 50;
const MARKER_OFFSET_MS = 10;

export interface ProbeResult {
  glitches: number;
  dropoutFrames: number;
  /** Largest residual seen outside glitches: how far below the threshold clean audio stays. */
  cleanResidualMax: number;
  latencyMs: { start: number; end: number; growth: number; p99: number; max: number };
  framesReceived: number;
}

export class Probe {
  readonly #recorder: LoopbackRecorder;
  readonly #track: LocalAudioTrack;
  readonly #chunkTimes: number[] = [];
  readonly #coef = 2 * Math.cos((2 * Math.PI * PROBE_HZ) / RATE);
  #x1 = 0;
  #x2 = 0;
  #started = false;
  #skip = 2 * (RATE / 100); // the first 20 ms: the sine fades in through the resampler
  #lastLatency: number | undefined;
  #dip: { at: number; rms: number; tainted: boolean } | undefined;
  #prevQuiet = false;
  #lastGlitchAt = -Infinity;
  #sampleIndex = 0;
  #measuring = false;
  #lat: { at: number; ms: number }[] = [];
  glitches = 0;
  dropoutFrames = 0;
  cleanResidualMax = 0;
  framesReceived = 0;

  constructor(source: AudioSource) {
    this.#track = LocalAudioTrack.createAudioTrack('probe', source);
    const stream = new AudioStream(this.#track, { sampleRate: RATE, numChannels: 1 });
    this.#recorder = new LoopbackRecorder(stream, { record: false, onFrame: (f, at) => this.#onFrame(f, at) });
  }

  /** The producer wrote its next input chunk (20 ms) at time `at`. */
  wrote(at: number): void {
    this.#chunkTimes.push(at);
  }

  /** Count glitches and latency from now on (call after warm-up); `stop` ends the window. */
  start(): void {
    this.#measuring = true;
  }

  async stop(): Promise<ProbeResult> {
    this.#measuring = false;
    await this.#recorder.stop();
    await this.#track.close(false);
    const lat = this.#lat;
    const third = Math.max(1, Math.floor(lat.length / 3));
    const start = lat.length ? median(lat.slice(0, third).map((l) => l.ms)) : NaN;
    const end = lat.length ? median(lat.slice(-third).map((l) => l.ms)) : NaN;
    const sorted = lat.map((l) => l.ms).sort((a, b) => a - b);
    return {
      glitches: this.glitches,
      dropoutFrames: this.dropoutFrames,
      cleanResidualMax: round(this.cleanResidualMax, 0),
      latencyMs: {
        start: round(start, 1),
        end: round(end, 1),
        growth: round(end - start, 1),
        p99: round(sorted[Math.floor(0.99 * (sorted.length - 1))] ?? NaN, 1),
        max: round(sorted[sorted.length - 1] ?? NaN, 1),
      },
      framesReceived: this.framesReceived,
    };
  }

  #onFrame(frame: AudioFrame, at: number): void {
    this.framesReceived++;
    const d = frame.data;
    let energy = 0;
    for (let i = 0; i < d.length; i++) energy += d[i]! * d[i]!;
    const rms = Math.sqrt(energy / d.length);
    const quiet = rms < DROPOUT_RMS;
    if (!this.#started) {
      if (quiet) return;
      this.#started = true;
    }
    if (quiet && this.#measuring) this.dropoutFrames++;
    for (let i = 0; i < d.length; i++) {
      const x = d[i]!;
      const r = Math.abs(x - this.#coef * this.#x1 + this.#x2);
      this.#x2 = this.#x1;
      this.#x1 = x;
      this.#sampleIndex++;
      if (this.#skip > 0) {
        this.#skip--;
        continue;
      }
      if (!this.#measuring) continue;
      if (r > GLITCH_THRESHOLD) {
        if (this.#sampleIndex - this.#lastGlitchAt > RATE / 100) this.glitches++;
        this.#lastGlitchAt = this.#sampleIndex;
      } else if (this.#sampleIndex - this.#lastGlitchAt > RATE / 100) {
        this.cleanResidualMax = Math.max(this.cleanResidualMax, r);
      }
    }
    // the marker: a run of dipped frames, its deepest frame the arrival; runs touching silence are fades
    const prevQuiet = this.#prevQuiet;
    this.#prevQuiet = quiet;
    if (!quiet && rms < DIP_RMS) {
      if (this.#dip === undefined) this.#dip = { at, rms, tainted: prevQuiet };
      else if (rms < this.#dip.rms) this.#dip = { ...this.#dip, at, rms };
      return;
    }
    const dip = this.#dip;
    this.#dip = undefined;
    if (dip === undefined || dip.tainted || quiet) return;
    const latency = this.#matchCycle(dip.at);
    if (latency === undefined) return;
    this.#lastLatency = latency;
    if (this.#measuring) this.#lat.push({ at: dip.at, ms: latency });
  }

  /** The latency of a dip that arrived at `at`, by the cycle that fits (see the file comment). */
  #matchCycle(at: number): number | undefined {
    let best: number | undefined;
    for (let k = 0; k * CHUNKS_PER_CYCLE < this.#chunkTimes.length; k++) {
      const latency = at - this.#chunkTimes[k * CHUNKS_PER_CYCLE]! - MARKER_OFFSET_MS;
      if (latency < -MARKER_OFFSET_MS) break; // written after it arrived
      const better =
        best === undefined ||
        (this.#lastLatency === undefined
          ? latency < best
          : Math.abs(latency - this.#lastLatency) < Math.abs(best - this.#lastLatency));
      if (better) best = latency;
    }
    return best;
  }
}
