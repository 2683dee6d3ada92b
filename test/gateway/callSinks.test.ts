/**
 * The room side of two-way calls without a server: room-per-call naming (a caller's `room` parameter is checked,
 * never trusted as is), connect options that may subscribe when callers hear the room, and the minted grant.
 */
import t from 'tap';
import { hearing, roomPerCallNames } from '../../gateway/callSinks.js';
import type { ConnectionInfo } from '../../gateway/connection.js';
import { mintToken } from '../../room/publish.js';
import { ConfigError } from '../../lib/errors.js';

const creds = {
  url: 'ws://localhost:7880',
  apiKey: 'key',
  apiSecret: 'secret-secret-secret',
  roomName: 'r',
  identity: 'gw',
};
const call = (params: Record<string, unknown>): ConnectionInfo => ({
  id: 'ab12-7',
  protocol: 'twilio',
  format: { encoding: 'mulaw', sampleRate: 8000, channels: 1 },
  sampleRate: 8000,
  channels: 1,
  params,
});

t.test("room per call: the caller's room parameter when it is a plain name, else call-<id>", (t) => {
  const names = roomPerCallNames(true, creds)!;
  t.same(names(call({ room: 'support-42' })), { roomName: 'support-42', identity: 'caller-ab12-7' });
  for (const bad of ['', 'a/b', '../x', 'x'.repeat(65), 42, { toString: 1 }, null]) {
    t.equal(names(call({ room: bad })).roomName, 'call-ab12-7', `room ${JSON.stringify(bad)} is not used`);
  }
  t.equal(roomPerCallNames(false, creds), undefined, 'off: one shared room');
  const own = () => ({ roomName: 'x', identity: 'y' });
  t.equal(roomPerCallNames(own, creds), own, 'a function decides instead');
  t.throws(() => roomPerCallNames(true, { url: 'ws://x', token: 'a.b.c' }), ConfigError, 'a token is for one room');
  t.throws(() => roomPerCallNames(true, undefined), { code: 'ERR_GATEWAY_OPTIONS' });
  t.end();
});

t.test('hearing: subscribe only when callers hear the room', async (t) => {
  t.same(hearing(creds, 'none'), creds, 'one-way: a publisher needs no remote media');
  const h = hearing(creds, 'mix');
  t.match(h, { canSubscribe: true, roomOptions: { autoSubscribe: true } });
  const token = await mintToken({ ...(h as typeof creds & { canSubscribe: boolean }) });
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    video: { canSubscribe: boolean; canPublish: boolean; room: string };
  };
  t.match(claims.video, { canSubscribe: true, canPublish: true, room: 'r' });
  const publishOnly = await mintToken(creds);
  const c2 = JSON.parse(Buffer.from(publishOnly.split('.')[1]!, 'base64url').toString()) as {
    video: { canSubscribe: boolean };
  };
  t.equal(c2.video.canSubscribe, false);
});
