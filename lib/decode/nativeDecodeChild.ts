/**
 * The process decodeFile's compressed audio is decoded in (node-web-audio-api's decodeAudioData, symphonia).
 * The native decode cannot be cancelled or bounded inside a process: it runs to the end on a native thread and
 * holds the whole decoded file. In a process of its own it can be killed the moment the stream is destroyed, and
 * its memory watched: past `maxRss` it exits with EXIT_MEMORY, and the parent reports ERR_DECODE_TOO_LONG.
 *
 * Protocol (fork IPC, advanced serialization, so typed arrays travel as they are):
 *   parent → child  { bytes: Uint8Array, rate, maxRss }   once, then { more: true } for each block it wants
 *   child → parent  { format: { length, channels } }, then { block: Int16Array } (interleaved) per request,
 *                   { end: true } after the last one; or { error: string } when decoding fails
 * Imports nothing from this package, so it starts fast under any loader.
 */
import { createRequire } from 'node:module';

const EXIT_MEMORY = 3;
/** Samples per channel per block: ~170 ms at 48 kHz. */
const BLOCK = 8192;

interface DecodedAudio {
  readonly length: number;
  readonly numberOfChannels: number;
  getChannelData(channel: number): Float32Array;
}
interface WebAudio {
  OfflineAudioContext: new (o: { numberOfChannels: number; length: number; sampleRate: number }) => {
    decodeAudioData(data: ArrayBuffer): Promise<DecodedAudio>;
  };
}
interface Start {
  bytes: Uint8Array;
  rate: number;
  maxRss: number;
}

const send = (m: object): void => void process.send!(m);

/** The same conversion as lib/formats.ts floatToInt16 (not imported: see above). */
function toInt16(x: number): number {
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
}

async function decode({ bytes, rate, maxRss }: Start): Promise<void> {
  // the decode runs on a native thread while this loop keeps ticking, so the watch sees memory as it grows
  setInterval(() => {
    if (process.memoryUsage.rss() > maxRss) process.exit(EXIT_MEMORY);
  }, 10).unref();
  const { OfflineAudioContext } = createRequire(import.meta.url)('node-web-audio-api') as WebAudio;
  let audio: DecodedAudio;
  try {
    const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: rate });
    audio = await ctx.decodeAudioData(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
  } catch (err) {
    send({ error: err instanceof Error ? err.message : String(err) });
    return;
  }
  const planes = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
  const ch = planes.length;
  send({ format: { length: audio.length, channels: ch } });
  let at = 0;
  process.on('message', (m: { more?: boolean }) => {
    if (!m.more) return;
    if (at >= audio.length) return send({ end: true });
    const n = Math.min(BLOCK, audio.length - at);
    const block = new Int16Array(n * ch);
    for (let c = 0; c < ch; c++) {
      const p = planes[c]!;
      for (let i = 0, j = at; i < n; i++, j++) block[i * ch + c] = toInt16(p[j]!);
    }
    at += n;
    send({ block });
  });
}

process.once('message', (m: Start) => void decode(m));
// the parent went away (destroyed, crashed): nothing left to decode for
process.on('disconnect', () => process.exit(0));
