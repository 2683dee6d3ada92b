#!/usr/bin/env node
/**
 * `npm run bench` — compile the benchmark suite (bench/*.ts and the library it measures) with the project's
 * TypeScript, then run it. Plain JS so it works on a fresh clone after `npm ci`, with no build step first and
 * no change to package.json. The compiled files go to node_modules/.cache (never committed, never packed).
 *
 *   npm run bench                      # the full suite (≈ 8–10 min on 2 cores), writes bench/results/
 *   npm run bench -- --quick           # a smoke run of every section (≈ 2 min), writes bench/results/partial.tmp
 *   npm run bench -- --only=throughput,memory
 *   npm run bench -- --n=25,100 --seconds=10 --modes=naive,ours
 *   npm run bench -- --compile-only
 *
 * Only the full default run writes bench/results/latest.{json,md} and the plots; a run with any of --quick,
 * --only, --n, --modes, --seconds writes bench/results/partial.tmp (ignored by git) instead.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'node_modules', '.cache', 'livekit-audio-bench');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The entry points; tsc follows their imports into lib/, transforms/, sinks/.
const entries = [
  'bench/main.ts',
  'bench/child.ts',
  'lib/types/speex-resampler-wasm.d.ts',
  'lib/types/webassembly.d.ts',
];
const compilerOptions = [
  '--target',
  'ES2022',
  '--module',
  'NodeNext',
  '--moduleResolution',
  'NodeNext',
  '--lib',
  'ES2023',
  '--types',
  'node',
  '--strict',
  '--esModuleInterop',
  '--skipLibCheck',
  '--noImplicitOverride',
  '--rootDir',
  root,
  '--outDir',
  outDir,
  '--declaration',
  'false',
  '--sourceMap',
  'false',
];

const t0 = Date.now();
const built = spawnSync(process.execPath, [tsc, ...compilerOptions, ...entries], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) {
  console.error(`bench: TypeScript compilation failed (exit ${built.status})`);
  process.exit(1);
}
console.error(`bench: compiled in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(root, outDir)}`);
if (process.argv.includes('--compile-only')) process.exit(0);

process.env.BENCH_ROOT = root;
process.env.BENCH_BUILD = outDir;
await import(pathToFileURL(path.join(outDir, 'bench', 'main.js')).href);
