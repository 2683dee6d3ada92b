// ESLint (flat config): typescript-eslint's recommended rules, and the floor plan — each folder imports only
// from the floors below it (docs/design.md, "Layout"):
//   lib ← transforms, sinks, sources (not each other) ← room ← gateway ← bin; index.ts on top of all.
import tseslint from 'typescript-eslint';

/** An import of one of `dirs` (a top-level folder) or of the root index.ts, by relative path. */
function forbid(dirs, why) {
  const patterns = [];
  if (dirs.length > 0) {
    patterns.push({ regex: `^(\\.\\./)+(${dirs.join('|')})(/|$)`, message: why });
  }
  patterns.push({
    regex: '^(\\.\\./)+index(\\.js)?$',
    message: 'index.ts is the public surface: import the module itself',
  });
  return { 'no-restricted-imports': ['error', { patterns }] };
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
