import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

t.test('livekit-audio --version prints the package version and exits 0', async (t) => {
  const run = (file: string, loader: string[]) =>
    promisify(execFile)(process.execPath, [...loader, file, '--version'], {
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    });
  const fromSource = await run('bin/livekit-audio.ts', ['--import=@tapjs/typescript/import']);
  t.equal(fromSource.stdout, `${pkg.version}\n`, 'from the source');
  if (!existsSync(`${root}dist/bin/livekit-audio.js`)) return void t.pass('no build to check (npm test builds first)');
  const built = await run('dist/bin/livekit-audio.js', []);
  t.equal(built.stdout, `${pkg.version}\n`, 'from the build');
});
