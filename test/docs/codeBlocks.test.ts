/**
 * Every TypeScript/JavaScript code block in README.md and docs/*.md either runs as written or says it is a fragment
 * (its fence reads ```ts fragment). A runnable block runs as a user would run it: in an empty app outside the repo
 * (a temp directory) where the packed package (`npm pack`, the repo's built dist/) is installed together with what
 * the docs tell the user to install (README's `npm install` line, plus any package a block imports that some doc
 * says to `npm install`; a block importing a package no doc mentions fails here). The app directory holds the
 * files the docs use (speech.wav, a.wav, call-8k.wav); each block is compiled (esbuild, types stripped), run by
 * node with the app as its cwd, and must exit 0 by itself within 30 s.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { buildWav } from '../helpers/wavBuilder.js';
import { packedApp, root } from '../helpers/packedApp.js';

const self = 'livekit-audio-pipeline';
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

/** The packages named by `npm install a b …` commands in `text`, one array per command (flags, versions left out). */
function installCommands(text: string): string[][] {
  return [...text.matchAll(/npm install((?:[ \t]+[-@a-z0-9][-\w@./]*)+)/g)].map(
    (m) =>
      m[1]!
        .trim()
        .split(/\s+/)
        .filter((p) => !p.startsWith('-'))
        .map((p) => p.replace(/(.)@.*$/, '$1')), // a version or tag: pino@9 → pino
  );
}

/** The packages a block imports (static, dynamic, require), builtins left out. */
function imports(code: string): string[] {
  const specs = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  );
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) =>
      s
        .split('/')
        .slice(0, s.startsWith('@') ? 2 : 1)
        .join('/'),
    );
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

// what the docs tell the user to install: README's install line always, any other documented package if a block
// imports it; the packed tarball stands in for the package itself
const readmeInstall = installCommands(readFileSync(join(root, 'README.md'), 'utf8'))[0] ?? [];
t.ok(readmeInstall.includes(self), `README.md says: npm install ${readmeInstall.join(' ')}`);
const documented = new Set(files.flatMap((f) => installCommands(readFileSync(join(root, f), 'utf8')).flat()));
const install = new Set(readmeInstall.filter((p) => p !== self));
for (const b of runnable) {
  for (const p of imports(b.code)) {
    if (p === self) continue;
    if (documented.has(p)) install.add(p);
    else t.fail(`${b.file}:${b.line} imports ${p}, which no README.md or docs/ page tells the user to npm install`);
  }
}

const app = packedApp(t, [...install], { prefix: 'doc-blocks-' }).dir;
writeFileSync(join(app, 'speech.wav'), sineWav(48000));
writeFileSync(join(app, 'a.wav'), sineWav(44100));
writeFileSync(join(app, 'call-8k.wav'), sineWav(8000));

const resolved = spawnSync(
  process.execPath,
  ['--input-type=module', '-e', `console.log(import.meta.resolve(${JSON.stringify(self)}))`],
  { cwd: app, encoding: 'utf8' },
);
t.match(
  resolved.stdout.trim(),
  `file://${join(app, 'node_modules', self)}/`,
  `the blocks import the packed package installed in the app (${[self, ...install].join(', ')}), not the repo`,
);

for (const b of runnable) {
  t.test(`${b.file}:${b.line} runs as written`, (t) => {
    const js = transformSync(b.code, { loader: 'ts', format: 'esm', target: 'node20' }).code;
    const path = join(app, `${b.file.replace(/[/.]/g, '_')}_${b.line}.mjs`);
    writeFileSync(path, js);
    const run = spawnSync(process.execPath, [path], {
      cwd: app,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, LIVEKIT_URL: '', NODE_ENV: 'production' },
    });
    t.equal(run.signal, null, 'exits by itself (no hang)');
    t.equal(run.status, 0, `exit code 0\n${run.stderr.slice(0, 2000)}`);
    t.end();
  });
}
