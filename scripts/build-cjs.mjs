#!/usr/bin/env node
/**
 * The CommonJS build: the same sources as the ESM build (tsc → dist/), transpiled file by file by esbuild into
 * dist/cjs/ (a package.json there says "commonjs"), with the .d.ts files copied next to them so that a
 * `require()` consumer gets CommonJS-flavoured types. Two things ESM has and CommonJS does not are bridged:
 * `import.meta.url` becomes the file's own URL (a one-line banner), and dynamic `import()` stays a real dynamic
 * import (it works from CommonJS, and our ESM-only dependencies need it). The CLI stays ESM only.
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const floors = ['lib', 'transforms', 'sinks', 'sources', 'room', 'gateway'];
const out = join(root, 'dist', 'cjs');

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'types' ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

const entryPoints = [join(root, 'index.ts'), ...floors.flatMap((f) => sources(join(root, f)))];
await build({
  entryPoints,
  outdir: out,
  outbase: root,
  bundle: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  supported: { 'dynamic-import': true },
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');

// the declarations tsc wrote for the ESM build, next to the CommonJS files
for (const f of entryPoints) {
  const rel = relative(root, f).replace(/\.ts$/, '.d.ts');
  mkdirSync(dirname(join(out, rel)), { recursive: true });
  cpSync(join(root, 'dist', rel), join(out, rel));
}
console.error(`build-cjs: ${entryPoints.length} files → ${relative(root, out)}`);
