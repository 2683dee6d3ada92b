/**
 * Every recipe in docs/recipes/ is a runnable program that imports the package by its name (the build in
 * dist/, as a user would) and exits non-zero when what it shows does not happen. Run each one.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, 'docs/recipes');
const recipes = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .sort();

t.ok(recipes.length >= 6, `found ${recipes.length} recipes`);
for (const name of recipes) {
  t.test(name, async (t) => {
    const run = spawnSync(process.execPath, [join(dir, name)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LIVEKIT_URL: '', LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '' },
    });
    t.equal(run.signal, null, 'exits by itself (no hang)');
    t.equal(run.status, 0, `exit code 0\n${run.stderr}`);
    t.match(run.stdout, /ok\b/i, 'prints its result');
  });
}
