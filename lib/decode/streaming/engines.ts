/**
 * The wasm engines, one optional package per format (the wasm-audio-decoders family, MIT): loaded on first use
 * with a dynamic import, so a user who never decodes Opus never installs its package. A missing package is an
 * UnsupportedFormatError ERR_DECODE_UNAVAILABLE that names the package to install.
 */
import { UnsupportedFormatError } from '../../errors.js';
import { FORMAT_NAMES, type DecodedBlock, type Engine, type StreamFormat } from './types.js';

/** The npm package each format decodes with (optional peer dependencies of this package). */
export const ENGINE_PACKAGES: Record<StreamFormat, string> = {
  mp3: 'mpg123-decoder',
  opus: 'ogg-opus-decoder',
  flac: '@wasm-audio-decoders/flac',
  vorbis: '@wasm-audio-decoders/ogg-vorbis',
};

/** What the packages' decoder classes have in common (mpg123 decodes synchronously and has no flush). */
interface WasmDecoder {
  ready: Promise<void>;
  decode(bytes: Uint8Array): DecodedBlock | Promise<DecodedBlock>;
  flush?: () => Promise<DecodedBlock>;
  free(): void;
}

/** Each package's export: the class, constructed with the options that suit a stream. */
const CONSTRUCT: Record<StreamFormat, (mod: Record<string, unknown>) => WasmDecoder> = {
  mp3: (m) => new (m.MPEGDecoder as new (o: object) => WasmDecoder)({ enableGapless: true }),
  opus: (m) => new (m.OggOpusDecoder as new (o: object) => WasmDecoder)({ forceStereo: false }),
  flac: (m) => new (m.FLACDecoder as new () => WasmDecoder)(),
  vorbis: (m) => new (m.OggVorbisDecoder as new () => WasmDecoder)(),
};

const NOTHING: DecodedBlock = { channelData: [], samplesDecoded: 0, sampleRate: 0, errors: [] };

/** How a module is imported: a parameter so tests can stand in for a package that is not installed. */
export type Importer = (specifier: string) => Promise<Record<string, unknown>>;

const importPackage: Importer = (specifier) => import(specifier) as Promise<Record<string, unknown>>;

/** Whether `format`'s package can be imported here (the import is cached: decoding later loads nothing twice). */
export async function engineInstalled(format: StreamFormat, load: Importer = importPackage): Promise<boolean> {
  try {
    await load(ENGINE_PACKAGES[format]);
    return true;
  } catch {
    return false;
  }
}

/** A ready engine for `format`. */
export async function loadEngine(format: StreamFormat, load: Importer = importPackage): Promise<Engine> {
  const pkg = ENGINE_PACKAGES[format];
  let mod: Record<string, unknown>;
  try {
    mod = await load(pkg);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new UnsupportedFormatError(
        'ERR_DECODE_UNAVAILABLE',
        `decodeStream: ${FORMAT_NAMES[format]} decodes with the optional package ${pkg}, which is not installed — ` +
          `npm install ${pkg}`,
        { cause: err },
      );
    }
    throw new UnsupportedFormatError('ERR_DECODE_UNAVAILABLE', `decodeStream: loading ${pkg} failed: ${String(err)}`, {
      cause: err,
    });
  }
  let dec: WasmDecoder;
  try {
    dec = CONSTRUCT[format](mod);
    await dec.ready;
  } catch (err) {
    throw new UnsupportedFormatError(
      'ERR_DECODE_UNAVAILABLE',
      `decodeStream: ${pkg} did not start: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return wrap(dec);
}

function wrap(dec: WasmDecoder): Engine {
  let freed = false;
  return {
    decode: async (bytes) => dec.decode(bytes),
    flush: async () => (dec.flush ? dec.flush() : NOTHING),
    free: () => {
      if (freed) return;
      freed = true;
      try {
        dec.free();
      } catch {
        // a wasm instance that faulted (a memory access out of bounds on corrupt input, already reported as
        // ERR_DECODE_FAILED) can fail to free itself: it is garbage either way, and this must not mask that error
      }
    },
  };
}
