/**
 * One measurement in a fresh process (rtc-node's global state, the heap and the JIT start clean each time).
 * bench/main.ts spawns `node --expose-gc child.js --task=<task> ...` and reads the line starting with RESULT.
 */
import { runConcurrency } from './concurrency.js';
import { runThroughput } from './throughput.js';
import { runSoak } from './soak.js';
import { runStages } from './stages.js';
import { runCallers, runLoad, runRtt, runStall } from './twoWay.js';

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
    case 'twoway-callers':
      return runCallers(arg('url'), Number(arg('n')), Number(arg('seconds')));
    case 'twoway-rtt':
      return runRtt(arg('mode') as 'ours' | 'naive', Number(arg('seconds')), Number(arg('queue', '0')));
    case 'twoway-stall':
      return runStall(arg('mode') as 'raw' | 'source', Number(arg('seconds', '10')));
    case 'twoway-load':
      return runLoad(Number(arg('n')), Number(arg('seconds')));
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
