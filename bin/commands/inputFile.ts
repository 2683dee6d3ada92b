/** The CLI's input-file check: before anything starts, so a missing file is the same error (exit 3) everywhere. */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/** The input file could not be opened (missing, a directory, no permission). */
export class InputFileError extends Error {
  readonly path: string;
  /** The system's code (ENOENT, EACCES…), or ENOTFILE for a directory or a device. */
  readonly code: string;
  constructor(path: string, code: string, cause?: unknown) {
    super(`cannot read '${path}' (${code})`, { cause });
    this.name = 'InputFileError';
    this.path = path;
    this.code = code;
  }
}

/** Resolves when `path` is a readable regular file; an InputFileError otherwise. */
export async function checkInputFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new InputFileError(path, 'ENOTFILE');
    await access(path, constants.R_OK);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(path, (e as NodeJS.ErrnoException).code ?? 'EIO', e);
  }
}
