/**
 * The package as a user meets it: `npm pack`, installed into an empty app, driven through the public API
 * and the CLI. Dependencies come from the npm cache that `npm ci` filled (--prefer-offline).
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const app = mkdtempSync(join(tmpdir(), 'lap-app-'));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

t.test('npm pack produces a tarball that installs and runs in an empty app', async (t) => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', app], root)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = packed[0]!.files.map((f) => f.path);
  t.ok(files.includes('dist/index.js'), 'ships the compiled entry point');
  t.ok(files.includes('dist/index.d.ts'), 'ships type declarations');
  t.ok(files.includes('dist/bin/livekit-audio.js'), 'ships the CLI');
  t.notOk(
    files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')),
    'ships no tests',
  );

  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', type: 'module' }));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(app, packed[0]!.filename)], app);

  writeFileSync(
    join(app, 'use.mjs'),
    `
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { decodeWav, rechunk, resample, resamplerEngine, AudioFrame, AudioPipelineError, InvalidAudioError } from 'livekit-audio-pipeline';

// a 25 ms 48 kHz mono WAV → exact 10 ms frames
const n = 1200;
const wav = Buffer.alloc(44 + n * 2);
wav.write('RIFF', 0); wav.writeUInt32LE(36 + n * 2, 4); wav.write('WAVE', 8);
wav.write('fmt ', 12); wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22);
wav.writeUInt32LE(48000, 24); wav.writeUInt32LE(96000, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
wav.write('data', 36); wav.writeUInt32LE(n * 2, 40);
for (let i = 0; i < n; i++) wav.writeInt16LE(i, 44 + 2 * i);
const sizes = [];
await pipeline(Readable.from([wav]), decodeWav(), rechunk(), new Writable({ objectMode: true,
  write(f, _e, cb) { sizes.push(f.samplesPerChannel); cb(); } }));
let bad;
try { await pipeline(Readable.from([Buffer.from('not a wav file at all, sorry')]), decodeWav(), new Writable({ objectMode: true, write(_f, _e, cb) { cb(); } })); }
catch (e) { bad = e; }
// 44.1 kHz stereo → 48 kHz mono through the polyphase kernel (its WASM ships inside the package)
const stereo = new Int16Array(2 * 4410).fill(1000);
let resampled = 0;
await pipeline(Readable.from([new AudioFrame(stereo, 44100, 2, 4410)]), resample({ sampleRate: 48000, channels: 1 }),
  new Writable({ objectMode: true, write(f, _e, cb) { resampled += f.samplesPerChannel; cb(); } }));
console.log(JSON.stringify({ resampled, engine: resamplerEngine(44100, 48000), sizes, badIsTyped: bad instanceof InvalidAudioError && bad instanceof AudioPipelineError, code: bad?.code }));
`,
  );
  const run = spawnSync('node', ['use.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
  t.same(out.sizes, [480, 480, 480], 'three exact 10 ms frames, the last padded');
  t.equal(out.engine, 'polyphase', 'the installed package resamples 44.1 → 48 kHz on the polyphase kernel');
  t.equal(out.resampled, 4800, '100 ms of 44.1 kHz stereo → exactly 4800 samples of 48 kHz mono');
  t.equal(out.badIsTyped, true, 'malformed input is a typed error from the installed package');

  const help = spawnSync(join(app, 'node_modules/.bin/livekit-audio'), ['--help'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /loopback/);
  t.match(help.stdout, /gateway/);
  t.ok(readdirSync(join(app, 'node_modules/livekit-audio-pipeline/dist')).length > 0);
});
