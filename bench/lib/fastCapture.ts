/**
 * PROTOTYPE (measured here, proposed for sinks/LiveKitSink.ts): a cheaper `AudioSource.captureFrame`.
 *
 * Measured on this machine (rtc-node 1.1.0), one `captureFrame` costs 60–80 µs of main-thread CPU, of which the
 * native capture itself (`livekitFfiRequest`) is ~14 µs. The rest is JavaScript around it:
 * - building and encoding the request with protobuf-es (reflection-based): ~24 µs;
 * - `FfiClient.waitFor`: one listener per pending call on one global emitter, so every FFI event (every
 *   capture callback of every source, every received frame) runs every pending predicate — O(N) per event,
 *   O(N²) per second for N sources;
 * - a clearTimeout + setTimeout per call for the playout estimate.
 *
 * This version writes the ~22 request bytes by hand (the wire format of FfiRequest.capture_audio_frame = 27:
 * source_handle = 1, buffer = 2 { data_ptr = 1, num_channels = 2, sample_rate = 3, samples_per_channel = 4 }),
 * reads the async id back from the response by hand, and resolves callbacks through ONE listener and a Map
 * keyed by async id: O(1) per event. In buffered mode the playout bookkeeping (`queuedDuration`,
 * `waitForPlayout`) is kept as rtc-node does it, so LiveKitSink's end-of-stream and stats behave the same; in
 * direct mode, where nothing is queued natively, it is skipped (rtc-node arms a ~10 ms timer per capture).
 *
 * It also passes the frame's own byteOffset (rtc-node ignores it, DESIGN.md), and native copies the samples
 * during the request, so a caller may reuse one buffer for every capture (verified bit-exact by the loopback
 * self-check in bench/child.ts `--task selfcheck`).
 *
 * It reaches into rtc-node internals: the FFI bindings rtc-node itself loaded (resolved from rtc-node's own
 * location, so the same native instance) and the global FfiClient. `fastCaptureSupported()` checks them, and
 * the response is validated on every call, so a changed protocol fails loudly instead of silently.
 */
import { createRequire } from 'node:module';
import type { AudioFrame, AudioSource } from '@livekit/rtc-node';

interface FfiBindings {
  livekitFfiRequest(data: Uint8Array): Uint8Array;
  livekitRetrievePtr(data: Uint8Array): bigint;
}

interface CaptureCallbackEvent {
  message: { case: string | undefined; value: { asyncId?: bigint; error?: string } };
}

interface FfiClientLike {
  on(event: 'ffi_event', listener: (ev: CaptureCallbackEvent) => void): unknown;
}

/** The fields of rtc-node's AudioSource that captureFrame maintains (all public JS properties, marked @internal). */
interface SourceInternals {
  ffiHandle: { handle: bigint };
  closed: boolean;
  lastCapture: number;
  currentQueueSize: number;
  promise?: Promise<void>;
  resolvePromise?: () => void;
  timeout?: ReturnType<typeof setTimeout>;
  releaseWaiter: () => void;
}

let bindings: FfiBindings | undefined;
let listening = false;
const pending = new Map<bigint, { resolve: () => void; reject: (err: Error) => void }>();
const req = new Uint8Array(64);
let pos = 0;

function loadBindings(): FfiBindings {
  if (bindings) return bindings;
  const rtcNode = createRequire(import.meta.url).resolve('@livekit/rtc-node');
  bindings = createRequire(rtcNode)('@livekit/rtc-ffi-bindings') as FfiBindings;
  return bindings;
}

function client(): FfiClientLike | undefined {
  return (globalThis as { _ffiClientInstance?: FfiClientLike })._ffiClientInstance;
}

/** True when the internals this prototype uses are there (call after creating an AudioSource). */
export function fastCaptureSupported(): boolean {
  try {
    const b = loadBindings();
    return typeof b.livekitFfiRequest === 'function' && typeof b.livekitRetrievePtr === 'function' && !!client();
  } catch {
    return false;
  }
}

/** Replace `source.captureFrame` on this instance with the fast path. */
export function installFastCapture(source: AudioSource): void {
  if (!fastCaptureSupported()) throw new Error('fast capture: rtc-node internals not found');
  source.captureFrame = (frame: AudioFrame) => fastCaptureFrame(source, frame);
}

function varint(v: bigint | number): void {
  if (typeof v === 'bigint') {
    while (v > 127n) {
      req[pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    req[pos++] = Number(v);
    return;
  }
  while (v > 127) {
    req[pos++] = (v & 127) | 128;
    v = Math.floor(v / 128);
  }
  req[pos++] = v;
}

function varintLength(v: bigint | number): number {
  let n = 1;
  if (typeof v === 'bigint') {
    for (; v > 127n; n++) v >>= 7n;
    return n;
  }
  for (; v > 127; n++) v = Math.floor(v / 128);
  return n;
}

function listen(): void {
  if (listening) return;
  const c = client();
  if (!c) throw new Error('fast capture: no FfiClient (create an AudioSource first)');
  c.on('ffi_event', (ev) => {
    if (ev.message.case !== 'captureAudioFrame') return;
    const { asyncId, error } = ev.message.value;
    if (asyncId === undefined) return;
    const waiter = pending.get(asyncId);
    if (!waiter) return; // a capture made by rtc-node's own captureFrame
    pending.delete(asyncId);
    if (error) waiter.reject(new Error(error));
    else waiter.resolve();
  });
  listening = true;
}

/** The same contract as `source.captureFrame(frame)`. */
export function fastCaptureFrame(source: AudioSource, frame: AudioFrame): Promise<void> {
  const s = source as unknown as SourceInternals;
  if (s.closed) return Promise.reject(new Error('AudioSource is closed'));
  if (frame.samplesPerChannel === 0) return Promise.resolve();
  const b = loadBindings();
  listen();

  // rtc-node's playout estimate (queuedDuration, waitForPlayout), unchanged in buffered mode. A direct-mode
  // source queues nothing natively: no estimate, and no timer per capture.
  if (source.queueSize > 0) {
    const now = Number(process.hrtime.bigint() / 1000000n);
    const elapsed = s.lastCapture === 0 ? 0 : now - s.lastCapture;
    s.currentQueueSize = Math.max(s.currentQueueSize - elapsed, 0) + (frame.samplesPerChannel / frame.sampleRate) * 1000;
    s.lastCapture = now;
    if (s.timeout) clearTimeout(s.timeout);
    s.promise ??= new Promise<void>((resolve) => (s.resolvePromise = resolve));
    s.timeout = setTimeout(s.releaseWaiter, s.currentQueueSize);
  }

  const data = frame.data;
  const ptr = b.livekitRetrievePtr(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const handle = s.ffiHandle.handle;
  // four one-byte tags plus their varint values
  const info =
    4 + varintLength(ptr) + varintLength(frame.channels) + varintLength(frame.sampleRate) +
    varintLength(frame.samplesPerChannel);
  const body = 1 + varintLength(handle) + 1 + varintLength(info) + info;
  pos = 0;
  req[pos++] = 0xda; // field 27 (capture_audio_frame), wire type 2: tag varint 0xda 0x01
  req[pos++] = 0x01;
  varint(body);
  req[pos++] = 0x08; // source_handle
  varint(handle);
  req[pos++] = 0x12; // buffer
  varint(info);
  req[pos++] = 0x08; // data_ptr
  varint(ptr);
  req[pos++] = 0x10; // num_channels
  varint(frame.channels);
  req[pos++] = 0x18; // sample_rate
  varint(frame.sampleRate);
  req[pos++] = 0x20; // samples_per_channel
  varint(frame.samplesPerChannel);
  const res = b.livekitFfiRequest(req.subarray(0, pos));

  // FfiResponse.capture_audio_frame (27) { async_id = 1 }: da 01 <len> 08 <varint>
  if (res[0] !== 0xda || res[1] !== 0x01 || res[3] !== 0x08) {
    return Promise.reject(new Error(`fast capture: unexpected FFI response ${Buffer.from(res).toString('hex')}`));
  }
  let id = 0n;
  for (let i = 4, shift = 0n; i < res.length; i++, shift += 7n) {
    const byte = res[i]!;
    id |= BigInt(byte & 127) << shift;
    if (byte < 128) break;
  }
  return new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
}
