/**
 * One measurement in a fresh process (rtc-node's global state, the heap and the JIT start clean each time).
 * bench/main.ts spawns `node --expose-gc child.js --task=<task> ...` and reads the line starting with RESULT.
 */
import { runConcurrency } from './concurrency.js';
import { runThroughput } from './throughput.js';
import { runSoak } from './soak.js';
import { runStages } from './stages.js';

function arg(name: string, fallback?: string): string {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (hit) return hit.slice(name.length + 3);
  if (fallback === undefined) throw new Error(`missing --${name}=`);
  return fallback;
}

let reported = false;

async function main(): Promise<unknown> {
  const task = arg('task');
  switch (task) {
    case 'concurrency':
      await runConcurrency(
        {
          mode: arg('mode'),
          n: Number(arg('n')),
          seconds: Number(arg('seconds')),
          warmupSeconds: Number(arg('warmup', '3')),
        },
        (result) => {
          reported = true;
          process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
        },
      );
      return undefined;
    case 'throughput':
      return runThroughput({ seconds: Number(arg('audio-seconds', '120')), repeats: Number(arg('repeats', '3')) });
    case 'stages':
      return runStages({ seconds: Number(arg('audio-seconds', '120')), repeats: Number(arg('repeats', '3')) });
    case 'soak':
      return runSoak({ virtualMinutes: Number(arg('minutes', '60')) });
    default:
      throw new Error(`unknown task ${task}`);
  }
}

main().then(
  (result) => {
    if (reported) process.exit(0);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
