/**
 * The shapes shared by the streaming decoders (transforms/decodeStream.ts): which formats there are, what a
 * wasm engine hands back, and what a container walker (framer) tells about the bytes before any decoding.
 */

/** Compressed formats decodeStream reads: MP3 (MPEG audio layers 1–3), Ogg Opus, native FLAC, Ogg Vorbis. */
export type StreamFormat = 'mp3' | 'opus' | 'flac' | 'vorbis';

export const STREAM_FORMATS: readonly StreamFormat[] = ['mp3', 'opus', 'flac', 'vorbis'];

/** Human names for messages. */
export const FORMAT_NAMES: Record<StreamFormat, string> = {
  mp3: 'MP3',
  opus: 'Ogg Opus',
  flac: 'FLAC',
  vorbis: 'Ogg Vorbis',
};

/** One call's output: float planes (one per channel, `samplesDecoded` long each). */
export interface DecodedBlock {
  channelData: Float32Array[];
  samplesDecoded: number;
  /** Only meaningful when samplesDecoded > 0 (the Vorbis engine reports junk otherwise). */
  sampleRate: number;
  /** Bits per sample of the source (FLAC only: its floats are scaled by it, see interleave.ts). */
  bitDepth?: number;
  /** What the engine complained about (corrupt frames it skipped, a cut last frame). */
  errors: { message: string }[];
}

/** A loaded wasm decoder: feed bytes as they come, flush at the end, free to release its memory. */
export interface Engine {
  decode(bytes: Uint8Array): Promise<DecodedBlock>;
  /** What the engine still holds once the input has ended. */
  flush(): Promise<DecodedBlock>;
  /** Release the wasm instance; idempotent. */
  free(): void;
}

/**
 * A streaming walk over a container's structure, run beside the engine: it checks that the bytes are the
 * declared format (fast, with a typed error, where the engine would silently skip garbage), reads the rate and
 * channels from the headers, and at the end tells a cut stream from a complete one — which the engines do not.
 * It copies at most a few KiB (headers waiting to be complete); frame bodies are skipped, not held.
 */
export interface Framer {
  /** From the headers, once seen (the engine's own figures win for the frames). */
  readonly sampleRate: number | undefined;
  readonly channels: number | undefined;
  /** Leading metadata seen so far (ID3v2 tag, FLAC metadata blocks, Ogg header pages): not "input without audio". */
  readonly headerBytes: number;
  /**
   * Absolute input offset the engine should start decoding at, once the framer has recognised the format (the
   * first MP3 frame, the "fLaC" marker, the first Ogg page); undefined before. Bytes before it are not fed to the
   * engine at all: mpg123 prints a line to stderr for every junk stretch it is given.
   */
  readonly audioStart: number | undefined;
  /** Bytes before this absolute offset are known not to start the audio (junk searched, a skipped ID3v2 tag). */
  readonly scanned: number;
  /** Walk the next bytes of input; throws an AudioPipelineError when they cannot be this format. */
  push(bytes: Uint8Array): void;
  /**
   * The input has ended after `decodedSamples` samples per channel came out: why the stream is cut short, or
   * undefined when it ends where its container says it ends. Throws when it held no audio of this format at all.
   */
  end(decodedSamples: number): string | undefined;
}
