/**
 * The floor plan is enforced by lint (eslint.config.js): each folder imports only from the floors below it. Here
 * the rule itself is checked — an import from a higher floor, or across transforms ↔ sinks, is an error; an
 * import downward is not — with ESLint's API on code placed (virtually) in each folder.
 */
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
// the project's own config, named (not looked up): the file names below are virtual, only their folders count
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });

const FLOOR_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

/** The messages ESLint gives `code` as if it were the file `filePath` (nothing is read from or written to disk). */
async function lint(filePath: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages;
}

const cases: [file: string, from: string, allowed: boolean][] = [
  ['lib/x.ts', '../sinks/LiveKitSink.js', false],
  ['lib/jitter/x.ts', '../../transforms/rechunk.js', false],
  ['lib/x.ts', '../sources/LiveKitSource.js', false],
  ['lib/x.ts', '../room/publish.js', false],
  ['lib/x.ts', '../gateway/server.js', false],
  ['lib/x.ts', '../bin/livekit-audio.js', false],
  ['lib/x.ts', '../index.js', false],
  ['lib/x.ts', './frames.js', true],
  ['lib/decode/x.ts', '../errors.js', true],
  ['transforms/x.ts', '../sinks/LiveKitSink.js', false],
  ['transforms/x.ts', '../sources/LiveKitSource.js', false],
  ['transforms/x.ts', '../room/publish.js', false],
  ['transforms/x.ts', '../gateway/server.js', false],
  ['transforms/x.ts', '../lib/frames.js', true],
  ['transforms/x.ts', './rechunk.js', true],
  ['sinks/x.ts', '../transforms/rechunk.js', false],
  ['sinks/x.ts', '../sources/LiveKitSource.js', false],
  ['sinks/x.ts', '../lib/pacer.js', true],
  ['sources/x.ts', '../transforms/rechunk.js', false],
  ['sources/x.ts', '../sinks/LiveKitSink.js', false],
  ['sources/x.ts', '../lib/frames.js', true],
  ['room/x.ts', '../gateway/server.js', false],
  ['room/x.ts', '../bin/livekit-audio.js', false],
  ['room/x.ts', '../sinks/LiveKitSink.js', true],
  ['room/x.ts', '../transforms/rechunk.js', true],
  ['gateway/x.ts', '../bin/livekit-audio.js', false],
  ['gateway/protocols/x.ts', '../../bin/livekit-audio.js', false],
  ['gateway/x.ts', '../room/publish.js', true],
  ['gateway/protocols/x.ts', '../../lib/errors.js', true],
  ['bin/x.ts', '../gateway/server.js', true],
];

for (const [file, from, allowed] of cases) {
  t.test(`${file} importing ${from}: ${allowed ? 'allowed' : 'an error'}`, async (t) => {
    const forms = {
      import: `import * as m from '${from}';\nexport const used = m;\n`,
      're-export': `export { x } from '${from}';\n`,
      'type import': `import type * as m from '${from}';\nexport type Used = typeof m;\n`,
      'dynamic import': `export const load = () => import('${from}');\n`,
    };
    for (const [form, code] of Object.entries(forms)) {
      const messages = await lint(file, code);
      if (allowed) {
        // a good import passes the whole config, not only the floor rules
        t.same(messages, [], `${form}: no lint messages`);
      } else {
        t.ok(
          messages.some((m) => m.severity === 2 && FLOOR_RULES.has(m.ruleId ?? '')),
          `${form}: refused by the floor rule`,
        );
      }
    }
  });
}
