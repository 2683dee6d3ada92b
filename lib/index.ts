/**
 * livekit-audio-pipeline — the public surface. Everything a user imports comes from here.
 *
 *   await pipeline(fs.createReadStream('a.wav'), decodeWav(), resample({ sampleRate: 48000, channels: 1 }),
 *                  rechunk(), new LiveKitSink({ sampleRate: 48000, channels: 1 }));
 */
export * from './errors.js';
export * from './clock.js';
export * from './frames.js';
export * from './stats.js';
export { loadSpeex, SpeexResampler, SPEEX_DEFAULT_QUALITY } from './speex.js';
export { PolyphaseResampler } from './polyphase/PolyphaseResampler.js';
export { createResampler, resamplerEngine, type Resampler } from './resampler.js';
export {
  SAMPLE_ENCODINGS,
  type SampleEncoding,
  mulawToInt16,
  alawToInt16,
  int16ToMulaw,
  int16ToAlaw,
} from './formats.js';
export * from './pacer.js';
export * from './loopback.js';
export * from './publish.js';
export * from '../transforms/decodeWav.js';
export * from '../transforms/decodePcm.js';
export * from '../transforms/decodeFile.js';
export * from '../transforms/resample.js';
export * from '../transforms/rechunk.js';
export * from '../transforms/jitterBuffer.js';
export * from '../sinks/LiveKitSink.js';
export * from '../sinks/WavFileSink.js';
export { createGateway, GATEWAY_QUEUE_SIZE_MS, type Gateway, type GatewayOptions } from './gateway/server.js';
export type {
  GatewayConnection,
  ConnectionRecord,
  ConnectionSink,
  ConnectionInfo,
  SinkFactory,
  GatewayProtocol,
} from './gateway/connection.js';
export { CloseCode, ProtocolError } from './gateway/protocol.js';
export { TwilioStream, TWILIO_FORMAT, type TwilioEvent, type TwilioStart, type TwilioStats } from './gateway/twilio.js';
export { RawPcmStream, pcmFormat, pcmFormatFromQuery, type PcmFormat, type RawPcmEvent } from './gateway/rawPcm.js';
export {
  startGatewayCluster,
  type GatewayCluster,
  type GatewayClusterOptions,
  type ClusterGatewayOptions,
  type ClusterConnectionRecord,
  type ClusterEvent,
} from './gateway/cluster.js';
