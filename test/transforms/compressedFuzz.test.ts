/**
 * Hostile compressed files through both ways in: decodeFile (streamed by default) and decodeStream. Seeded
 * mutations of real MP3, Opus, FLAC and Vorbis files — bytes overwritten, bits flipped, runs filled, stretches
 * copied elsewhere — must each end decoded or in a typed AudioPipelineError, never an untyped error, an escaped
 * exception or a hang. Found this way: a wasm engine that faults (memory access out of bounds) could not free
 * itself, and that RuntimeError replaced the typed error.
 */
import t from 'tap';
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { decodeStream } from '../../transforms/decodeStream.js';
import { decodeFile } from '../../transforms/decodeFile.js';
import { loadEngine } from '../../lib/decode/streaming/engines.js';
import type { StreamFormat } from '../../lib/decode/streaming/types.js';
import { AudioPipelineError } from '../../lib/errors.js';
import { prng } from '../helpers/prng.js';

const dir = fileURLToPath(new URL('../fixtures/compressed/', import.meta.url));
const FILES: Record<string, StreamFormat> = {
  'tone.mp3': 'mp3',
  'tone-8k.mp3': 'mp3',
  'stream.opus': 'opus',
  'tone.opus': 'opus',
  'tone.flac': 'flac',
  'stream.flac': 'flac',
  'tone.ogg': 'vorbis',
  'stream-vorbis.ogg': 'vorbis',
};
const MUTANTS = 40;

function mutate(orig: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(orig);
  const kind = Math.floor(rnd() * 4);
  const edits = 1 + Math.floor(rnd() * 20);
  for (let j = 0; j < edits; j++) {
    const at = Math.floor(rnd() * b.length);
    if (kind === 0) b[at] = Math.floor(rnd() * 256);
    else if (kind === 1) b[at]! ^= 1 << Math.floor(rnd() * 8);
    else if (kind === 2) b.fill(Math.floor(rnd() * 256), at, Math.min(b.length, at + Math.floor(rnd() * 64)));
    else b.copy(b, at, Math.floor(rnd() * b.length), Math.floor(rnd() * b.length));
  }
  return b;
}

const sink = () =>
  new Writable({
    objectMode: true,
    write(_f, _e, cb) {
      cb();
    },
  });

/** 'ok', an error code, or what went wrong ('UNTYPED …', 'HANG'). */
async function outcome(run: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<string>((r) => (timer = setTimeout(() => r('HANG'), 20_000)));
  try {
    return await Promise.race([run().then(() => 'ok'), hang]);
  } catch (e) {
    return e instanceof AudioPipelineError ? e.code : `UNTYPED ${String(e)}`;
  } finally {
    clearTimeout(timer);
  }
}

t.test(`${MUTANTS} mutants of each file: decoded or a typed error, through decodeFile and decodeStream`, async (t) => {
  // libopus prints a line to stderr for each corrupt packet it is given (not ours to silence): keep the log clean
  const error = console.error;
  console.error = () => {};
  t.teardown(() => (console.error = error));
  const rnd = prng(20261204);
  const seen: Record<string, number> = {};
  const bad: string[] = [];
  for (const [name, format] of Object.entries(FILES)) {
    const orig = fs.readFileSync(`${dir}${name}`);
    for (let i = 0; i < MUTANTS; i++) {
      const b = mutate(orig, rnd);
      const viaFile = await outcome(() => pipeline(decodeFile(b, { sampleRate: 48000 }), sink()));
      const viaStream = await outcome(() => pipeline(Readable.from([b]), decodeStream({ format }), sink()));
      for (const [how, o] of [
        ['decodeFile', viaFile],
        ['decodeStream', viaStream],
      ] as const) {
        seen[`${how} ${o}`] = (seen[`${how} ${o}`] ?? 0) + 1;
        if (o === 'HANG' || o.startsWith('UNTYPED')) bad.push(`${name} #${i} ${how}: ${o}`);
      }
    }
  }
  t.same(bad, [], `every outcome typed: ${JSON.stringify(seen)}`);
  t.ok(Object.keys(seen).length >= 6, 'the mutants reach several outcomes (decoded, truncated, failed, …)');
});

t.test('an engine whose free() throws (a faulted wasm instance) is freed quietly, once', async (t) => {
  let frees = 0;
  const faulted = async () => ({
    MPEGDecoder: class {
      ready = Promise.resolve();
      decode() {
        return { channelData: [], samplesDecoded: 0, sampleRate: 0, errors: [] };
      }
      free() {
        frees++;
        const { RuntimeError } = WebAssembly as unknown as { RuntimeError: ErrorConstructor };
        throw new RuntimeError('memory access out of bounds');
      }
    },
  });
  const engine = await loadEngine('mp3', faulted);
  t.doesNotThrow(() => engine.free());
  t.doesNotThrow(() => engine.free());
  t.equal(frees, 1);
});
