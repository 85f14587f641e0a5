import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The bins check the Node version before loading anything that needs Node 22.12, and say so in one
// line; the test runs them with an older Node found on PATH outside the toolchain (the machine's
// /usr/bin/node is 20), and is skipped, saying so in its name, where there is none.

const bins = {
  oxenvcs: fileURLToPath(new URL('../apps/cli/bin/oxenvcs.js', import.meta.url)),
  'oxenvcs-tui': fileURLToPath(new URL('../apps/tui/bin/oxenvcs-tui.js', import.meta.url)),
};
const required = (name: 'cli' | 'tui') =>
  (
    JSON.parse(readFileSync(new URL(`../apps/${name}/package.json`, import.meta.url), 'utf8')) as {
      engines: { node: string };
    }
  ).engines.node.replace('>=', '');

const tooOld = (version: string) => {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major < 22 || (major === 22 && minor < 12);
};
const olderNode = (() => {
  const found = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const node of [...found, '/usr/bin/node', '/usr/local/bin/node']) {
    const run = spawnSync(node, ['--version'], { encoding: 'utf8' });
    if (run.status === 0 && tooOld(run.stdout.trim())) return { node, version: run.stdout.trim().slice(1) };
  }
  return undefined;
})();

describe.skipIf(!olderNode)(
  `on Node ${olderNode?.version ?? '< 22.12 (none on this machine: skipped)'}`,
  () => {
    for (const [name, bin] of Object.entries(bins)) {
      for (const args of [['--version'], ['--help'], ['lock', 'status']]) {
        it(`${name} ${args.join(' ')} names the Node it needs in one line and exits 1`, () => {
          const run = spawnSync(olderNode?.node ?? 'node', [bin, ...args], { encoding: 'utf8' });
          expect(run.stdout).toBe('');
          expect(run.status).toBe(1);
          expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
          expect(run.stderr).toContain(
            `${name} needs Node.js ${required(name === 'oxenvcs' ? 'cli' : 'tui')} or newer`,
          );
          expect(run.stderr).toContain(`this is Node ${olderNode?.version}`);
        });
      }
    }
  },
);

describe('on this Node (>= 22.12)', () => {
  it.each(Object.entries(bins))('%s --version runs the program', (_name, bin) => {
    const version = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
