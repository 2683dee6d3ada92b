/**
 * `--json`: a command prints one JSON document on stdout — its report, or what went wrong — and nothing else
 * there (human lines go to stderr or are left out). The fields common to every command come first.
 */
import { AudioPipelineError } from '../../lib/errors.js';
import type { ExitCode } from './exitCodes.js';
import { InputFileError } from './inputFile.js';

export interface JsonHead {
  command: string;
  /** exitCode === 0. */
  ok: boolean;
  /** What the process exits with (bin/commands/exitCodes.ts). */
  exitCode: ExitCode;
}

export interface JsonFailure extends JsonHead {
  /** The message, and a stable code: ours (ERR_…), the system's for an input file (ENOENT, EACCES…), else null. */
  error: { message: string; code: string | null };
}

/** JSON with Infinity spelled out (an exact loopback's SNR), not turned into null. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), indent);
}

/** The report (or failure) as one line on `out`. */
export function writeJson(out: { write(s: string): unknown }, value: JsonHead): void {
  out.write(toJson(value) + '\n');
}

export function failureJson(command: string, exitCode: ExitCode, e: unknown): JsonFailure {
  return {
    command,
    ok: false,
    exitCode,
    error: {
      message: e instanceof Error ? e.message : String(e),
      code: e instanceof AudioPipelineError || e instanceof InputFileError ? e.code : null,
    },
  };
}

/** `--json` anywhere in the arguments, so that even a usage error is answered in JSON. */
export function wantsJson(args: readonly string[]): boolean {
  return args.includes('--json');
}
