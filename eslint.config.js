// ESLint (flat config): typescript-eslint's recommended rules, and the floor plan — each folder imports only
// from the floors below it (docs/design.md, "Shape"):
//   lib ← transforms, sinks, sources (not each other) ← room ← gateway ← bin; index.ts on top of all.
import tseslint from 'typescript-eslint';

const INDEX_MESSAGE = 'index.ts is the public surface: import the module itself';

/**
 * An import of one of `dirs` (a top-level folder) or of the root index.ts, by relative path: static imports and
 * re-exports (no-restricted-imports), and dynamic `import()` of a literal path (no-restricted-syntax).
 */
function forbid(dirs, why) {
  const patterns = [];
  const dynamic = [];
  // in a selector's /regex/ a slash ends the regex: \x2F stands for it there
  const upTo = (tail, slash) => `^(\\.\\.${slash})+${tail}`;
  if (dirs.length > 0) {
    const tail = (slash) => `(${dirs.join('|')})(${slash}|$)`;
    patterns.push({ regex: upTo(tail('/'), '/'), message: why });
    dynamic.push({
      selector: `ImportExpression > Literal.source[value=/${upTo(tail('\\x2F'), '\\x2F')}/]`,
      message: why,
    });
  }
  patterns.push({ regex: upTo('index(\\.js)?$', '/'), message: INDEX_MESSAGE });
  dynamic.push({
    selector: `ImportExpression > Literal.source[value=/${upTo('index(\\.js)?$', '\\x2F')}/]`,
    message: INDEX_MESSAGE,
  });
  return { 'no-restricted-imports': ['error', { patterns }], 'no-restricted-syntax': ['error', ...dynamic] };
}

export const floors = [
  {
    files: ['lib/**/*.ts'],
    rules: forbid(
      ['transforms', 'sinks', 'sources', 'room', 'gateway', 'bin'],
      'lib/ is the ground floor: it imports nothing above it',
    ),
  },
  {
    files: ['transforms/**/*.ts'],
    rules: forbid(['sinks', 'sources', 'room', 'gateway', 'bin'], 'transforms/ stands on lib/ only'),
  },
  {
    files: ['sinks/**/*.ts'],
    rules: forbid(['transforms', 'sources', 'room', 'gateway', 'bin'], 'sinks/ stands on lib/ only'),
  },
  {
    files: ['sources/**/*.ts'],
    rules: forbid(['transforms', 'sinks', 'room', 'gateway', 'bin'], 'sources/ stands on lib/ only'),
  },
  { files: ['room/**/*.ts'], rules: forbid(['gateway', 'bin'], 'room/ stands on lib/, transforms/, sinks/, sources/') },
  { files: ['gateway/**/*.ts'], rules: forbid(['bin'], 'gateway/ is below bin/') },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.scratch/**',
      'bench/results/**',
      'out/**',
      '.tap/**',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      // unused names are errors, except the ones that say they are unused on purpose
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // the FFI layer and the WASM glue talk to untyped native objects; each `any` there is commented
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  ...floors,
);
