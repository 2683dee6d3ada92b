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
export { loadSpeex, SpeexResampler } from './speex.js';
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
