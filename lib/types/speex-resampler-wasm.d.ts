// The package ships an Emscripten ES module with no typings; this is the part we use.
declare module '@echogarden/speex-resampler-wasm/simd' {
  const factory: () => Promise<SpeexWasmModule>;
  export default factory;
}
declare module '@echogarden/speex-resampler-wasm' {
  const factory: () => Promise<SpeexWasmModule>;
  export default factory;
}
interface SpeexWasmModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_init_frac(
    channels: number,
    num: number,
    den: number,
    inRate: number,
    outRate: number,
    quality: number,
    errPtr: number,
  ): number;
  _speex_resampler_destroy(st: number): void;
  _speex_resampler_process_interleaved_int(
    st: number,
    inPtr: number,
    inLenPtr: number,
    outPtr: number,
    outLenPtr: number,
  ): number;
  _speex_resampler_set_rate_frac(st: number, num: number, den: number, inRate: number, outRate: number): number;
  _speex_resampler_get_input_latency(st: number): number;
  _speex_resampler_get_output_latency(st: number): number;
  _speex_resampler_skip_zeros(st: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_strerror(err: number): number;
}
