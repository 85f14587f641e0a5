import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// scripts/bootstrap runs `pnpm install`, which asks the registry once a day for a newer pnpm and
// prints "Update available … curl … | sh" when there is one. The pinned pnpm is the one to use, so
// the workspace turns the check off (pnpm-workspace.yaml `updateNotifier: false`).
it('pnpm in this workspace never checks for a newer pnpm during setup', () => {
  const run = spawnSync('pnpm', ['config', 'get', 'updateNotifier'], { cwd: root, encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(run.stdout.trim()).toBe('false');
});
