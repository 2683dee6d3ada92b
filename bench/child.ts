/**
 * One measurement in a fresh process (rtc-node's global state, the heap and the JIT start clean each time).
 * bench/main.ts spawns `node --expose-gc child.js --task=<task> ...` and reads the line starting with RESULT.
 */
// Each task's module is imported when it runs: a child loads only what it measures (the decode task's RSS
// baseline is then the decoders', not the gateway's and the load generators' too).
import type { StreamFormat } from '../lib/decode/streaming/types.js';

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
    case 'concurrency': {
      const { runConcurrency } = await import('./concurrency.js');
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
    }
    case 'throughput':
      return (await import('./throughput.js')).runThroughput({
        seconds: Number(arg('audio-seconds', '120')),
        repeats: Number(arg('repeats', '3')),
      });
    case 'stages':
      return (await import('./stages.js')).runStages({
        seconds: Number(arg('audio-seconds', '120')),
        repeats: Number(arg('repeats', '3')),
      });
    case 'soak':
      return (await import('./soak.js')).runSoak({ virtualMinutes: Number(arg('minutes', '60')) });
    case 'twoway-callers':
      return (await import('./twoWay.js')).runCallers(arg('url'), Number(arg('n')), Number(arg('seconds')));
    case 'twoway-rtt':
      return (await import('./twoWay.js')).runRtt(
        arg('mode') as 'ours' | 'naive',
        Number(arg('seconds')),
        Number(arg('queue', '0')),
      );
    case 'twoway-stall':
      return (await import('./twoWay.js')).runStall(arg('mode') as 'raw' | 'source', Number(arg('seconds', '10')));
    case 'twoway-load':
      return (await import('./twoWay.js')).runLoad(Number(arg('n')), Number(arg('seconds')));
    case 'decode':
      return (await import('./decode.js')).runDecode({
        file: arg('file'),
        format: arg('format') as StreamFormat,
        way: arg('way') as import('./decode.js').DecodeWay,
        sampleRate: Number(arg('rate')),
      });
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
