/**
 * The long files the decode benchmark reads, made once with ffmpeg into the OS temp directory and kept there
 * (an hour of each format takes ffmpeg about a minute to encode). Speech-like enough for the codecs: a tone with
 * a little noise (MP3, Opus, Vorbis); FLAC gets the tone alone (noise does not compress: 100 MB an hour).
 * Without ffmpeg on the PATH the section is skipped with a failure line saying so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StreamFormat } from '../lib/decode/streaming/types.js';

export interface DecodeInput {
  format: StreamFormat;
  file: string;
  /** The file's sample rate (decodeFile's output rate, so no resampling is measured). */
  rate: number;
}

const SPECS: { format: StreamFormat; ext: string; rate: number; noise: boolean; codec: string[] }[] = [
  { format: 'mp3', ext: 'mp3', rate: 22050, noise: true, codec: ['-c:a', 'libmp3lame', '-b:a', '32k'] },
  { format: 'opus', ext: 'opus', rate: 48000, noise: true, codec: ['-c:a', 'libopus', '-b:a', '16k'] },
  { format: 'flac', ext: 'flac', rate: 16000, noise: false, codec: ['-c:a', 'flac'] },
  { format: 'vorbis', ext: 'ogg', rate: 22050, noise: true, codec: ['-c:a', 'libvorbis', '-q:a', '0'] },
];

export function decodeInputs(minutes: number, log: (msg: string) => void): DecodeInput[] | string {
  if (spawnSync('ffmpeg', ['-version']).status !== 0) return 'ffmpeg not found: the decode section needs it';
  const dir = path.join(os.tmpdir(), 'livekit-audio-bench-decode');
  mkdirSync(dir, { recursive: true });
  const out: DecodeInput[] = [];
  for (const s of SPECS) {
    const file = path.join(dir, `${s.format}-${minutes}min.${s.ext}`);
    if (!existsSync(file)) {
      log(`  encoding ${path.basename(file)} with ffmpeg`);
      const d = minutes * 60;
      const source = s.noise
        ? `sine=f=440:sample_rate=${s.rate}:d=${d}[a];anoisesrc=c=pink:r=${s.rate}:a=0.02:d=${d}[b];[a][b]amix=inputs=2`
        : `sine=f=440:sample_rate=${s.rate}:d=${d}`;
      const tmp = `${file}.part.${s.ext}`;
      const r = spawnSync('ffmpeg', [
        '-loglevel',
        'error',
        '-y',
        '-filter_complex',
        source,
        '-ac',
        '1',
        ...s.codec,
        tmp,
      ]);
      if (r.status !== 0) return `ffmpeg failed for ${s.format}: ${r.stderr.toString().slice(0, 300)}`;
      renameSync(tmp, file);
    }
    out.push({ format: s.format, file, rate: s.rate });
  }
  return out;
}
