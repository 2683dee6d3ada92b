/**
 * Importing the package does not load what one feature needs: ws (the gateway's server), prom-client (its
 * metrics) and livekit-server-sdk (minting tokens) load when first used (docs/design.md has what it saves). This
 * file is its own process (tap runs each file apart), so the module cache starts empty.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import { dispose } from '@livekit/rtc-node';
import * as lap from '../../index.js';

const cache = createRequire(import.meta.url).cache;
const loaded = (pkg: string) => Object.keys(cache).some((k) => k.includes(`/node_modules/${pkg}/`));
const LAZY = ['ws', 'prom-client', 'livekit-server-sdk'];

t.teardown(() => dispose());

t.test('the index loads none of them; each loads on first use', async (t) => {
  t.same(
    LAZY.filter((p) => loaded(p)),
    [],
    'after import: not loaded',
  );
  const token = await lap.mintToken({ apiKey: 'k', apiSecret: 's'.repeat(32), roomName: 'r', identity: 'me' });
  t.equal(token.split('.').length, 3, 'a JWT');
  t.ok(loaded('livekit-server-sdk'), 'livekit-server-sdk: loaded to mint a token');
  t.notOk(loaded('ws'));
  const gw = lap.createGateway({ port: 0, logger: { info() {}, warn() {}, error() {} } });
  await gw.listen();
  t.ok(loaded('ws'), 'ws: loaded with the first gateway');
  t.ok(loaded('prom-client'), 'prom-client: loaded for its metrics');
  await gw.close();
});
