/**
 * Child process for test/transforms/decodeFile.test.ts: decode the file named in argv[2] (with the decoder named in
 * argv[3], default 'auto') and print its frame count and format. It never calls process.exit: if anything decodeFile uses kept the event loop alive, this process would
 * not end and the parent's timeout would fail the test.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeFile } from '../../transforms/decodeFile.js';

let frames = 0;
const dec = decodeFile(process.argv[2]!, { decoder: (process.argv[3] ?? 'auto') as 'auto' | 'native' });
await pipeline(
  dec,
  new Writable({
    objectMode: true,
    write(_f, _e, cb) {
      frames++;
      cb();
    },
  }),
);
console.log(JSON.stringify({ frames, format: dec.format }));
