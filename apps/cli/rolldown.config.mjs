// The `oxenvcs` executable is a bundle of dist/ (tsc's output, which stays the package's library
// API). Start-up is most of a short command's time, and resolving and evaluating ~80 separate
// modules through pnpm's symlinks costs more than the commands' own work. One file per lazy
// boundary keeps `--version` from loading the engine and `queue status` from loading the network
// half (locks, HTTP client, oxen CLI adapter); those chunks load on first use, as in dist/.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'rolldown';

// `--version` is package.json's version, written in at build time (src/cli.ts): no file read at
// start-up, and `changeset version` bumps it.
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export default defineConfig({
  input: { oxenvcs: 'dist/index.js' },
  platform: 'node',
  logLevel: 'warn',
  transform: { define: { __OXVCS_CLI_VERSION__: JSON.stringify(version) } },
  output: {
    dir: 'dist/bundle',
    format: 'esm',
    // Stable, readable names (stack traces, and the start-up test checks which chunks load).
    chunkFileNames: '[name].js',
    codeSplitting: {
      groups: [{ name: 'clipanion', test: /[\\/]node_modules[\\/](clipanion|typanion)[\\/]/ }],
    },
  },
});
