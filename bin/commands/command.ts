import type { ErrorCode } from '../../lib/errorCodes.js';
import { AudioPipelineError, ConfigError } from '../../lib/errors.js';

/** The shape every CLI subcommand exports as its default. */
export interface Command {
  /** One line for `livekit-audio --help`. */
  summary: string;
  /** Full help text for `livekit-audio <command> --help`. */
  usage: string;
  /** Run with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** A non-negative integer argument (`--name N`), undefined when absent; a ConfigError `code` otherwise. */
export function intArg(name: string, value: string | undefined, code: ErrorCode): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(code, `--${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

/**
 * Ctrl-C (or the given signal, for tests) aborts the returned signal; `release()` removes the listener. A command
 * that sees it aborted says "interrupted" and exits 130.
 */
export function interruptible(given?: AbortSignal): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  // a signal aborted before the command started interrupts it at once ('abort' will not fire again)
  if (given?.aborted) abort.abort();
  else if (given) given.addEventListener('abort', onInterrupt, { once: true });
  else process.once('SIGINT', onInterrupt);
  return {
    signal: abort.signal,
    release: () => (given ? given.removeEventListener('abort', onInterrupt) : process.off('SIGINT', onInterrupt)),
  };
}

/**
 * Resolves when the given signal aborts (tests), or else on the first SIGINT or SIGTERM (both listeners then
 * removed): how a long-running command (the gateway) waits to be stopped.
 */
export function stopRequested(given?: AbortSignal): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    if (given) {
      // an AbortSignal aborted with the reason 'SIGTERM' stands for that signal (tests, embedders)
      const how = () => resolve(given.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
      if (given.aborted) how();
      else given.addEventListener('abort', how, { once: true });
      return;
    }
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The lines for bad arguments (exit 2): what was wrong, and where the options are. */
export function usageError(command: string, e: unknown): string {
  return `livekit-audio ${command}: ${(e as Error).message}\nRun \`livekit-audio ${command} --help\` for the options.`;
}

/** One line for a failure: the message, and the stable code of our own errors. */
export function describeError(e: unknown): string {
  if (e instanceof AudioPipelineError) return `${e.message} [${e.code}]`;
  return e instanceof Error ? e.message : String(e);
}

// The exit codes every command uses, and the input-file check that gives a missing file the same one everywhere.
export { EXIT, exitCodeFor, type ExitCode } from './exitCodes.js';
export { checkInputFile, InputFileError } from './inputFile.js';
