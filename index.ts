/**
 * livekit-audio-pipeline — the public surface. Everything a user imports comes from here.
 *
 *   await pipeline(fs.createReadStream('a.wav'), decodeWav(), resample({ sampleRate: 48000, channels: 1 }),
 *                  rechunk(), new LiveKitSink({ sampleRate: 48000, channels: 1 }));
 */
export * from './lib/errors.js';
export * from './lib/clock.js';
export * from './lib/frames.js';
export * from './lib/stats.js';
export { loadSpeex, SpeexResampler, SPEEX_DEFAULT_QUALITY } from './lib/speex.js';
export { PolyphaseResampler } from './lib/polyphase/PolyphaseResampler.js';
export { createResampler, resamplerEngine, type Resampler } from './lib/resampler.js';
export {
  SAMPLE_ENCODINGS,
  type SampleEncoding,
  mulawToInt16,
  alawToInt16,
  int16ToMulaw,
  int16ToAlaw,
} from './lib/formats.js';
export * from './lib/pacer.js';
export * from './room/loopback.js';
export * from './room/publish.js';
export * from './transforms/decodeWav.js';
export * from './transforms/decodePcm.js';
export * from './transforms/decodeFile.js';
export * from './transforms/resample.js';
export * from './transforms/rechunk.js';
export * from './transforms/jitterBuffer.js';
export * from './sinks/LiveKitSink.js';
export * from './sinks/WavFileSink.js';
export { createGateway, GATEWAY_QUEUE_SIZE_MS, type Gateway, type GatewayOptions } from './gateway/server.js';
export type {
  GatewayConnection,
  ConnectionRecord,
  ConnectionSink,
  ConnectionInfo,
  SinkFactory,
  GatewayProtocol,
} from './gateway/connection.js';
export { CloseCode, ProtocolError } from './gateway/protocols/protocol.js';
export { TwilioStream, TWILIO_FORMAT, type TwilioEvent, type TwilioStart, type TwilioStats } from './gateway/protocols/twilio.js';
export { RawPcmStream, pcmFormat, pcmFormatFromQuery, type PcmFormat, type RawPcmEvent } from './gateway/protocols/rawPcm.js';
export {
  startGatewayCluster,
  type GatewayCluster,
  type GatewayClusterOptions,
  type ClusterGatewayOptions,
  type ClusterConnectionRecord,
  type ClusterEvent,
} from './gateway/cluster.js';
