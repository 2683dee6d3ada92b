/**
 * The package as a user gets it: `npm pack` of the repo into a fresh temp directory, installed into an empty app
 * (a temp directory outside the repo, `"type": "module"`) with `npm install --prefer-offline --no-audit --no-fund`.
 *
 * The tarball is packed with --ignore-scripts: `prepack` would run a full `npm run build`, rewriting dist/ while
 * another test file (tap runs them in parallel) may be packing it. `npm test` builds dist/ before tap runs
 * (`npm run build:emit`), and that build is what gets packed; without it, packing fails with a clear error.
 * Nothing is written into the repo; every temp directory is removed in `t.teardown`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');

/** The part of a tap Test this helper uses. */
export interface Teardown {
  teardown(fn: () => void): void;
}

export interface Packed {
  /** Absolute path of the .tgz, in a temp directory of its own. */
  tarball: string;
  /** The paths inside the tarball, as `npm pack --json` lists them. */
  files: string[];
}

export interface App {
  /** The app directory (cwd for anything that should run as the app). */
  dir: string;
  /** What `npm install` printed: a clean install prints no warning. */
  stdout: string;
  stderr: string;
}

function tempDir(t: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function npm(args: string[], cwd: string): { stdout: string; stderr: string } {
  const run = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 240_000 });
  if (run.error) throw new Error(`npm ${args.join(' ')}: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited with ${run.status ?? run.signal}\n${run.stderr}`);
  }
  return { stdout: run.stdout, stderr: run.stderr };
}

/** `npm pack --ignore-scripts` of the repo's current dist/ into a fresh temp directory. */
export function packTarball(t: Teardown): Packed {
  for (const entry of ['dist/index.js', 'dist/cjs/index.js']) {
    if (!existsSync(join(root, entry))) {
      throw new Error(
        `${entry} is missing: build the package before packing it (\`npm run build:emit\`; \`npm test\` does that ` +
          `before tap). The tests pack with --ignore-scripts, so \`prepack\` does not build it for them.`,
      );
    }
  }
  const dest = tempDir(t, 'lap-pack-');
  const { stdout } = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dest], root);
  const packed = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(dest, packed[0]!.filename), files: packed[0]!.files.map((f) => f.path) };
}

/**
 * An empty app (`{ name, version, type: 'module' }`) in a fresh temp directory, with `tarball` and `packages`
 * installed; `npmArgs` go before them (e.g. `--install-strategy=linked`).
 */
export function installApp(
  t: Teardown,
  tarball: string,
  packages: string[] = [],
  { prefix = 'lap-app-', npmArgs = [] }: { prefix?: string; npmArgs?: string[] } = {},
): App {
  const dir = tempDir(t, prefix);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', type: 'module' }));
  const out = npm(['install', ...npmArgs, '--prefer-offline', '--no-audit', '--no-fund', tarball, ...packages], dir);
  return { dir, ...out };
}

/** Pack, then install the tarball and `packages` into an empty app: both in temp dirs removed at teardown. */
export function packedApp(t: Teardown, packages: string[] = [], options?: { prefix?: string }): App & Packed {
  const packed = packTarball(t);
  return { ...installApp(t, packed.tarball, packages, options), ...packed };
}
