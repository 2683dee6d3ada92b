/**
 * The floor plan is enforced by lint (eslint.config.js): each folder imports only from the floors below it. Here
 * the rule itself is checked — an import from a higher floor, or across transforms ↔ sinks, is an error; an
 * import downward is not — with ESLint's API on code placed (virtually) in each folder.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(filePath: string, code: string): Promise<boolean> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.some((m) => m.ruleId === 'no-restricted-imports');
}

const cases: [file: string, from: string, allowed: boolean][] = [
  ['lib/x.ts', '../sinks/LiveKitSink.js', false],
  ['lib/jitter/x.ts', '../../transforms/rechunk.js', false],
  ['lib/x.ts', '../gateway/server.js', false],
  ['lib/x.ts', '../index.js', false],
  ['lib/x.ts', './frames.js', true],
  ['transforms/x.ts', '../sinks/LiveKitSink.js', false],
  ['transforms/x.ts', '../room/publish.js', false],
  ['transforms/x.ts', '../lib/frames.js', true],
  ['sinks/x.ts', '../transforms/rechunk.js', false],
  ['sinks/x.ts', '../lib/pacer.js', true],
  ['room/x.ts', '../gateway/server.js', false],
  ['room/x.ts', '../sinks/LiveKitSink.js', true],
  ['gateway/x.ts', '../bin/livekit-audio.js', false],
  ['gateway/protocols/x.ts', '../../bin/livekit-audio.js', false],
  ['gateway/x.ts', '../room/publish.js', true],
  ['bin/x.ts', '../gateway/server.js', true],
];

for (const [file, from, allowed] of cases) {
  t.test(`${file} importing ${from}: ${allowed ? 'allowed' : 'an error'}`, async (t) => {
    const code = `import * as m from '${from}';\nexport const used = m;\n`;
    t.equal(await restricted(file, code), !allowed);
  });
}
