/**
 * Ogg: a run of pages, each with its own length. Every logical stream must end with an end-of-stream page; the
 * last page's granule position is the stream's length in samples (Vorbis and FLAC-in-Ogg).
 */
import { hasTag, u32le, type ContainerInfo } from './types.js';
import { readStreamInfo } from './flac.js';

export function probeOgg(b: Uint8Array): ContainerInfo | undefined {
  if (!hasTag(b, 0, 'OggS')) return undefined;
  const info: ContainerInfo = { kind: 'ogg' };
  const open = new Set<number>();
  let at = 0;
  let firstPage = true;
  let granule: number | undefined;
  let firstSerial: number | undefined;
  while (at < b.length) {
    if (at + 27 > b.length) return { ...info, truncated: `the input ends inside the page header at byte ${at}` };
    if (!hasTag(b, at, 'OggS')) {
      if (!firstPage && open.size === 0) break; // bytes after the last stream ended: not audio
      return { ...info, truncated: `no page where one should start, at byte ${at}` };
    }
    const flags = b[at + 5]!;
    const serial = u32le(b, at + 14);
    const segments = b[at + 26]!;
    const bodyStart = at + 27 + segments;
    if (bodyStart > b.length) return { ...info, truncated: `the input ends inside the page header at byte ${at}` };
    let body = 0;
    for (let i = at + 27; i < bodyStart; i++) body += b[i]!;
    if (bodyStart + body > b.length) return { ...info, truncated: `the page at byte ${at} runs past the end` };
    if (flags & 2) open.add(serial);
    if (firstPage) {
      firstSerial = serial;
      Object.assign(info, codecHeader(b, bodyStart));
      firstPage = false;
    }
    if (serial === firstSerial) {
      // Granule −1 (all ones): no packet ends on this page.
      const lo = u32le(b, at + 6);
      const hi = u32le(b, at + 10);
      if (hi !== 0xffffffff || lo !== 0xffffffff) granule = hi * 2 ** 32 + lo;
    }
    if (flags & 4) open.delete(serial);
    at = bodyStart + body;
  }
  if (granule !== undefined && granule > 0) info.samplesPerChannel = granule;
  if (open.size > 0) info.truncated = 'a logical stream has no end-of-stream page';
  return info;
}

/** Codec, rate and channels from the first packet of the first page. */
function codecHeader(b: Uint8Array, at: number): Partial<ContainerInfo> {
  if (hasTag(b, at, '\x01vorbis') && at + 16 <= b.length)
    return { codec: 'vorbis', channels: b[at + 11]!, sampleRate: u32le(b, at + 12) };
  if (hasTag(b, at, '\x7fFLAC') && hasTag(b, at + 9, 'fLaC')) {
    const s = readStreamInfo(b, at + 17);
    return s ? { codec: 'flac', channels: s.channels, sampleRate: s.sampleRate } : { codec: 'flac' };
  }
  if (hasTag(b, at, 'OpusHead') && at + 16 <= b.length)
    return { codec: 'opus', channels: b[at + 9]!, sampleRate: 48000 };
  if (hasTag(b, at, 'Speex   ')) return { codec: 'speex' };
  return {};
}
