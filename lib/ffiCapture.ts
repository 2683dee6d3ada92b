/**
 * captureFrame(source, frame): the same contract as rtc-node's `AudioSource.captureFrame(frame)`, at a fraction
 * of its main-thread cost and with O(1) completion dispatch. LiveKitSink uses it unless told not to
 * (`fastCapture: false`) or unless `ffiCaptureSupported()` is false, when it uses rtc-node's own method.
 *
 * Why (rtc-node 1.1.0; figures in docs/sink.md and docs/scaling.md): most of rtc-node's `captureFrame` is not the
 * native request but protobuf-es reflection encoding, a timer per call, and `FfiClient.waitFor`, which adds one
 * listener per pending call to one global emitter: every FFI event runs every pending predicate, O(N) per event
 * for N sources — and a buffered sink always has a capture pending.
 *
 * What this does instead:
 * - writes the ~22 request bytes by hand. The wire format is FfiRequest.capture_audio_frame (field 27) {
 *   source_handle = 1, buffer = 2 { data_ptr = 1, num_channels = 2, sample_rate = 3, samples_per_channel = 4 } };
 * - passes the frame's own byteOffset (rtc-node ignores it: docs/design.md). The native side copies the samples
 *   during the request, so the caller may reuse or change the frame's buffer as soon as this returns;
 * - reads the async id back from the response and resolves the completion through ONE listener and a Map.
 *
 * Buffered mode keeps rtc-node's playout bookkeeping exactly (`queuedDuration`, `waitForPlayout`, `clearQueue`
 * all read it). A direct-mode source (`queueSize` 0) queues nothing natively, so the bookkeeping — and the
 * timer rtc-node arms per capture — is skipped.
 *
 * It reaches into rtc-node internals: the FFI bindings package rtc-node itself loaded (resolved from rtc-node's
 * location, so the same native instance) and the global FfiClient. It is enabled only for the bindings
 * versions it was verified against (bit-exact through the loopback, test/realtime/loopback.test.ts), and every
 * response is checked: an unexpected one fails that capture with an error and turns the fast path off for the
 * rest of the process, so a changed protocol is loud once and then falls back to rtc-node's own method.
 */
import { createRequire } from 'node:module';
import type { AudioFrame, AudioSource } from '@livekit/rtc-node';
import { FrameFormatError } from './errors.js';

/** `@livekit/rtc-ffi-bindings` versions whose capture request layout this file was verified against. */
const VERIFIED_BINDINGS = /^0\.12\.\d+$/;

interface FfiBindings {
  livekitFfiRequest(data: Uint8Array): Uint8Array;
  livekitRetrievePtr(data: Uint8Array): bigint;
}

interface FfiEventLike {
  message: { case: string | undefined; value: { asyncId?: bigint; error?: string } };
}

interface FfiClientLike {
  on(event: 'ffi_event', listener: (ev: FfiEventLike) => void): unknown;
}

/** The fields of rtc-node's AudioSource that its captureFrame maintains (public JS properties marked @internal). */
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

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** undefined: not probed yet; null: unavailable (or turned off after an unexpected response). */
let bindings: FfiBindings | null | undefined;
let listening = false;
const pending = new Map<bigint, Waiter>();
/** One request buffer for every capture: the request is consumed synchronously. */
const req = new Uint8Array(64);
let pos = 0;

function probeBindings(): FfiBindings | null {
  try {
    const requireFromRtcNode = createRequire(createRequire(import.meta.url).resolve('@livekit/rtc-node'));
    const { version } = requireFromRtcNode('@livekit/rtc-ffi-bindings/package.json') as { version: string };
    if (!VERIFIED_BINDINGS.test(version)) return null;
    const b = requireFromRtcNode('@livekit/rtc-ffi-bindings') as Partial<FfiBindings>;
    if (typeof b.livekitFfiRequest !== 'function' || typeof b.livekitRetrievePtr !== 'function') return null;
    return b as FfiBindings;
  } catch {
    return null;
  }
}

function ffiClient(): FfiClientLike | undefined {
  const c = (globalThis as { _ffiClientInstance?: Partial<FfiClientLike> })._ffiClientInstance;
  return typeof c?.on === 'function' ? (c as FfiClientLike) : undefined;
}

/**
 * True when the fast path can be used: verified bindings, and rtc-node's FfiClient exists (it does once any
 * AudioSource was created). False after an unexpected response turned it off.
 */
export function ffiCaptureSupported(): boolean {
  if (bindings === undefined) bindings = probeBindings();
  return bindings !== null && ffiClient() !== undefined;
}

/** Captures sent through the fast path whose completion has not come back yet (all sources). */
export function ffiCapturesPending(): number {
  return pending.size;
}

function listen(client: FfiClientLike): void {
  if (listening) return;
  client.on('ffi_event', (ev) => {
    if (ev.message.case !== 'captureAudioFrame') return;
    const { asyncId, error } = ev.message.value;
    if (asyncId === undefined) return;
    const waiter = pending.get(asyncId);
    if (waiter === undefined) return; // a capture made through rtc-node's own captureFrame
    pending.delete(asyncId);
    if (error) waiter.reject(new Error(error));
    else waiter.resolve();
  });
  listening = true;
}

/** The same contract as `source.captureFrame(frame)`; it rejects when `ffiCaptureSupported()` is false. */
export function captureFrame(source: AudioSource, frame: AudioFrame): Promise<void> {
  const s = source as unknown as SourceInternals;
  if (s.closed) return Promise.reject(new Error('AudioSource is closed'));
  // native code reads samplesPerChannel × channels int16 from the pointer: never tell it more than the array holds
  const { data, samplesPerChannel: spc, channels, sampleRate } = frame;
  if (
    !(data instanceof Int16Array) ||
    !Number.isSafeInteger(spc) ||
    !Number.isSafeInteger(channels) ||
    !Number.isSafeInteger(sampleRate) ||
    spc < 0 ||
    channels < 1 ||
    sampleRate < 1 ||
    data.length !== spc * channels
  ) {
    return Promise.reject(
      new FrameFormatError(
        'ERR_FRAME_LENGTH',
        "captureFrame: the frame's data does not hold samplesPerChannel × channels int16 samples",
      ),
    );
  }
  if (spc === 0) return Promise.resolve();
  if (bindings === undefined) bindings = probeBindings();
  const client = ffiClient();
  if (!bindings || client === undefined) return Promise.reject(new Error('FFI capture is not available'));
  listen(client);

  if (source.queueSize > 0) trackPlayout(s, frame);

  const ptr = bindings.livekitRetrievePtr(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  writeRequest(s.ffiHandle.handle, ptr, frame);
  const res = bindings.livekitFfiRequest(req.subarray(0, pos));
  const asyncId = readAsyncId(res);
  if (asyncId === undefined) {
    bindings = null; // the protocol is not what this file knows: rtc-node's own method from now on
    const hex = Buffer.from(res).toString('hex');
    return Promise.reject(new Error(`unexpected FFI capture response ${hex}; fast capture turned off`));
  }
  return new Promise<void>((resolve, reject) => pending.set(asyncId, { resolve, reject }));
}

/** rtc-node's buffered-mode playout estimate, as its captureFrame keeps it. */
function trackPlayout(s: SourceInternals, frame: AudioFrame): void {
  const now = Number(process.hrtime.bigint() / 1000000n);
  const elapsed = s.lastCapture === 0 ? 0 : now - s.lastCapture;
  s.currentQueueSize = Math.max(s.currentQueueSize - elapsed, 0) + (frame.samplesPerChannel / frame.sampleRate) * 1000;
  s.lastCapture = now;
  if (s.timeout) clearTimeout(s.timeout);
  s.promise ??= new Promise<void>((resolve) => (s.resolvePromise = resolve));
  s.timeout = setTimeout(s.releaseWaiter, s.currentQueueSize);
}

function writeRequest(handle: bigint, ptr: bigint, frame: AudioFrame): void {
  // four one-byte tags plus their varint values
  const info =
    4 +
    varintLength(ptr) +
    varintLength(frame.channels) +
    varintLength(frame.sampleRate) +
    varintLength(frame.samplesPerChannel);
  const body = 1 + varintLength(handle) + 1 + varintLength(info) + info;
  pos = 0;
  req[pos++] = 0xda; // field 27 (capture_audio_frame), wire type 2: the tag is the varint 0xda 0x01
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
}

/** FfiResponse.capture_audio_frame (27) { async_id = 1 }: da 01 <len> 08 <varint>; undefined if not that. */
function readAsyncId(res: Uint8Array): bigint | undefined {
  if (res.length < 5 || res[0] !== 0xda || res[1] !== 0x01 || res[2] !== res.length - 3 || res[3] !== 0x08) {
    return undefined;
  }
  let id = 0n;
  for (let i = 4, shift = 0n; i < res.length; i++, shift += 7n) {
    const byte = res[i]!;
    id |= BigInt(byte & 127) << shift;
    if (byte < 128) return i === res.length - 1 ? id : undefined;
  }
  return undefined;
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
