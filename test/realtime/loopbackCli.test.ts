/**
 * `livekit-audio loopback` as a user runs it, in real time: `--json` prints the report and nothing else on
 * stdout, and under artificial load (the event loop blocked 40 ms of every 100 ms) the recorder still waits
 * for every captured sample, so the verdict is sample-exact — for audio that starts with silence too (whose
 * last samples the old wait, counted from the first sound, never saw coming in direct mode).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dispose } from '@livekit/rtc-node';
import { createFrame } from '../../lib/frames.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import { runLoopback, type LoopbackJson, type LoopbackReport } from '../../bin/commands/loopback.js';
import { noise } from '../helpers/signals.js';

t.teardown(() => dispose());

const dir = t.testdir({});

/** 300 ms of silence, then 1.2 s of full-scale noise: 48 kHz mono. */
async function silenceThenNoise(): Promise<string> {
  const x = new Int16Array(72000);
  x.set(noise(48000, 1, 57600, 42).data, 14400);
  const path = join(dir, 'silence-then-noise.wav');
  await pipeline(Readable.from([createFrame(x, 48000, 1)]), new WavFileSink(path));
  return path;
}

/** Block the event loop `busyMs` of every `everyMs` until stopped; how often and how long it did. */
function loadEventLoop(busyMs: number, everyMs: number) {
  const blocks: number[] = [];
  const timer = setInterval(() => {
    const start = performance.now();
    while (performance.now() - start < busyMs);
    blocks.push(performance.now() - start);
  }, everyMs - busyMs);
  return {
    blocks,
    stop: () => clearInterval(timer),
  };
}

async function loopbackJson(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runLoopback([...args, '--json'], {
    out: { write: (s: string) => out.push(s) },
    err: { write: (s: string) => err.push(s), isTTY: false },
    signal: new AbortController().signal,
  });
  return { code, out: out.join(''), err: err.join('') };
}

for (const [mode, flags] of [
  ['direct', ['--direct']],
  ['buffered', ['--queue-ms', '200', '--prebuffer-ms', '200']],
] as const) {
  t.test(`${mode} mode under load: sample-exact, every sample awaited and received, one JSON report`, async (t) => {
    const file = await silenceThenNoise();
    const out = join(dir, `loaded-${mode}`);
    const load = loadEventLoop(40, 100);
    let r;
    try {
      r = await loopbackJson([file, '--out', out, ...flags]);
    } finally {
      load.stop();
    }
    const blocked = load.blocks.reduce((a, b) => a + b, 0);
    t.ok(load.blocks.length >= 12, `the event loop was blocked ${load.blocks.length} times, ${blocked.toFixed(0)} ms`);
    t.equal(r.code, 0, r.err);
    t.equal(r.out.split('\n').length, 2, 'one line on stdout');
    const report = JSON.parse(r.out) as LoopbackJson;
    t.match(report, { command: 'loopback', ok: true, exitCode: 0, sampleExact: true, durationMs: 1500 });
    t.equal(report.alignment.missing, 0);
    t.equal(report.alignment.mismatches, 0);
    t.same(
      { ...report.receive, waitedMs: 0 },
      {
        expectedSamples: 72000 - 14400,
        receivedSamples: 72000 - 14400,
        missingSamples: 0,
        complete: true,
        waitedMs: 0,
        deadlineMs: 2150,
      },
    );
    t.ok(
      report.receive.waitedMs < 1000,
      `the wait ended when the audio was in: ${report.receive.waitedMs.toFixed(1)} ms`,
    );
    t.equal(report.sink.samplesCaptured, 72000);
    t.equal(report.track.mode, mode);
    t.comment(
      `${mode}: wall ${report.wallMs.toFixed(0)} ms, underruns ${report.sink.underruns} (${report.sink.underrunMs.toFixed(0)} ms), ` +
        `receive wait ${report.receive.waitedMs.toFixed(1)} ms of ${report.receive.deadlineMs} ms`,
    );
    // the same report as DIR/report.json, without the fields every command's JSON starts with
    const { command, ok, exitCode, ...rest } = report;
    t.same([command, ok, exitCode], ['loopback', true, 0]);
    t.same(rest, JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as LoopbackReport);
  });
}

t.test(
  '--progress draws the line on a non-terminal stderr; --quiet prints nothing; the default nothing either',
  async (t) => {
    const file = await silenceThenNoise();
    const runWith = async (extra: string[], isTTY: boolean) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runLoopback([file, '--out', join(dir, 'progress'), '--direct', ...extra], {
        out: { write: (s: string) => out.push(s) },
        err: { write: (s: string) => err.push(s), isTTY },
        signal: new AbortController().signal,
      });
      return { code, out: out.join(''), err: err.join('') };
    };
    const forced = await runWith(['--progress', '--quiet'], false);
    t.equal(forced.code, 0);
    t.equal(forced.out, '', '--quiet: no report');
    const redraws = forced.err.split('\r').length - 1;
    t.ok(redraws >= 4 && redraws <= 8, `1.5 s of audio, 4 redraws a second and the last: ${redraws}`);
    t.match(forced.err, /\r\[#{30}\] 100% 1\.5 s \/ 1\.5 s {2}underruns \d+ *\n$/);
    const tty = await runWith([], true);
    t.match(tty.err, /\r\[/, 'a terminal gets it by default');
    t.match(tty.out, /sample-exact\s+yes/);
    t.match(tty.out, /received\s+all 57600 samples per channel/);
    const quiet = await runWith(['--quiet'], true);
    t.equal(quiet.err, '', '--quiet on a terminal: nothing');
    const piped = await runWith([], false);
    t.equal(piped.err, '', 'not a terminal: no progress');
  },
);
