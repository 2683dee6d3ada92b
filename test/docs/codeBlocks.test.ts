/**
 * Every TypeScript/JavaScript code block in README.md and docs/*.md either runs as written or says it is a fragment
 * (its fence reads ```ts fragment). A runnable block is compiled (esbuild, types stripped) and run by node against
 * the built package, imported by its name as an app would (the package's own exports map), in a directory holding
 * the files the docs use (speech.wav, a.wav, call-8k.wav); it must exit 0 by itself within 30 s.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { buildWav } from '../helpers/wavBuilder.js';

const root = resolve(import.meta.dirname, '../..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  file: string;
  line: number;
  info: string;
  code: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|js|mjs|typescript|javascript)\b(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    out.push({ file, line: start, info: open[2]!.trim(), code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

/** 0.5 s of a 440 Hz sine as 16-bit mono WAV at `rate`. */
function sineWav(rate: number): Buffer {
  const n = rate / 2;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 2 * i);
  return buildWav({ tag: 1, channels: 1, sampleRate: rate, bitsPerSample: 16, data });
}

const all = files.flatMap(blocks);
const runnable = all.filter((b) => !/\bfragment\b/.test(b.info));
t.ok(all.length >= 10, `${all.length} code blocks in README.md and docs/`);
t.ok(runnable.length >= 4, `${runnable.length} of them run as written; the rest are marked fragments`);

// compiled blocks live inside the package (for the self-reference 'livekit-audio-pipeline'), run from a data dir
const codeDir = join(root, '.scratch', 'doc-blocks');
mkdirSync(codeDir, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'doc-blocks-'));
writeFileSync(join(dataDir, 'speech.wav'), sineWav(48000));
writeFileSync(join(dataDir, 'a.wav'), sineWav(44100));
writeFileSync(join(dataDir, 'call-8k.wav'), sineWav(8000));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

for (const b of runnable) {
  t.test(`${b.file}:${b.line} runs as written`, (t) => {
    const js = transformSync(b.code, { loader: 'ts', format: 'esm', target: 'node20' }).code;
    const path = join(codeDir, `${b.file.replace(/[/.]/g, '_')}_${b.line}.mjs`);
    writeFileSync(path, js);
    const run = spawnSync(process.execPath, [path], {
      cwd: dataDir,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, LIVEKIT_URL: '', NODE_ENV: 'production' },
    });
    t.equal(run.signal, null, 'exits by itself (no hang)');
    t.equal(run.status, 0, `exit code 0\n${run.stderr.slice(0, 2000)}`);
    t.end();
  });
}
