import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

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

export default defineConfig({
  resolve: { alias },
  test: {
    // clipanion 3's ESM build imports a directory, which only a bundler resolves: let Vite handle it.
    server: { deps: { inline: ['clipanion'] } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
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
                testTimeout: 120_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
