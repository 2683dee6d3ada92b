/**
 * livekit-audio-pipeline — the public surface. Everything a user imports comes from here, by name: what is not
 * listed here is internal and may change.
 *
 *   await pipeline(fs.createReadStream('a.wav'), decodeWav(), resample({ sampleRate: 48000, channels: 1 }),
 *                  rechunk(), new LiveKitSink({ sampleRate: 48000, channels: 1 }));
 */
export {
  AudioPipelineError,
  BufferOverflowError,
  ConfigError,
  ConnectionError,
  ERROR_CODES,
  FrameFormatError,
  InvalidAudioError,
  UnsupportedFormatError,
  toError,
  type ErrorCode,
} from './lib/errors.js';
export { VirtualClock, realClock, settle, type Clock, type TimerHandle } from './lib/clock.js';
export {
  AudioFrame,
  checkFrame,
  concatSamples,
  createFrame,
  frameMs,
  ownedFrame,
  ownsBuffer,
  samplesIn,
  silentFrame,
} from './lib/frames.js';
export {
  framesMs,
  quantile,
  readableQueuedMs,
  totalBufferedMs,
  writableQueuedMs,
  type HoldsAudio,
} from './lib/stats.js';
export { loadSpeex, SpeexResampler, SPEEX_DEFAULT_QUALITY } from './lib/speex.js';
export { PolyphaseResampler } from './lib/polyphase/PolyphaseResampler.js';
export { createResampler, resamplerEngine, type Resampler } from './lib/resampler.js';
export {
  SAMPLE_ENCODINGS,
  SAMPLE_RATE_RANGE,
  MAX_CHANNELS,
  isAudioSampleRate,
  type SampleEncoding,
  mulawToInt16,
  alawToInt16,
  int16ToMulaw,
  int16ToAlaw,
} from './lib/formats.js';
export {
  DEFAULT_MAX_CATCH_UP_TICKS,
  DEFAULT_SLICE_MS,
  Pacer,
  sharedPacer,
  type PacerOptions,
  type PacerStats,
  type TickHandler,
} from './lib/pacer.js';
export {
  LoopbackRecorder,
  alignAudio,
  createLoopback,
  type AlignOptions,
  type AlignResult,
  type Loopback,
  type LoopbackOptions,
  type ReceivedChunk,
} from './room/loopback.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  connect,
  mintToken,
  publish,
  resolveCredentials,
  type ConnectCredentials,
  type ConnectOptions,
  type CredentialSources,
  type PublishOptions,
  type PublishTarget,
  type PublishedSink,
} from './room/publish.js';
export { RoomAudio, type RoomAudioOptions, type RoomAudioStats } from './room/roomAudio.js';
export {
  DecodeWav,
  MAX_HEADER_CHUNK_BYTES,
  decodeWav,
  type DecodeWavOptions,
  type WavFormatInfo,
} from './transforms/decodeWav.js';
export { DecodePcm, decodePcm, type DecodePcmOptions } from './transforms/decodePcm.js';
export { EncodePcm, encodePcm, type EncodePcmOptions } from './transforms/encodePcm.js';
export {
  DEFAULT_MAX_DECODED_BYTES,
  DecodeFile,
  decodeFile,
  sniffSampleRate,
  type DecodeFileOptions,
  type DecodeFileSource,
  type DecodedFileFormat,
} from './transforms/decodeFile.js';
export {
  DecodeStream,
  decodeStream,
  type DecodeStreamFormat,
  type DecodeStreamOptions,
  type DecodeStreamStats,
  type StreamFormat,
} from './transforms/decodeStream.js';
export { Resample, resample, type ResampleOptions } from './transforms/resample.js';
export { Rechunk, rechunk, type RechunkOptions, type RechunkStats, type RechunkTail } from './transforms/rechunk.js';
export {
  JitterBuffer,
  JitterCore,
  jitterBuffer,
  type JitterBufferOptions,
  type JitterInput,
  type JitterOptions,
  type JitterPacket,
  type JitterStats,
} from './transforms/jitterBuffer.js';
export {
  DEFAULT_QUEUE_SIZE_MS,
  LiveKitSink,
  type LiveKitSinkOptions,
  type LiveKitSinkStats,
} from './sinks/LiveKitSink.js';
export {
  LiveKitSource,
  DEFAULT_MAX_BUFFER_MS as LIVEKIT_SOURCE_MAX_BUFFER_MS,
  type LiveKitSourceOptions,
  type LiveKitSourceStats,
} from './sources/LiveKitSource.js';
export { WavFileSink, wavFileSink, type WavFileSinkOptions } from './sinks/WavFileSink.js';
export {
  createGateway,
  GATEWAY_LIMITS,
  GATEWAY_QUEUE_SIZE_MS,
  type Gateway,
  type GatewayOptions,
} from './gateway/server.js';
export type {
  GatewayConnection,
  ConnectionRecord,
  ConnectionSink,
  ConnectionInfo,
  SinkFactory,
  GatewayProtocol,
} from './gateway/connection.js';
export {
  CloseCode,
  ProtocolError,
  type CallEvent,
  type CallProtocol,
  type Outbound,
} from './gateway/protocols/protocol.js';
export { CallPlayback, INTERRUPTED, type PlaybackOptions, type PlaybackStats } from './gateway/playback.js';
export type { ListenTo } from './gateway/callSinks.js';
export {
  TwilioParser,
  /** @deprecated renamed TwilioParser (it parses messages; it is not a stream) */
  TwilioParser as TwilioStream,
  TWILIO_FORMAT,
  TwilioCall,
  type TwilioEvent,
  type TwilioStart,
  type TwilioStats,
} from './gateway/protocols/twilio.js';
export {
  RawPcmParser,
  /** @deprecated renamed RawPcmParser (it parses messages; it is not a stream) */
  RawPcmParser as RawPcmStream,
  pcmFormat,
  pcmFormatFromQuery,
  RawPcmCall,
  type PcmFormat,
  type RawPcmEvent,
} from './gateway/protocols/rawPcm.js';
export {
  startGatewayCluster,
  type GatewayCluster,
  type GatewayClusterOptions,
  type ClusterGatewayOptions,
  type ClusterConnectionRecord,
  type ClusterEvent,
} from './gateway/cluster.js';
