import { AudioPipelineError } from '../../lib/errors.js';

/** The shape every CLI subcommand exports as its default. */
export interface Command {
  /** One line for `livekit-audio --help`. */
  summary: string;
  /** Full help text for `livekit-audio <command> --help`. */
  usage: string;
  /** Run with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** One line for a failure: the message, and the stable code of our own errors. */
export function describeError(e: unknown): string {
  if (e instanceof AudioPipelineError) return `${e.message} [${e.code}]`;
  return e instanceof Error ? e.message : String(e);
}
