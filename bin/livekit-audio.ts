#!/usr/bin/env node
/**
 * livekit-audio — command-line front end. Each subcommand lives in bin/commands/<name>.ts and exports
 * `{ summary, usage, run(args) }`; this file only dispatches and prints help. Exit codes: bin/commands/exitCodes.ts.
 */
import { readFileSync } from 'node:fs';
import type { Command } from './commands/command.js';
import { EXIT } from './commands/exitCodes.js';

// rtc-node prints debug lines on stdout unless NODE_ENV is production; our stdout carries reports and stats.
process.env.NODE_ENV ??= 'production';

const commands: Record<string, () => Promise<Command>> = {
  loopback: async () => (await import('./commands/loopback.js')).default,
  publish: async () => (await import('./commands/publish.js')).default,
  gateway: async () => (await import('./commands/gateway.js')).default,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const lines = ['livekit-audio — get audio into LiveKit rooms from Node streams', '', 'Commands:'];
    for (const [n, load] of Object.entries(commands)) lines.push(`  ${n.padEnd(10)} ${(await load()).summary}`);
    lines.push(
      '',
      'Run `livekit-audio <command> --help` for the options of one command; `livekit-audio --version`.',
      'loopback and publish take --json (one JSON report on stdout; the gateway logs JSON lines anyway).',
      'Exit codes: 0 ok, 1 the run failed, 2 bad invocation, 3 input file missing, unreadable or undecodable,',
      '130 interrupted.',
    );
    // no command at all is a usage error: the help goes to stderr then, so that stdout stays empty
    (name === undefined ? process.stderr : process.stdout).write(lines.join('\n') + '\n');
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`livekit-audio: unknown command '${name}'. Try --help.\n`);
    return EXIT.usage;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.usage + '\n');
    return EXIT.ok;
  }
  return cmd.run(rest);
}

/** This package's version: its package.json is one folder up from the source, two from dist/bin. */
function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'livekit-audio-pipeline' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`livekit-audio: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
