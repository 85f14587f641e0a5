import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { TEST_MS } from './vitest.timeouts.js';

/**
 * One root config. Every workspace package is a project, and every `@oxvcs/*` import is aliased
 * to the package's `src/index.ts`, so tests run on source without a build.
 */
const root = import.meta.dirname;
const dirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => join(group, d)) : [],
);
const pkgs = dirs
  .filter((dir) => existsSync(join(root, dir, 'package.json')))
  .map((dir) => ({
    dir,
    name: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name as string,
  }));

const alias = Object.fromEntries(pkgs.map((p) => [p.name, resolve(root, p.dir, 'src/index.ts')]));

/**
 * Durations (ms) of the longest files on a 2-core machine, for a clean checkout (CI's fresh clone)
 * that has no results of its own yet; vitest's own durations replace them after one run.
 */
const KNOWN_LONG: Record<string, number> = {
  'packages/oxen/src/cli.test.ts': 30_000,
  'packages/oxen-testkit/src/cli.test.ts': 26_000,
  'packages/engine/src/replay.test.ts': 22_000,
  'e2e/flaky.test.ts': 20_000,
  'apps/tui/src/tmux.test.ts': 15_000,
  'packages/locks/src/manager.test.ts': 14_000,
  'e2e/race.test.ts': 11_000,
  'e2e/adapter.test.ts': 10_000,
  'packages/queue/src/store-processes.test.ts': 10_000,
};

/**
 * Vitest's order, but longest first across all projects rather than project by project (by the
 * durations of the last run, else {@link KNOWN_LONG}; new files first), so a long file never
 * starts last and runs alone.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    const last = (spec: TestSpecification) => this.ctx.cache.getTestSpecificationResult(spec);
    const known = (spec: TestSpecification) => KNOWN_LONG[spec.moduleId.slice(root.length + 1)];
    const rank = (spec: TestSpecification) => {
      const result = last(spec);
      // What failed last time first, then the longest (measured, else known); unknown files
      // (new ones) at the front with the longest.
      if (result) return (result.failed ? 1e12 : 0) + result.duration;
      return known(spec) ?? 25_000;
    };
    return (await super.sort(files)).sort((a, b) => rank(b) - rank(a) || 0);
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    // clipanion 3's ESM build imports a directory, which only a bundler resolves: let Vite handle it.
    server: { deps: { inline: ['clipanion'] } },
    // Guards against a hang, not budgets (vitest.timeouts.ts): no test or wait names one of its own.
    testTimeout: TEST_MS,
    hookTimeout: TEST_MS,
    // Polled waits (`vi.waitFor`) poll until their condition holds: see vitest.setup.ts.
    setupFiles: [resolve(root, 'vitest.setup.ts')],
    // Vitest's default leaves a core idle (one worker on a 2-core machine). Most files spend much of
    // their time waiting on child processes, sockets and timeouts, so one worker per core plus one
    // keeps both cores busy (`--maxWorkers` overrides this).
    maxWorkers: availableParallelism() + 1,
    sequence: { sequencer: LongestFirst },
    projects: [
      ...pkgs.map((p) => ({
        extends: true as const,
        test: {
          name: p.name.replace('@oxvcs/', ''),
          root: resolve(root, p.dir),
          include: ['src/**/*.test.{ts,tsx}'],
        },
      })),
      ...(existsSync(join(root, 'e2e'))
        ? [
            {
              extends: true as const,
              test: {
                name: 'e2e',
                root: resolve(root, 'e2e'),
                include: ['**/*.test.ts'],
                // Files run side by side: each makes its own world (fake server on its own port,
                // temp state, config and project folders; see helpers.ts), and no e2e assertion
                // bounds a time that is not the subject of the test.
              },
            },
          ]
        : []),
    ],
  },
});
