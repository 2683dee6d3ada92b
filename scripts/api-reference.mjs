#!/usr/bin/env node
/**
 * docs/api.md from the types: every export of index.ts, grouped by the folder it comes from, with its kind, its
 * doc comment, and its signature (functions), constructor and members (classes, interfaces). Generated with the
 * TypeScript compiler's own API (the project's typescript), so it says what the declarations say.
 *
 *   node scripts/api-reference.mjs           # write docs/api.md
 *   node scripts/api-reference.mjs --check   # exit 1 if docs/api.md is not what the types say (CI)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'docs', 'api.md');
const FLOORS = ['lib', 'transforms', 'sinks', 'sources', 'room', 'gateway'];
const TITLES = {
  lib: 'Ground: errors, clock, frames, formats, engines',
  transforms: 'Transforms',
  sinks: 'Sinks',
  sources: 'Sources',
  room: 'Rooms and the loopback',
  gateway: 'The gateway',
};

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(root, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => undefined,
  },
);
const program = ts.createProgram([path.join(root, 'index.ts')], config.options);
const checker = program.getTypeChecker();
const index = program.getSourceFile(path.join(root, 'index.ts'));
const moduleSymbol = checker.getSymbolAtLocation(index);

/** The first paragraph of a symbol's doc comment, on one line. */
function doc(symbol) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const deprecated = symbol.getJsDocTags(checker).find((t) => t.name === 'deprecated');
  const first = text.split(/\n\s*\n/)[0].replace(/\s+/g, ' ');
  return deprecated ? `**Deprecated**: ${ts.displayPartsToString(deprecated.text)}${first ? ` ${first}` : ''}` : first;
}

function kindOf(symbol) {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Variable) return 'const';
  return 'export';
}

const cell = (s) => {
  const one = s.replace(/\s+/g, ' ');
  return (one.length > 240 ? one.slice(0, 237) + '…' : one).replace(/\|/g, '\\|');
};
const typeText = (type, node) =>
  checker.typeToString(
    type,
    node,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope,
  );

/** Public members of a class or interface: name, type, first doc line. */
function members(symbol, decl) {
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  const rows = [];
  for (const m of checker.getPropertiesOfType(type)) {
    if (m.name.startsWith('#') || m.name.startsWith('_')) continue;
    const md = m.valueDeclaration ?? m.declarations?.[0];
    // members inherited from Node's streams and EventEmitter are theirs to document
    const from = md?.getSourceFile().fileName ?? '';
    if (from.includes('node_modules')) continue;
    const mods = md ? ts.getCombinedModifierFlags(md) : 0;
    if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    const t = checker.getTypeOfSymbolAtLocation(m, decl);
    const sigs = t.getCallSignatures();
    const written = md && 'type' in md && md.type ? md.type.getText() : undefined;
    const shown =
      sigs.length && md && (ts.isMethodDeclaration(md) || ts.isMethodSignature(md))
        ? sigs
            .map((s) => `(${s.parameters.map((p) => p.name).join(', ')}) → ${typeText(s.getReturnType(), decl)}`)
            .join('; ')
        : (written ?? typeText(t, decl));
    const optional = m.flags & ts.SymbolFlags.Optional ? '?' : '';
    rows.push(`| \`${m.name}${optional}\` | \`${cell(shown)}\` | ${cell(doc(m))} |`);
  }
  return rows;
}

function section(name, symbol) {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const decl = target.valueDeclaration ?? target.declarations?.[0];
  const where = path.relative(root, decl.getSourceFile().fileName);
  const file = where.includes('node_modules') ? '@livekit/rtc-node (re-exported)' : where;
  const kind = kindOf(target);
  const lines = [
    `### \`${name}\``,
    '',
    `${kind} · \`${file}\`${name !== target.name ? ` · alias of \`${target.name}\`` : ''}`,
    '',
  ];
  const d = doc(symbol) || doc(target);
  if (d) lines.push(d, '');
  if (kind === 'function') {
    const type = checker.getTypeOfSymbolAtLocation(target, decl);
    for (const s of type.getCallSignatures())
      lines.push('```ts fragment', `${name}${checker.signatureToString(s, decl)}`, '```', '');
  } else if (kind === 'class') {
    const ctorType = checker.getTypeOfSymbolAtLocation(target, decl);
    for (const s of ctorType.getConstructSignatures()) {
      lines.push(
        '```ts fragment',
        `new ${name}${checker.signatureToString(s, decl).replace(/: [^:]*$/, '')}`,
        '```',
        '',
      );
    }
  } else if (kind === 'const') {
    lines.push(`\`${cell(typeText(checker.getTypeOfSymbolAtLocation(target, decl), decl))}\``, '');
  } else if (kind === 'type') {
    lines.push(`\`${cell(typeText(checker.getDeclaredTypeOfSymbol(target), decl))}\``, '');
  }
  if (kind === 'class' || kind === 'interface') {
    const rows = members(target, decl);
    if (rows.length) lines.push('| member | type | |', '|---|---|---|', ...rows, '');
  }
  return { file, lines };
}

const exports = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name));
const byFloor = new Map(FLOORS.map((f) => [f, []]));
for (const e of exports) {
  const s = section(e.name, e);
  const floor = s.file.split(path.sep)[0];
  (byFloor.get(floor) ?? byFloor.get('lib')).push(s);
}

const out = [
  '# API reference',
  '',
  `Every export of \`livekit-audio-pipeline\` (${exports.length}), generated from the type declarations by`,
  '`node scripts/api-reference.mjs` (CI checks it is current). Guides: [getting started](getting-started.md) and the',
  'topic pages linked from the README.',
  '',
  ...FLOORS.map(
    (f) =>
      `- [${TITLES[f]}](#${TITLES[f]
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-')}) (${byFloor.get(f).length})`,
  ),
  '',
];
for (const f of FLOORS) {
  out.push(`## ${TITLES[f]}`, '');
  for (const s of byFloor.get(f)) out.push(...s.lines);
}
const text =
  out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd() + '\n';

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: not current
  }
  if (current !== text) {
    console.error('docs/api.md is not what the types say: run `node scripts/api-reference.mjs`');
    process.exit(1);
  }
  console.log(`docs/api.md is current (${exports.length} exports)`);
} else {
  writeFileSync(target, text);
  console.log(`docs/api.md: ${exports.length} exports`);
}
