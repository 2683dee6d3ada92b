/**
 * What the cluster's primary (gateway/cluster.ts) and its workers (gateway/worker.ts) share: where a worker's
 * options travel, the names of their IPC messages, and the worker's entry file.
 */
import { fileURLToPath } from 'node:url';

/** The worker's gateway options, as JSON in its environment. */
export const OPTIONS_ENV = 'LIVEKIT_AUDIO_CLUSTER_OPTIONS';
/** The worker's slot (0..workers−1), kept across restarts: it names the worker's room identity. */
export const SLOT_ENV = 'LIVEKIT_AUDIO_CLUSTER_SLOT';
/** worker → primary: it listens for control messages now */
export const MSG_HELLO = 'livekit-audio:hello';
/** worker → primary: an ended connection's record */
export const MSG_RECORD = 'livekit-audio:record';
/** primary → worker: close the gateway and exit */
export const MSG_SHUTDOWN = 'livekit-audio:shutdown';

/** The worker's main module: its .js beside this file when built, its .ts when run from source (tests). */
export function workerEntry(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here));
}
