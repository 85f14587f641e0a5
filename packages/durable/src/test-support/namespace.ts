import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * True where a test may make private mount and pid namespaces (`unshare`): Linux, as root (CI runs
 * as root). Tests that need a real small file system or real pid reuse are skipped elsewhere, and
 * say so in their names.
 */
export const canUnshare =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['-m', '-p', '-f', '--mount-proc', '--propagation', 'private', 'true']).status === 0;

/** Lets a child `node` run this repository's TypeScript sources (see source-hooks.mjs). */
export const SOURCE_HOOKS = fileURLToPath(new URL('../../../../source-hooks.mjs', import.meta.url));

/**
 * Runs `node --import source-hooks <script> ...args` inside fresh private mount and pid namespaces,
 * after `setup` (sh, e.g. mounting a small tmpfs); returns its exit status and output.
 */
export function inNamespaces(setup: string, script: string, args: readonly string[]) {
  const node = `"${process.execPath}" --import "${SOURCE_HOOKS}" "${script}" ${args.map((a) => `'${a}'`).join(' ')}`;
  return spawnSync(
    'unshare',
    ['-m', '-p', '-f', '--mount-proc', '--propagation', 'private', 'sh', '-c', `${setup} && ${node}`],
    { encoding: 'utf8' },
  );
}
