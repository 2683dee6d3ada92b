/**
 * Ogg: a run of pages, each with its own length. Every logical stream must end with an end-of-stream page; the
 * last page's granule position is the stream's length in samples (Vorbis and FLAC-in-Ogg; Opus counts its
 * pre-skip too). A chained file (one logical stream after another ended, as radio dumps are) adds up its links.
 *
 * A link captured from the middle of a live stream starts at a large granule position, and its last granule is
 * then not its length. So the played length (playedSamplesPerChannel) is given only when every Vorbis/Opus link
 * starts at sample 0: its first audio page's granule is no more than its packets can make (Vorbis: half the long
 * block each, Opus: 120 ms each).
 */
import { hasTag, u32le, type ContainerInfo } from './types.js';
import { readStreamInfo } from './flac.js';

interface Link {
  serial: number;
  /** Packets before the audio (Vorbis 3, Opus 2) and the most samples one audio packet can make, by codec. */
  headerPackets: number;
  maxPacketSamples: number | undefined;
  preSkip: number;
  /** Packets completed so far. */
  packets: number;
  /** The last granule position seen. */
  granule: number | undefined;
  /** Decided at the first audio page. */
  startsAtZero: boolean | undefined;
}

export function probeOgg(b: Uint8Array): ContainerInfo | undefined {
  if (!hasTag(b, 0, 'OggS')) return undefined;
  const info: ContainerInfo = { kind: 'ogg' };
  const open = new Set<number>();
  let at = 0;
  let firstPage = true;
  let link: Link | undefined;
  let total = 0;
  let played = 0;
  let allStartAtZero = true;
  const endLink = () => {
    if (!link) return;
    const g = link.granule ?? 0;
    total += g;
    played += Math.max(0, g - link.preSkip);
    allStartAtZero &&= link.startsAtZero === true;
  };
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
    let packetEnds = 0;
    for (let i = at + 27; i < bodyStart; i++) {
      body += b[i]!;
      if (b[i]! < 255) packetEnds++;
    }
    if (bodyStart + body > b.length) return { ...info, truncated: `the page at byte ${at} runs past the end` };
    if (flags & 2 && open.size === 0) {
      endLink();
      const header = codecHeader(b, bodyStart);
      if (firstPage) Object.assign(info, header);
      link = { serial, packets: 0, granule: undefined, startsAtZero: undefined, ...packetLimits(b, bodyStart, header) };
    }
    if (flags & 2) open.add(serial);
    firstPage = false;
    if (link && serial === link.serial) {
      link.packets += packetEnds;
      // Granule −1 (all ones): no packet ends on this page.
      const lo = u32le(b, at + 6);
      const hi = u32le(b, at + 10);
      if (hi !== 0xffffffff || lo !== 0xffffffff) {
        const granule = hi * 2 ** 32 + lo;
        link.granule = granule;
        const audioPackets = link.packets - link.headerPackets;
        if (link.startsAtZero === undefined && granule > 0 && link.maxPacketSamples !== undefined)
          link.startsAtZero = audioPackets > 0 && granule <= audioPackets * link.maxPacketSamples;
      }
    }
    if (flags & 4) open.delete(serial);
    at = bodyStart + body;
  }
  endLink();
  if (total > 0) {
    info.samplesPerChannel = total;
    if (allStartAtZero && (info.codec === 'opus' || info.codec === 'vorbis')) info.playedSamplesPerChannel = played;
  }
  if (open.size > 0) info.truncated = 'a logical stream has no end-of-stream page';
  return info;
}

/** Per codec: header packets, the most samples an audio packet makes, and Opus's pre-skip (RFC 7845 §4.2). */
function packetLimits(
  b: Uint8Array,
  at: number,
  header: Partial<ContainerInfo>,
): Pick<Link, 'headerPackets' | 'maxPacketSamples' | 'preSkip'> {
  if (header.codec === 'vorbis' && at + 29 <= b.length)
    return { headerPackets: 3, maxPacketSamples: (1 << (b[at + 28]! >> 4)) / 2, preSkip: 0 };
  if (header.codec === 'opus' && at + 12 <= b.length)
    return { headerPackets: 2, maxPacketSamples: 5760, preSkip: b[at + 10]! | (b[at + 11]! << 8) };
  return { headerPackets: 0, maxPacketSamples: undefined, preSkip: 0 };
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
