/**
 * MP4 / M4A (ISO BMFF): a tree of boxes, each with its size. A top-level box that runs past the end is a cut
 * file; the sound track's `mdhd` gives its duration, its sample entry (`mp4a`, `alac`, …) rate and channels.
 */
import { hasTag, u16be, u32be, type ContainerInfo } from './types.js';

/** Boxes whose bodies are boxes, on the way to the sound track's sample description. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

interface Box {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

export function probeMp4(b: Uint8Array): ContainerInfo | undefined {
  if (!hasTag(b, 4, 'ftyp')) return undefined;
  const info: ContainerInfo = { kind: 'mp4' };
  const seen = new Set<string>();
  let at = 0;
  while (at < b.length) {
    const box = readBox(b, at, b.length);
    if (!box) return { ...info, truncated: `the input ends inside a box header at byte ${at}` };
    if (box.end > b.length) return { ...info, truncated: `the '${box.type}' box at byte ${at} runs past the end` };
    if (box.type === 'moov') readTracks(b, box, info);
    seen.add(box.type);
    at = box.end;
  }
  // Either may come first; a file that ends before both are there is cut.
  if (!seen.has('moov') || !seen.has('mdat'))
    info.truncated = `the input ends before the ${seen.has('moov') ? "'mdat'" : "'moov'"} box`;
  return info;
}

function readBox(b: Uint8Array, at: number, limit: number): Box | undefined {
  if (at + 8 > limit) return undefined;
  let size = u32be(b, at);
  let bodyStart = at + 8;
  if (size === 1) {
    if (at + 16 > limit) return undefined;
    size = u32be(b, at + 8) * 2 ** 32 + u32be(b, at + 12);
    bodyStart = at + 16;
  } else if (size === 0) size = limit - at; // to the end of the file
  if (size < bodyStart - at) size = Number.POSITIVE_INFINITY; // a size smaller than its own header: never ends
  return {
    type: String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!),
    start: at,
    bodyStart,
    end: at + size,
  };
}

/** The first sound track inside moov: duration from mdhd, rate/channels/codec from its first sample entry. */
function readTracks(b: Uint8Array, moov: Box, info: ContainerInfo): void {
  const tracks = children(b, moov).filter((t) => t.type === 'trak');
  for (const trak of tracks) {
    const mdia = children(b, trak).find((x) => x.type === 'mdia');
    if (!mdia) continue;
    const parts = children(b, mdia);
    const hdlr = parts.find((x) => x.type === 'hdlr');
    if (!hdlr || !hasTag(b, hdlr.bodyStart + 8, 'soun')) continue;
    const mdhd = parts.find((x) => x.type === 'mdhd');
    const stbl = children(
      b,
      parts.find((x) => x.type === 'minf'),
    ).find((x) => x.type === 'stbl');
    const stsd = children(b, stbl).find((x) => x.type === 'stsd');
    // stsd: version/flags (4), entry count (4), then the first AudioSampleEntry box.
    const entry = stsd ? readBox(b, stsd.bodyStart + 8, stsd.end) : undefined;
    if (entry && entry.bodyStart + 28 <= b.length) {
      info.codec = entry.type.trim();
      info.channels = u16be(b, entry.bodyStart + 16);
      info.sampleRate = u16be(b, entry.bodyStart + 24);
    }
    if (mdhd && mdhd.bodyStart + 32 <= b.length) {
      const v1 = b[mdhd.bodyStart] === 1;
      const timescale = u32be(b, mdhd.bodyStart + (v1 ? 20 : 12));
      const duration = v1
        ? u32be(b, mdhd.bodyStart + 24) * 2 ** 32 + u32be(b, mdhd.bodyStart + 28)
        : u32be(b, mdhd.bodyStart + 16);
      const rate = info.sampleRate ?? timescale;
      if (timescale > 0 && duration > 0 && duration < 2 ** 53 - 1)
        info.samplesPerChannel = Math.ceil((duration * rate) / timescale);
    }
    return;
  }
}

function children(b: Uint8Array, parent: Box | undefined): Box[] {
  if (!parent || !CONTAINERS.has(parent.type)) return [];
  const out: Box[] = [];
  const limit = Math.min(parent.end, b.length);
  for (let at = parent.bodyStart; at < limit;) {
    const box = readBox(b, at, limit);
    if (!box || box.end > limit) break;
    out.push(box);
    at = box.end;
  }
  return out;
}
