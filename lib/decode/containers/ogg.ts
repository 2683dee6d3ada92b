/**
 * Ogg: a run of pages, each with its own length; every logical stream must end with an end-of-stream page. The
 * length comes from the granule positions (oggLength.ts); a cut is a page that runs past the end, bytes where a
 * page should start, or a logical stream with no end page.
 */
import { hasTag, type ContainerInfo } from './types.js';
import { OggLength, readPageHeader } from './oggLength.js';

export function probeOgg(b: Uint8Array): ContainerInfo | undefined {
  if (!hasTag(b, 0, 'OggS')) return undefined;
  const length = new OggLength();
  const info = (): ContainerInfo => ({ kind: 'ogg', ...length.first });
  let at = 0;
  while (at < b.length) {
    if (at + 27 > b.length) return { ...info(), truncated: `the input ends inside the page header at byte ${at}` };
    if (!hasTag(b, at, 'OggS')) {
      if (at > 0 && length.open.size === 0) break; // bytes after the last stream ended: not audio
      return { ...info(), truncated: `no page where one should start, at byte ${at}` };
    }
    if (at + 27 + b[at + 26]! > b.length)
      return { ...info(), truncated: `the input ends inside the page header at byte ${at}` };
    const page = readPageHeader(b, at);
    if (page.bodyAt + page.bodyLength > b.length)
      return { ...info(), truncated: `the page at byte ${at} runs past the end` };
    length.page(page, b, page.bodyAt);
    at = page.bodyAt + page.bodyLength;
  }
  const result: ContainerInfo = { ...info(), ...length.length };
  if (result.codec !== 'opus' && result.codec !== 'vorbis') delete result.playedSamplesPerChannel;
  if (length.open.size > 0) result.truncated = 'a logical stream has no end-of-stream page';
  return result;
}
