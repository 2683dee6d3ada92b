/**
 * The process's open-files limit (RLIMIT_NOFILE, soft), which bounds how many calls one process can carry: each
 * call holds a socket and rtc-node's per-source descriptors. Node has no getrlimit; Linux shows it in
 * /proc/self/limits. Undefined where that cannot be read (other platforms) or the limit is "unlimited".
 */
import { readFileSync } from 'node:fs';

export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const soft = Number(m[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}
