/**
 * An Ogg stream's length from its page headers, page by page: what probeOgg reads from a whole file and the
 * streaming Ogg framer from bytes as they arrive.
 *
 * Every logical stream ends with an end-of-stream page whose granule position is its length in samples (Vorbis,
 * FLAC-in-Ogg; Opus counts its pre-skip too, RFC 7845 §4.2). A chained file (one logical stream after another
 * ended, as radio dumps are) adds up its links. A link captured from the middle of a live stream starts at a large
 * granule position, and its last granule is then not its length: so the played length is given only when every
 * Vorbis/Opus link starts at sample 0 — its first audio page's granule is no more than its packets can make
 * (Vorbis: half the long block each, Opus: 120 ms each).
 */
import { hasTag, u32le, type ContainerInfo } from './types.js';
import { readStreamInfo } from './flac.js';

/** What a page's 27-byte header and lacing values say. */
export interface OggPageHeader {
  flags: number;
  serial: number;
  /** undefined for −1 (all ones: no packet ends on this page). */
  granule: number | undefined;
  /** Packets that end on this page (lacing values under 255). */
  packetEnds: number;
}

interface Link {
  serial: number;
  /** Packets before the audio (Vorbis 3, Opus 2) and the most samples one audio packet can make, by codec. */
  headerPackets: number;
  maxPacketSamples: number | undefined;
  preSkip: number;
  packets: number;
  /** The last granule position seen. */
  granule: number | undefined;
  /** Decided at the first audio page. */
  startsAtZero: boolean | undefined;
}

/** The header of the Ogg page at `at` (27 bytes and its lacing values must be there). */
export function readPageHeader(b: Uint8Array, at: number): OggPageHeader & { bodyAt: number; bodyLength: number } {
  const segments = b[at + 26]!;
  const bodyAt = at + 27 + segments;
  let bodyLength = 0;
  let packetEnds = 0;
  for (let i = at + 27; i < bodyAt; i++) {
    bodyLength += b[i]!;
    if (b[i]! < 255) packetEnds++;
  }
  const lo = u32le(b, at + 6);
  const hi = u32le(b, at + 10);
  return {
    flags: b[at + 5]!,
    serial: u32le(b, at + 14),
    granule: hi === 0xffffffff && lo === 0xffffffff ? undefined : hi * 2 ** 32 + lo,
    packetEnds,
    bodyAt,
    bodyLength,
  };
}

export class OggLength {
  /** Logical streams begun and not yet ended. */
  readonly open = new Set<number>();
  /** Codec, rate and channels of the first link's identification header. */
  first: Partial<ContainerInfo> | undefined;
  #link: Link | undefined;
  #total = 0;
  #played = 0;
  #allStartAtZero = true;

  /** A page beginning a link must come with its body (`b` from `bodyAt`): its first packet names the codec. */
  page(page: OggPageHeader, b: Uint8Array, bodyAt: number): void {
    if (page.flags & 2 && this.open.size === 0) {
      this.#endLink();
      const header = codecHeader(b, bodyAt);
      this.first ??= header;
      this.#link = {
        serial: page.serial,
        packets: 0,
        granule: undefined,
        startsAtZero: undefined,
        ...packetLimits(b, bodyAt, header),
      };
    }
    if (page.flags & 2) this.open.add(page.serial);
    const link = this.#link;
    if (link && page.serial === link.serial) {
      link.packets += page.packetEnds;
      if (page.granule !== undefined) {
        link.granule = page.granule;
        const audioPackets = link.packets - link.headerPackets;
        if (link.startsAtZero === undefined && page.granule > 0 && link.maxPacketSamples !== undefined)
          link.startsAtZero = audioPackets > 0 && page.granule <= audioPackets * link.maxPacketSamples;
      }
    }
    if (page.flags & 4) this.open.delete(page.serial);
  }

  /** The length so far: every link's last granule, and the played length where it can be trusted. */
  get length(): Pick<ContainerInfo, 'samplesPerChannel' | 'playedSamplesPerChannel'> {
    const link = this.#link;
    const g = link?.granule ?? 0;
    const total = this.#total + g;
    if (total === 0) return {};
    const trusted = this.#allStartAtZero && (g === 0 || link?.startsAtZero === true);
    const played = this.#played + Math.max(0, g - (link?.preSkip ?? 0));
    return trusted ? { samplesPerChannel: total, playedSamplesPerChannel: played } : { samplesPerChannel: total };
  }

  #endLink(): void {
    const link = this.#link;
    if (!link) return;
    const g = link.granule ?? 0;
    this.#total += g;
    this.#played += Math.max(0, g - link.preSkip);
    this.#allStartAtZero &&= link.startsAtZero === true;
  }
}

/** Per codec: header packets, the most samples an audio packet makes, and Opus's pre-skip. */
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

/** Codec, rate and channels from the first packet of a link's first page. */
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
