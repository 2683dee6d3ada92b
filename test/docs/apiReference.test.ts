/**
 * docs/api.md is generated from the types (scripts/api-reference.mjs): it must list what index.ts exports today.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

t.test('docs/api.md is current', (t) => {
  const run = spawnSync(process.execPath, ['scripts/api-reference.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  t.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  t.end();
});

t.test('every name index.ts exports has a section', (t) => {
  const api = readFileSync(resolve(root, 'docs/api.md'), 'utf8');
  const index = readFileSync(resolve(root, 'index.ts'), 'utf8');
  // the names after `export {` / `export type {` (aliases: the name after `as`)
  const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((x) => x.replace(/\/\*\*.*?\*\//gs, '').trim())
      .filter(Boolean)
      .map((x) =>
        x
          .replace(/^type /, '')
          .split(/\s+as\s+/)
          .pop()!
          .trim(),
      ),
  );
  t.ok(names.length > 100, `${names.length} exports`);
  const missing = names.filter((n) => !api.includes(`### \`${n}\``));
  t.same(missing, [], 'each has its ### heading');
  t.end();
});
