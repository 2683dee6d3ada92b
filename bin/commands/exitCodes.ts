/**
 * The exit codes of every `livekit-audio` command, in one place (docs/getting-started.md, "The CLI", has the table):
 *
 *   0    ok: the loopback came back sample-exact, the file played out, the gateway stopped on a signal
 *   1    the run failed: the verdict is false (not sample-exact), the connection or the pipeline failed
 *   2    usage: bad or missing flags, credentials or URL (nothing was started)
 *   3    input: the input file is missing, unreadable or cannot be decoded
 *   130  interrupted (Ctrl-C)
 */
import { AudioPipelineError, ConfigError, ConnectionError } from '../../lib/errors.js';
import { InputFileError } from './inputFile.js';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  input: 3,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code for an error that ended a run (not an interrupt: the caller checks its signal first).
 * Decoder errors (ERR_WAV_*, ERR_DECODE_*: malformed, unsupported or too large audio) are input errors; options that no
 * flag check caught (a ConfigError, a malformed URL) are usage errors; everything else is a failed run.
 */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof InputFileError) return EXIT.input;
  // the decoders' codes describe the file; their _OPTIONS codes (and the WAV sink's) describe our call
  if (e instanceof AudioPipelineError && /^ERR_(WAV|DECODE)_(?!.*OPTIONS$)/.test(e.code)) return EXIT.input;
  if (e instanceof ConfigError) return EXIT.usage;
  if (e instanceof ConnectionError && e.code === 'ERR_CONNECT_URL') return EXIT.usage;
  return EXIT.failed;
}
