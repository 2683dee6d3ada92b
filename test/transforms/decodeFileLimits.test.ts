/**
 * decodeFile against hostile files: impossible header rates, decode bombs, cut files, and destroy() mid-decode.
 * Each asserts a typed error (or a clean end), bounded memory in this process, and no decoder left running.
 */
import t from 'tap';
import fs from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { decodeFile, type DecodeFileOptions, type DecodeFileSource } from '../../transforms/decodeFile.js';
import { NativeDecoder } from '../../lib/decode/nativeDecoder.js';
import { probeContainer } from '../../lib/decode/containers/probe.js';

const dir = fileURLToPath(new URL('../fixtures/compressed/', import.meta.url));
const read = (name: string) => fs.readFileSync(`${dir}${name}`);
const MB = 1024 * 1024;

async function decode(
  source: DecodeFileSource,
  options?: DecodeFileOptions,
): Promise<{ samples: number; error?: Error & { code?: string } }> {
  let samples = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(f: { data: Int16Array }, _e, cb) {
      samples += f.data.length;
      cb();
    },
  });
  try {
    await pipeline(decodeFile(source, options), sink);
    return { samples };
  } catch (error) {
    return { samples, error: error as Error & { code?: string } };
  }
}

/** Child processes of this process (Linux /proc): a decoder left running shows here. */
function children(): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function noChildrenWithin(ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = children();
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
    left = children();
  }
  return left;
}

/** A WAV header declaring `rate` in front of `seconds` of 16-bit mono (at 8 kHz worth of bytes). */
function wavAt(rate: number, dataBytes: number, declared = dataBytes): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + declared, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * 2) % 2 ** 32, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(declared, 40);
  return Buffer.concat([h, Buffer.alloc(dataBytes, 1)]);
}

t.test('a header rate outside 1000..768000 Hz is refused before decoding (was: 1 Hz WAV → 4.9 GB)', async (t) => {
  const before = process.memoryUsage().rss;
  for (const rate of [1, 2, 999, 768001, 0xffffffff]) {
    const r = await decode(wavAt(rate, 53000));
    t.match(r.error, { name: 'UnsupportedFormatError', code: 'ERR_DECODE_RATE' }, `WAV at ${rate} Hz`);
    t.equal(r.samples, 0, `${rate} Hz: no frame`);
  }
  const flac = Buffer.from(read('tone.flac'));
  flac[18] = 0; // STREAMINFO sample rate (20 bits from byte 18): 44100 → 1572 − 0x0AC44 & 0x0FFFF … = a few Hz
  flac[19] = 0;
  flac[20] = (flac[20]! & 0x0f) | 0x10; // 1 Hz
  t.equal(probeContainer(flac).sampleRate, 1, 'the patched FLAC declares 1 Hz');
  t.match((await decode(flac)).error, { code: 'ERR_DECODE_RATE' }, 'FLAC at 1 Hz');
  t.ok(process.memoryUsage().rss - before < 64 * MB, 'memory stayed where it was');
  t.same(await noChildrenWithin(1000), [], 'no decoder was started');
});

t.test('decode bombs, native decoder: a declared length over maxDecodedBytes is refused up front', async (t) => {
  const bomb = read('silence-20min.flac'); // 206 KB → 20 min of 48 kHz stereo, 460 MB as float
  t.equal(probeContainer(bomb).samplesPerChannel, 1200 * 48000, 'the probe reads its length');
  const started = performance.now();
  const r = await decode(bomb, { maxDecodedBytes: 64 * MB, decoder: 'native' });
  t.match(r.error, { name: 'BufferOverflowError', code: 'ERR_DECODE_TOO_LONG' });
  t.match(
    r.error?.message,
    /460800000 bytes decoded, over maxDecodedBytes \(67108864\)/,
    'the message gives both sizes',
  );
  t.ok(performance.now() - started < 1000, 'at once, without decoding');
  t.match(
    (await decode(read('tone.mp3'), { maxDecodedBytes: 1000, decoder: 'native' })).error,
    { code: 'ERR_DECODE_TOO_LONG' },
    'MP3: the frame walk counts',
  );
  t.equal(
    (await decode(wavAt(8000, 64000), { sampleRate: 8000, maxDecodedBytes: 1000 })).samples,
    32000,
    'WAV streams: not limited by it',
  );
  t.match(
    (await decode(bomb, { decoder: 'native' })).error,
    { code: 'ERR_DECODE_TOO_LONG' },
    'the 20-minute bomb is refused by default (256 MiB)',
  );
  t.equal(
    (await decode(read('tone.mp3'), { maxDecodedBytes: 1000 })).samples,
    14400,
    'a streamed decode holds no decoded copy: not limited by it',
  );
});

t.test('a decoder whose memory passes the cap is killed: ERR_DECODE_TOO_LONG, this process unaffected', async (t) => {
  // NativeDecoder directly, as for a file whose header does not tell its length
  const before = process.memoryUsage().rss;
  const decoder = new NativeDecoder(read('silence-20min.flac'), { rate: 48000, maxDecodedBytes: 32 * MB });
  const started = performance.now();
  await t.rejects(decoder.format(), { name: 'BufferOverflowError', code: 'ERR_DECODE_TOO_LONG' });
  t.ok(performance.now() - started < 20000, `killed after ${(performance.now() - started).toFixed(0)} ms`);
  t.ok(process.memoryUsage().rss - before < 64 * MB, 'the decoded audio was never in this process');
  t.same(await noChildrenWithin(2000), [], 'the decoder process is gone');
});

t.test('destroy() mid-decode stops the decoder at once (was: RSS kept rising to 4.9 GB)', async (t) => {
  const dec = decodeFile(read('silence-20min.flac'), { maxDecodedBytes: 512 * MB, decoder: 'native' });
  dec.resume();
  await new Promise((r) => setTimeout(r, 150)); // decoding: the child is at work
  t.ok(children().length >= 1, 'a decoder process is running');
  dec.destroy();
  t.same(await noChildrenWithin(500), [], 'gone within 500 ms of destroy()');
  t.equal(dec.format, undefined, 'no format announced');
});

t.test('allowed a larger cap, the 20-minute file decodes natively with frames made as they are read', async (t) => {
  const dec = decodeFile(read('silence-20min.flac'), {
    sampleRate: 48000,
    maxDecodedBytes: 512 * MB,
    decoder: 'native',
  });
  let frames = 0;
  let peak = 0;
  const base = process.memoryUsage().rss;
  for await (const f of dec as AsyncIterable<{ data: Int16Array }>) {
    if (f.data.some((x) => x !== 0)) t.fail('silence decodes to silence');
    if (++frames % 10000 === 0) peak = Math.max(peak, process.memoryUsage().rss - base);
    if (frames === 30000) break; // 5 minutes in is enough: memory here is what a reader holds
  }
  t.equal(frames, 30000);
  // the 20 minutes decode to 460 MB of float: a reader holding it would grow by that much. The bound leaves room
  // for the allocator and GC timing under load (44–55 MB idle, 78 MB seen with another suite running alongside)
  t.ok(peak < 128 * MB, `this process grew by ${(peak / MB).toFixed(0)} MB (the decoded file is in the child)`);
  t.same(await noChildrenWithin(1000), [], 'breaking out of the loop destroyed the decoder');
});

t.test('streamed (the default for FLAC): the whole 20-minute bomb decodes in flat memory, no process', async (t) => {
  // What is *held* is measured after a full collection: the RSS peak is garbage-collection timing (16 MB on an idle
  // machine, 146 MB in CI beside other suites), not what the decode keeps
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // two collections with a turn of the event loop between: V8 frees array buffers' memory in tasks of its own
  const held = async () => {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    await new Promise((r) => setImmediate(r));
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const dec = decodeFile(read('silence-20min.flac'), { sampleRate: 48000, frameMs: 100 });
  const base = await held();
  const kept: number[] = [];
  let samples = 0;
  let frames = 0;
  let kids = 0;
  for await (const f of dec as AsyncIterable<{ data: Int16Array }>) {
    if (f.data.some((x) => x !== 0)) t.fail('silence decodes to silence');
    samples += f.data.length / 2;
    if (++frames % 2000 === 0) {
      kept.push((await held()) - base);
      kids = Math.max(kids, children().length);
    }
  }
  t.equal(dec.format?.decoder, 'streaming');
  t.equal(samples, 1200 * 48000, 'all 20 minutes, sample-exact');
  // 460 MB as float, 230 MB as int16 if it were held; every 200 s of audio decoded, what is held stays put
  const mb = kept.map((x) => (x / MB).toFixed(1)).join(', ');
  // (measured 10–15 MB, the wasm engine's memory mostly)
  t.ok(Math.max(...kept) < 32 * MB, `held after a GC, every 200 s of audio: ${mb} MB`);
  t.ok(kept.at(-1)! < kept[0]! + 8 * MB, 'and it does not grow with the audio decoded');
  t.equal(kids, 0, 'no decoder process');
});

t.test(
  'a cut file is ERR_DECODE_TRUNCATED before any frame, unless allowTruncated (was: shorter audio, no error)',
  async (t) => {
    const files = ['tone.mp3', 'tone.flac', 'tone.oga', 'tone.ogg', 'tone.aac', 'tone.m4a', 'stereo.wav'];
    const counts: Record<string, Record<string, number>> = {};
    for (const name of files) {
      const whole = read(name);
      const c: Record<string, number> = (counts[name] = {});
      // 12 cut points spread over the file, from inside the header to the last bytes
      const cuts = Array.from({ length: 12 }, (_, i) => Math.max(1, Math.round(((i + 0.5) / 12) * whole.length)));
      for (const cut of cuts) {
        const r = await decode(whole.subarray(0, cut));
        const outcome = r.error ? `${r.error.name}:${r.error.code}` : 'decoded';
        c[outcome] = (c[outcome] ?? 0) + 1;
        if (!r.error) t.fail(`${name} cut at ${cut} of ${whole.length} decoded as shorter audio`);
        else if (!/^(InvalidAudioError|UnsupportedFormatError):ERR_/.test(outcome))
          t.fail(`${name} cut at ${cut}: untyped ${outcome}`);
      }
      t.ok((c['InvalidAudioError:ERR_DECODE_TRUNCATED'] ?? 0) >= 10, `${name}: ${JSON.stringify(c)}`);
      const tail = whole.subarray(0, Math.round(whole.length * 0.75));
      const allowed = await decode(tail, { allowTruncated: true });
      if (name.endsWith('.oga')) {
        // Ogg FLAC goes to symphonia, which gives up on an Ogg stream with no end page: a typed error
        t.match(
          allowed.error,
          { name: 'InvalidAudioError', code: 'ERR_DECODE_FAILED', message: /end of stream/ },
          `${name}: allowTruncated, still an error`,
        );
        continue;
      }
      if (name.endsWith('.ogg')) {
        const native = await decode(tail, { allowTruncated: true, decoder: 'native' });
        t.match(native.error, { code: 'ERR_DECODE_FAILED' }, 'Ogg Vorbis, native: symphonia gives up too');
        // streamed: its 300 ms are one audio page, and a cut page decodes to nothing — typed, not silent
        t.match(allowed.error, { name: 'InvalidAudioError', code: 'ERR_DECODE_EMPTY' }, `${name}: nothing to salvage`);
        // with 20 ms pages, the pages before the cut decode
        const pages = read('stream-vorbis.ogg');
        const cut = await decode(pages.subarray(0, Math.round(pages.length * 0.75)), { allowTruncated: true });
        t.equal(cut.error, undefined, 'stream-vorbis.ogg cut at 75 %, allowTruncated: decodes what is there');
        t.ok(cut.samples > 0.6 * 88200 * 2, `${cut.samples / 2} of 88200 samples`);
        continue;
      }
      t.equal(allowed.error, undefined, `${name}: allowTruncated decodes the first 75 %`);
      t.ok(allowed.samples > 0, `${name}: ${allowed.samples} samples`);
    }
    t.same(await noChildrenWithin(1000), [], 'no decoder left');
  },
);
