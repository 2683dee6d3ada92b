/**
 * Runtime dependencies are exactly what the runtime code imports: every package imported from lib/, transforms/,
 * sinks/, sources/, room/, gateway/, bin/ or index.ts is a dependency or a peer, and every dependency is imported.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The package a specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative and builtin ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const files = [
  join(root, 'index.ts'),
  ...['lib', 'transforms', 'sinks', 'sources', 'room', 'gateway', 'bin'].flatMap((d) => sources(join(root, d))),
];
const imported = new Set<string>();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const p = packageOf(m[1]!);
    if (p) imported.add(p);
  }
}

t.test('every package the runtime imports is declared', (t) => {
  const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
  t.same([...imported].filter((p) => !declared.has(p)).sort(), [], `imported: ${[...imported].sort().join(', ')}`);
  t.end();
});

t.test('every dependency is imported by runtime code (types packages: for the public declarations)', (t) => {
  const unused = Object.keys(pkg.dependencies).filter((d) => !imported.has(d) && !d.startsWith('@types/'));
  t.same(unused, []);
  t.end();
});
