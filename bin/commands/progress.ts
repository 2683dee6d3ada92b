/**
 * The progress line of long CLI runs (loopback, publish): seconds of audio given to the sink out of the total,
 * and the sink's underruns so far, redrawn in place with `\r` on stderr. Only on a terminal (or with
 * `--progress`), never with `--quiet`. `renderProgress` is pure; `startProgress` redraws it on a Clock.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';

export interface ProgressState {
  /** Audio given to the sink so far (the sink's `msCaptured`). */
  elapsedMs: number;
  /** The whole input, when its header says (undefined for a WAV stream of unknown length). */
  totalMs: number | undefined;
  /** The sink's `underruns` so far. */
  underruns: number;
}

/** Width of the bar between the brackets. */
const BAR = 30;

/** `[#####-----]  17%  5.0 s / 30.0 s  underruns 0` (no bar nor percentage when the total is unknown). */
export function renderProgress(s: ProgressState): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const tail = `underruns ${s.underruns}`;
  if (s.totalMs === undefined || !(s.totalMs > 0)) return `${secs(s.elapsedMs)}  ${tail}`;
  const frac = Math.min(1, Math.max(0, s.elapsedMs / s.totalMs));
  const filled = Math.round(frac * BAR);
  const bar = '#'.repeat(filled) + '-'.repeat(BAR - filled);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `[${bar}] ${pct} ${secs(Math.min(s.elapsedMs, s.totalMs))} / ${secs(s.totalMs)}  ${tail}`;
}

/** At most 4 redraws a second: a terminal does not need more, and each is a write on the event loop. */
export const PROGRESS_INTERVAL_MS = 250;

export interface ProgressTicker {
  /** Draw the final state, end the line, and stop. Idempotent. */
  stop(): void;
}

/**
 * Redraw `read()` every `intervalMs` on `clock` as `\r<line>` (padded over a longer previous line); `stop()`
 * draws the last state and ends the line.
 */
export function startProgress(opts: {
  read: () => ProgressState;
  write: (s: string) => unknown;
  clock: Clock;
  intervalMs?: number;
}): ProgressTicker {
  const interval = opts.intervalMs ?? PROGRESS_INTERVAL_MS;
  let previous = 0;
  let timer: TimerHandle | undefined;
  let stopped = false;
  const draw = () => {
    const line = renderProgress(opts.read());
    opts.write(`\r${line.padEnd(previous)}`);
    previous = line.length;
  };
  const tick = () => {
    draw();
    timer = opts.clock.setTimeout(tick, interval);
  };
  timer = opts.clock.setTimeout(tick, interval);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) opts.clock.clearTimeout(timer);
      draw();
      opts.write('\n');
    },
  };
}

/** `--progress` forces the line on, `--quiet` turns it off, and otherwise a terminal on stderr decides. */
export function progressWanted(
  flags: { quiet: boolean; progress: boolean },
  stderrIsTTY: boolean | undefined,
): boolean {
  if (flags.progress) return true;
  if (flags.quiet) return false;
  return stderrIsTTY === true;
}

/** The input's duration from a decoder's 'format' event (decodeWav: the data chunk's size; decodeFile: durationMs). */
export function durationFromFormat(f: {
  sampleRate: number;
  blockAlign?: number;
  dataBytes?: number | undefined;
  durationMs?: number;
}): number | undefined {
  if (f.durationMs !== undefined) return f.durationMs;
  if (f.dataBytes !== undefined && f.blockAlign) return (f.dataBytes / f.blockAlign / f.sampleRate) * 1000;
  return undefined;
}
